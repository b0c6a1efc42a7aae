/**
 * The Prometheus endpoint: a small node:http server (it runs under Bun too) that answers GET and HEAD on `/metrics`
 * with the `Metrics` registry's text exposition, and nothing else: 404 for other paths, 405 (with `Allow`) for other
 * methods, 400 for request heads over 8 KiB. It lives in a scope: closing the scope closes the listener, drops every
 * open connection and stops the event-loop monitor, so a CLI run that served metrics exits like any other.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import { Context, Effect, Layer } from "effect"
import { UsageError } from "../domain/errors.ts"
import { monitorEventLoop } from "./event-loop.ts"
import { Metrics } from "./metrics.ts"
import { defaultMetricsHost, defaultMetricsPort } from "./server-address.ts"

export const metricsPath = "/metrics"
/** Request heads (request line and headers) above this size are answered 400. */
export const maxHeaderBytes = 8 * 1024

export interface MetricsServerOptions {
  /** Address to listen on (default 127.0.0.1). */
  readonly host?: string
  /** Port to listen on (default 9464); 0 picks a free one (the result says which). */
  readonly port?: number
  /** The flag named in usage errors about the port (default `--port`). */
  readonly flag?: string
  /**
   * Runs before the registry is collected for a scrape (e.g. refreshing ledger gauges from the repository). Scrapes
   * that arrive while one collection runs share it. If it fails, the scrape is still answered, with the values of the
   * last refresh.
   */
  readonly beforeScrape?: () => Promise<void>
  /** Where a failed `beforeScrape` is reported (default: a warning line on stderr). */
  readonly onRefreshError?: (error: unknown) => void
}

export interface MetricsServerInfo {
  readonly host: string
  readonly port: number
  /** The scrape URL, e.g. `http://127.0.0.1:9464/metrics`. */
  readonly url: string
}

/** A metrics server running for the life of a layer (see `metricsServerLayer`). */
export class MetricsServer extends Context.Service<MetricsServer, MetricsServerInfo>()("marketpipe/MetricsServer") {}

/** Whether only this machine can reach `host`. */
export const isLoopbackHost = (host: string): boolean =>
  host === "localhost" || host === "::1" || host === "[::1]" || /^127(\.\d{1,3}){3}$/u.test(host)

const urlHost = (host: string) => (host.includes(":") && !host.startsWith("[") ? `[${host}]` : host)

const listenFailure = (error: unknown, host: string, port: number, flag: string): UsageError => {
  const code = (error as { code?: unknown } | null)?.code
  switch (code) {
    case "EADDRINUSE":
      return new UsageError({ field: flag, reason: `port ${port} on ${host} is in use; choose another with ${flag}` })
    case "EACCES":
      return new UsageError({
        field: flag,
        reason: `not allowed to listen on port ${port} on ${host} (ports below 1024 need privileges); choose another with ${flag}`
      })
    case "EADDRNOTAVAIL":
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new UsageError({ field: "--host", reason: `${host} is not an address of this machine` })
    default:
      return new UsageError({
        field: flag,
        reason: `cannot listen on ${host}:${port}: ${error instanceof Error ? error.message : String(error)}`
      })
  }
}

const plain = (
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {}
) => {
  if (res.headersSent || res.destroyed) return
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": String(Buffer.byteLength(text)),
    ...headers
  })
  res.end(req.method === "HEAD" ? undefined : text)
}

const pathOf = (url: string | undefined): string | undefined => {
  try {
    return new URL(url ?? "/", "http://metrics.invalid").pathname
  } catch {
    return undefined
  }
}

/** The request handler and the `clientError` answer, over a registry and an optional refresher. */
const makeHandler = (
  registry: { readonly metrics: () => Promise<string>; readonly contentType: string },
  options: MetricsServerOptions
) => {
  const report =
    options.onRefreshError ??
    ((error: unknown) =>
      process.stderr.write(
        `warning: metrics refresh failed, serving the last values: ${error instanceof Error ? error.message : String(error)}\n`
      ))
  // Collecting is not free (prom-client's heap-space statistics take milliseconds under Bun, more with a big heap)
  // and runs without yielding, so a burst of scrapes must not collect once each. A collection starts on the next
  // turn of the loop after a scrape arrives; every scrape that arrives until then (or while it runs) gets its text,
  // which is never older than the request.
  let rendering: Promise<string> | undefined
  const render = (): Promise<string> => {
    const before = options.beforeScrape
    rendering ??= new Promise<void>((resolve) => setImmediate(resolve))
      .then(before === undefined ? undefined : () => Promise.resolve().then(before).catch(report))
      .then(() => registry.metrics())
      .finally(() => {
        rendering = undefined
      })
    return rendering
  }
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = pathOf(req.url)
    if (path === undefined) {
      plain(req, res, 400, "bad request target\n")
      return
    }
    if (path !== metricsPath) {
      plain(req, res, 404, `not found; metrics are at ${metricsPath}\n`)
      return
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      plain(req, res, 405, `method ${req.method ?? "?"} not allowed; use GET or HEAD\n`, { allow: "GET, HEAD" })
      return
    }
    void render().then(
      (body) => plain(req, res, 200, body, { "content-type": registry.contentType, "cache-control": "no-store" }),
      (error: unknown) =>
        plain(req, res, 500, `cannot collect metrics: ${error instanceof Error ? error.message : String(error)}\n`)
    )
  }
}

const badRequest = (reason: string) =>
  [
    "HTTP/1.1 400 Bad Request",
    "Content-Type: text/plain; charset=utf-8",
    `Content-Length: ${Buffer.byteLength(reason)}`,
    "Connection: close",
    "",
    reason
  ].join("\r\n")

/**
 * Serves the `Metrics` registry until the scope closes, with the event-loop lag monitor running alongside. Fails
 * with a `UsageError` naming `options.flag` when the port is taken or cannot be used.
 */
export const serveMetrics = (options: MetricsServerOptions = {}) =>
  Effect.gen(function* () {
    const host = options.host ?? defaultMetricsHost
    const port = options.port ?? defaultMetricsPort
    const flag = options.flag ?? "--port"
    if (!Number.isInteger(port) || port < 0 || port > 65_535) {
      return yield* new UsageError({
        field: flag,
        reason: `${port} is not a port; use 1 to 65535 (0 for any free one)`
      })
    }
    const metrics = yield* Metrics
    const handler = makeHandler(metrics.registry, options)
    const server = yield* Effect.acquireRelease(
      Effect.callback<Server, UsageError>((resume) => {
        const server = createServer({ maxHeaderSize: maxHeaderBytes }, handler)
        // Node (and Bun) answer an oversized head with 431 and other malformed requests with a bare 400; say 400.
        server.on("clientError", (error: Error & { code?: string }, socket) => {
          if (error.code === "ECONNRESET" || !socket.writable) {
            socket.destroy()
            return
          }
          socket.end(
            badRequest(
              error.code === "HPE_HEADER_OVERFLOW"
                ? `request headers exceed ${maxHeaderBytes} bytes\n`
                : "malformed HTTP request\n"
            )
          )
        })
        const onError = (error: unknown) => {
          server.off("listening", onListening)
          resume(Effect.fail(listenFailure(error, host, port, flag)))
        }
        const onListening = () => {
          server.off("error", onError)
          // Errors after start-up (a failed accept) must not crash the run the server is embedded in.
          server.on("error", (error) => process.stderr.write(`warning: metrics server: ${error.message}\n`))
          resume(Effect.succeed(server))
        }
        server.once("error", onError)
        server.once("listening", onListening)
        server.headersTimeout = 10_000
        server.requestTimeout = 30_000
        server.listen(port, host)
      }),
      (server) =>
        Effect.callback<void>((resume) => {
          server.close(() => resume(Effect.void))
          server.closeAllConnections()
        })
    )
    yield* monitorEventLoop(metrics.eventLoopLag)
    const address = server.address()
    const bound = typeof address === "object" && address !== null ? address.port : port
    return { host, port: bound, url: `http://${urlHost(host)}:${bound}${metricsPath}` } satisfies MetricsServerInfo
  })

/** `serveMetrics` as a layer: the server runs while the layer is in use and closes when it is released. */
export const metricsServerLayer = (options: MetricsServerOptions = {}) =>
  Layer.effect(MetricsServer, serveMetrics(options).pipe(Effect.map((info) => MetricsServer.of(info))))

/**
 * One loopback HTTP server that speaks Alpaca, Polygon/Massive, Finnhub and Yahoo from one dataset, with each
 * provider's pagination, empty results and auth errors, its documented rate limit (per key, with Alpaca's
 * `X-Ratelimit-*` headers), and switchable faults: 5xx, 429, dropped connections, truncated bodies, latency.
 * Control: `GET /_emulator/stats`, `POST /_emulator/faults` (JSON `Faults`), `POST /_emulator/reset`. A test can
 * make one provider's answers differ from the others' (`alter`, `iexVolumeShare`), as real sources do.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { resolve } from "node:path"
import { hash32, prng } from "../../plugins/fake/generate.ts"
import { type Dataset, type EmulatedBar, makeDataset } from "./dataset.ts"
import type {
  EmulatorContext,
  EmulatorKeys,
  EmulatorRequest,
  EmulatorResponse,
  ProviderName,
  ProviderRoutes
} from "./types.ts"

export interface Faults {
  /** Share of data requests answered 500/502/503 (0..1). */
  readonly error5xxRate: number
  /** Share answered with the provider's own 429. */
  readonly error429Rate: number
  /** Share whose connection is dropped before any response. */
  readonly dropRate: number
  /** Share answered 200 with the JSON body cut in half. */
  readonly truncateRate: number
  /** Added to every data response. */
  readonly latencyMs: number
}

export const noFaults: Faults = { error5xxRate: 0, error429Rate: 0, dropRate: 0, truncateRate: 0, latencyMs: 0 }

export interface EmulatorOptions {
  readonly port?: number
  readonly host?: string
  readonly keys?: Partial<EmulatorKeys>
  readonly faults?: Partial<Faults>
  /** Enforce each provider's documented limit, or a given one, per key. Off by default. */
  readonly rateLimits?: Partial<Record<ProviderName, { readonly requests: number; readonly perSeconds: number }>>
  readonly seed?: string
  readonly missingRate?: number
  readonly routes?: ReadonlyArray<ProviderRoutes>
  /**
   * Plants differences in one provider's answers, leaving the others' alone: called once per symbol and trading day
   * with that day's minute bars (04:00–20:00 ET, sorted) as `provider` would serve them; what it returns is what that
   * provider serves from then on, in every page, range and frame. Unset: every provider serves the same market.
   */
  readonly alter?: (
    provider: ProviderName,
    symbol: string,
    bars: ReadonlyArray<EmulatedBar>
  ) => ReadonlyArray<EmulatedBar>
  /**
   * Alpaca's `iex` feed sees only the trades on IEX, a few percent of the consolidated volume the `sip` feed (and
   * the other providers) report: with a share set, each iex minute's volume is `round(v × share)`. Unset, both feeds
   * serve the same volumes.
   */
  readonly iexVolumeShare?: number
}

export interface EmulatorStats {
  requests: number
  byProvider: Record<string, number>
  byPath: Record<string, number>
  faults: Record<string, number>
  rateLimited: number
}

export interface Emulator {
  readonly url: string
  readonly keys: EmulatorKeys
  readonly stats: () => EmulatorStats
  readonly setFaults: (faults: Partial<Faults>) => void
  readonly resetStats: () => void
  readonly stop: () => Promise<void>
}

export const defaultKeys: EmulatorKeys = {
  alpaca: { id: "PKTESTKEYID0001", secret: "alpaca-secret-do-not-print-0001" },
  polygon: "polygon-key-do-not-print-0001",
  finnhub: "finnhub-key-do-not-print-0001"
}

const emptyStats = (): EmulatorStats => ({ requests: 0, byProvider: {}, byPath: {}, faults: {}, rateLimited: 0 })

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const routes = options.routes ?? (await import("./routes.ts")).allRoutes
  const keys: EmulatorKeys = { ...defaultKeys, ...options.keys }
  let faults: Faults = { ...noFaults, ...options.faults }
  let stats = emptyStats()
  const random = prng(hash32(options.seed ?? "emulator-faults"))
  const windows = new Map<string, { start: number; count: number }>()
  const dataset = makeDataset({ seed: options.seed ?? "marketpipe", missingRate: options.missingRate ?? 0 })
  let origin = ""
  const contextOver = (own: Dataset): EmulatorContext => ({
    dataset: own,
    keys,
    get origin() {
      return origin
    },
    fixtures: resolve(import.meta.dir, "../fixtures/providers"),
    now: () => Date.now(),
    ...(options.iexVolumeShare === undefined ? {} : { iexVolumeShare: options.iexVolumeShare })
  })
  const ctx = contextOver(dataset)
  // With `alter`, each provider serves a dataset of its own, made the first time that provider is asked.
  const contexts = new Map<ProviderName, EmulatorContext>()
  const contextFor = (provider: ProviderName): EmulatorContext => {
    const alter = options.alter
    if (alter === undefined) return ctx
    let own = contexts.get(provider)
    if (own === undefined) {
      own = contextOver(
        makeDataset({
          seed: options.seed ?? "marketpipe",
          missingRate: options.missingRate ?? 0,
          alter: (symbol, bars) => alter(provider, symbol, bars)
        })
      )
      contexts.set(provider, own)
    }
    return own
  }

  const send = (res: ServerResponse, r: EmulatorResponse, truncate = false) => {
    const text = typeof r.body === "string" ? r.body : JSON.stringify(r.body)
    const payload = truncate ? text.slice(0, Math.max(1, Math.floor(text.length / 2))) : text
    res.writeHead(r.status, {
      "content-type": typeof r.body === "string" ? "text/plain; charset=utf-8" : "application/json; charset=utf-8",
      ...r.headers
    })
    res.end(payload)
  }

  const control = async (req: IncomingMessage, path: string, res: ServerResponse) => {
    if (path === "/_emulator/stats") return send(res, { status: 200, body: stats })
    if (path === "/_emulator/reset" && req.method === "POST") {
      stats = emptyStats()
      return send(res, { status: 200, body: { ok: true } })
    }
    if (path === "/_emulator/faults" && req.method === "POST") {
      let text = ""
      for await (const chunk of req) text += String(chunk)
      faults = { ...noFaults, ...(JSON.parse(text || "{}") as Partial<Faults>) }
      return send(res, { status: 200, body: faults })
    }
    return send(res, { status: 404, body: { message: "unknown control path" } })
  }

  /** Fixed windows per key, like the providers' per-minute counters. */
  const limited = (route: ProviderRoutes, req: EmulatorRequest, now: number) => {
    const limit = options.rateLimits?.[route.provider]
    if (limit === undefined) return { over: false, headers: undefined }
    const windowMs = limit.perSeconds * 1000
    const id = `${route.provider}|${route.keyOf(req)}`
    let w = windows.get(id)
    if (w === undefined || now >= w.start + windowMs) {
      w = { start: Math.floor(now / windowMs) * windowMs, count: 0 }
      windows.set(id, w)
    }
    w.count++
    const resetAtS = Math.ceil((w.start + windowMs) / 1000)
    const remaining = Math.max(limit.requests - w.count, 0)
    return {
      over: w.count > limit.requests,
      resetAtS,
      limit: limit.requests,
      headers: route.rateHeaders?.(limit.requests, remaining, resetAtS)
    }
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://emulator")
    const path = url.pathname.replace(/\/{2,}/gu, "/")
    if (path.startsWith("/_emulator/")) {
      void control(req, path, res)
      return
    }
    const request: EmulatorRequest = {
      method: req.method ?? "GET",
      path,
      query: url.searchParams,
      headers: Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(",") : v])
      )
    }
    const route = routes.find((r) => r.matches(request))
    stats.requests++
    stats.byPath[path] = (stats.byPath[path] ?? 0) + 1
    if (route === undefined) return send(res, { status: 404, body: { message: `no emulated route for ${path}` } })
    stats.byProvider[route.provider] = (stats.byProvider[route.provider] ?? 0) + 1

    const respond = () => {
      const now = Date.now()
      const rate = limited(route, request, now)
      if (rate.over) {
        stats.rateLimited++
        return send(res, route.tooManyRequests(rate.resetAtS ?? 0, rate.limit ?? 0))
      }
      const roll = random()
      let edge = faults.dropRate
      if (roll < edge) {
        stats.faults.drop = (stats.faults.drop ?? 0) + 1
        req.socket.destroy()
        return
      }
      edge += faults.error5xxRate
      if (roll < edge) {
        stats.faults.http5xx = (stats.faults.http5xx ?? 0) + 1
        const status = [500, 502, 503][Math.floor(random() * 3)] as number
        return send(res, {
          status,
          body: status === 502 ? "<html>Bad Gateway</html>" : { message: "internal server error" }
        })
      }
      edge += faults.error429Rate
      if (roll < edge) {
        stats.faults.http429 = (stats.faults.http429 ?? 0) + 1
        return send(res, route.tooManyRequests(Math.floor(now / 1000), 0))
      }
      const answer = route.handle(request, contextFor(route.provider))
      const withHeaders =
        rate.headers === undefined ? answer : { ...answer, headers: { ...rate.headers, ...answer.headers } }
      edge += faults.truncateRate
      if (roll < edge && answer.status === 200) {
        stats.faults.truncate = (stats.faults.truncate ?? 0) + 1
        return send(res, withHeaders, true)
      }
      send(res, withHeaders)
    }
    if (faults.latencyMs > 0) setTimeout(respond, faults.latencyMs)
    else respond()
  })

  await new Promise<void>((ok) => server.listen(options.port ?? 0, options.host ?? "127.0.0.1", ok))
  const address = server.address() as AddressInfo
  origin = `http://${options.host ?? "127.0.0.1"}:${address.port}`
  return {
    url: origin,
    keys,
    stats: () => structuredClone(stats),
    setFaults: (f) => {
      faults = { ...noFaults, ...f }
    },
    resetStats: () => {
      stats = emptyStats()
    },
    stop: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections?.()
        server.close(() => ok())
      })
  }
}

/** The environment that points the Alpaca plugin at this emulator with its test keys. */
export const alpacaEnv = (emulator: Pick<Emulator, "url" | "keys">): Record<string, string> => ({
  MARKETPIPE_ALPACA_BASE_URL: emulator.url,
  ALPACA_KEY: emulator.keys.alpaca.id,
  ALPACA_SECRET: emulator.keys.alpaca.secret
})

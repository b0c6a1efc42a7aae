/**
 * The HTTP client every plugin gets (on `effect/http`, fetch-based, gzip handled by the runtime). One call =
 * rate-limit token → request with timeout → JSON body. Retries with the kit's `retrySchedule` on 429, 5xx,
 * timeouts, dropped connections and truncated or malformed bodies (provider reads are idempotent), waiting for
 * `Retry-After` / `X-Ratelimit-Reset` when the server names a time. Errors are masked and say what to do.
 */
import { createHash } from "node:crypto"
import { Clock, Effect, Schedule, Schema } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "effect/http"
import { ProviderError } from "../../domain/errors.ts"
import type { MetricsShape } from "../../observability/metrics.ts"
import type { RateLimit } from "../contract.ts"
import type { BarColumns, BarColumnsSpec } from "./bar-columns.ts"
import { type PageDecodersShape, sameThreadDecoders } from "./decode-pool.ts"
import { makeProviderError } from "./errors.ts"
import type { RateLimitersShape } from "./rate-limiter.ts"
import { retrySchedule } from "./retry.ts"
import { mask, registerSecret } from "./secrets.ts"

export type QueryValue = string | number | boolean | undefined

export interface HttpKitOptions {
  readonly provider: string
  readonly feed: string
  readonly baseUrl: string
  /** Credentials: masked everywhere, and the rate-limit bucket is shared by everyone using the same key. */
  readonly secrets: ReadonlyArray<string | undefined>
  readonly rateLimit: RateLimit | null
  readonly headers?: Readonly<Record<string, string>>
  /** Tries per request, including the first (default 6). */
  readonly maxAttempts?: number
  /** First backoff delay; doubles per try, with jitter (default 250 ms; see `retrySchedule`). */
  readonly retryBaseMs?: number
  readonly timeoutMs?: number
  /**
   * Words for a non-retryable HTTP error (auth, plan, unknown symbol); `fatal` when no request of the run can
   * succeed (rejected credentials). `undefined` keeps the generic message.
   */
  readonly explain?: (
    status: number,
    body: unknown
  ) => { readonly reason: string; readonly fatal?: boolean; readonly aboutSymbol?: boolean } | undefined
}

export interface HttpJsonResponse {
  readonly status: number
  readonly body: unknown
  readonly headers: Readonly<Record<string, string>>
}

export interface GetDecodedOptions {
  /** What the body is, for the error when it has another shape: "unexpected <what>: <the mismatch>". */
  readonly what: string
  readonly query?: Readonly<Record<string, QueryValue>>
  readonly headers?: Readonly<Record<string, string>>
  /** Sees the body before it is decoded, for APIs that answer 200 with an error in the body. */
  readonly refuse?: (body: unknown) => ProviderError | undefined
}

/** A bar page from `getColumns`: read into columns (the usual case), or decoded with the Schema when it was not the shape. */
export type ColumnsPage<A> =
  | {
      readonly _tag: "Columns"
      readonly groups: ReadonlyArray<BarColumns>
      readonly kept: Readonly<Record<string, string | null>>
    }
  | { readonly _tag: "Decoded"; readonly value: A }

export interface ProviderHttp {
  readonly getJson: (
    pathOrUrl: string,
    query?: Readonly<Record<string, QueryValue>>,
    headers?: Readonly<Record<string, string>>
  ) => Effect.Effect<HttpJsonResponse, ProviderError>
  /**
   * `getJson`, then the body decoded with `schema`. A body of another shape fails with a retryable
   * "unexpected <what>: …" error (a proxy's error page, a half-rolled-out API change).
   */
  readonly getDecoded: <S extends Schema.Decoder<unknown>>(
    pathOrUrl: string,
    schema: S,
    options: GetDecodedOptions
  ) => Effect.Effect<S["Type"], ProviderError>
  /**
   * A bar page read straight into columns by `spec`, off the main thread (`bar-columns.ts`). A body that is not the
   * shape `spec` describes is decoded with `schema` instead (`Decoded`), so the plugin's own checks word the error;
   * everything else (retries, rate limits, errors, masking) is `getDecoded`'s.
   */
  readonly getColumns: <S extends Schema.Decoder<unknown>>(
    pathOrUrl: string,
    spec: BarColumnsSpec,
    schema: S,
    options: GetDecodedOptions
  ) => Effect.Effect<ColumnsPage<S["Type"]>, ProviderError>
}

/** The longest a server-named wait is honoured before the request fails instead (a broken clock should not hang us). */
const MAX_SERVER_WAIT_MS = 15 * 60_000

type Attempt =
  | { readonly _tag: "Ok"; readonly response: HttpJsonResponse }
  | { readonly _tag: "Columns"; readonly page: Extract<ColumnsPage<never>, { _tag: "Columns" }> }
  | { readonly _tag: "Retry"; readonly reason: string; readonly waitMs: number | undefined }
  | { readonly _tag: "Fatal"; readonly reason: string; readonly fatal: boolean; readonly aboutSymbol: boolean }

const messageOf = (body: unknown): string | undefined => {
  if (typeof body === "string") return body.slice(0, 200)
  if (body !== null && typeof body === "object") {
    const b = body as Record<string, unknown>
    for (const k of ["message", "error", "description"]) if (typeof b[k] === "string") return b[k] as string
    const chart = b.chart as { error?: { description?: string } } | undefined
    if (typeof chart?.error?.description === "string") return chart.error.description
  }
  return undefined
}

/**
 * The words for a Deno permission refusal anywhere in a failure's `reason` / `cause` chain (FetchHttpClient wraps
 * Deno's `NotCapable` — `PermissionDenied` before Deno 2 — in a `TransportError`), or `undefined` when there is
 * none. A refusal is decided at launch (`--allow-net`), so asking again can never succeed.
 */
export function denoPermissionRefusal(failure: unknown): string | undefined {
  const pending: Array<unknown> = [failure]
  const seen = new Set<unknown>()
  while (pending.length > 0 && seen.size < 16) {
    const current = pending.shift()
    if (current === null || typeof current !== "object" || seen.has(current)) continue
    seen.add(current)
    const e = current as { name?: unknown; message?: unknown; reason?: unknown; cause?: unknown }
    if ((e.name === "NotCapable" || e.name === "PermissionDenied") && typeof e.message === "string") {
      const host = /Requires net access to "([^"]+)"/u.exec(e.message)?.[1]
      return host === undefined
        ? `Deno refused a permission: ${e.message}`
        : `Deno refused network access to ${host}: run with --allow-net=${host} (deno task ingest|backfill|marketpipe grants the configured providers' hosts; MARKETPIPE_DENO_ALLOW_NET adds others)`
    }
    pending.push(e.reason, e.cause)
  }
  return undefined
}

/** `Retry-After` (seconds or HTTP date) or `X-Ratelimit-Reset` (Unix seconds) as a wait from `now`. */
export function serverWaitMs(headers: Readonly<Record<string, string>>, now: number): number | undefined {
  const retryAfter = headers["retry-after"]
  if (retryAfter !== undefined) {
    const seconds = Number(retryAfter)
    const at = Number.isFinite(seconds) ? now + seconds * 1000 : Date.parse(retryAfter)
    if (Number.isFinite(at)) return Math.min(Math.max(at - now, 0), MAX_SERVER_WAIT_MS)
  }
  const reset = Number(headers["x-ratelimit-reset"])
  if (Number.isFinite(reset) && reset > 0) return Math.min(Math.max(reset * 1000 - now, 0), MAX_SERVER_WAIT_MS)
  return undefined
}

/** What a client records to and paces by; the host takes them from its Effect context when it makes the kit. */
export interface KitServices {
  readonly metrics: MetricsShape
  readonly limiters: RateLimitersShape
  /** Where `getColumns` decodes pages (default: on the caller's thread). */
  readonly decoders?: PageDecodersShape
}

export function makeProviderHttp(options: HttpKitOptions, services: KitServices): ProviderHttp {
  for (const s of options.secrets) registerSecret(s)
  const fingerprint = createHash("sha256")
    .update(options.secrets.filter((s) => s !== undefined).join("|"))
    .digest("hex")
    .slice(0, 12)
  const bucket = services.limiters.bucketFor(options.provider, fingerprint, options.rateLimit)
  const metrics = services.metrics
  const labels = { provider: options.provider, feed: options.feed }
  const failed = (statusClass: string) => {
    metrics.requests.inc({ ...labels, status_class: statusClass })
    metrics.errors.inc({ ...labels, status_class: statusClass })
  }
  const maxAttempts = options.maxAttempts ?? 6
  const baseMs = options.retryBaseMs ?? 250
  const timeoutMs = options.timeoutMs ?? 30_000
  const base = options.baseUrl.replace(/\/+$/u, "")

  const urlOf = (pathOrUrl: string, query: Readonly<Record<string, QueryValue>>) => {
    const url = new URL(
      /^https?:\/\//u.test(pathOrUrl) ? pathOrUrl : `${base}${pathOrUrl.startsWith("/") ? "" : "/"}${pathOrUrl}`
    )
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v))
    return url.toString()
  }

  const waitForToken = Effect.gen(function* () {
    if (bucket === undefined) return
    const wait = bucket.reserve(yield* Clock.currentTimeMillis)
    if (wait > 0) {
      yield* Effect.annotateCurrentSpan("marketpipe.rate_limit_wait_ms", wait)
      metrics.rateLimitWaits.inc(labels)
      metrics.rateLimitWaitSeconds.inc(labels, wait / 1000)
      yield* Effect.sleep(wait)
    }
  })

  const decoders = services.decoders ?? sameThreadDecoders

  const once = (
    url: string,
    headers: Readonly<Record<string, string>>,
    spec?: BarColumnsSpec
  ): Effect.Effect<Attempt> =>
    Effect.gen(function* () {
      yield* waitForToken
      const started = yield* Clock.currentTimeMillis
      const client = yield* HttpClient.HttpClient
      const sent = yield* client
        .execute(
          HttpClientRequest.get(url, { headers: { accept: "application/json", ...options.headers, ...headers } })
        )
        .pipe(
          Effect.flatMap((res) => Effect.map(res.arrayBuffer, (buffer) => ({ res, bytes: new Uint8Array(buffer) }))),
          Effect.timeout(timeoutMs),
          Effect.result
        )
      const now = yield* Clock.currentTimeMillis
      metrics.latency.observe(labels, (now - started) / 1000)
      if (sent._tag === "Failure") {
        const refused = denoPermissionRefusal(sent.failure)
        if (refused !== undefined) {
          failed("transport")
          yield* Effect.annotateCurrentSpan("error.type", "permission_denied")
          return { _tag: "Fatal", reason: refused, fatal: true, aboutSymbol: false } as Attempt
        }
        const timedOut = (sent.failure as { _tag?: string })._tag === "TimeoutError"
        failed(timedOut ? "timeout" : "transport")
        yield* Effect.annotateCurrentSpan("error.type", timedOut ? "timeout" : "transport")
        return {
          _tag: "Retry",
          reason: timedOut
            ? `no answer within ${timeoutMs} ms`
            : `connection failed (${mask(String((sent.failure as Error).message ?? sent.failure))})`,
          waitMs: undefined
        } as Attempt
      }
      const { res } = sent.success
      let bytes: Uint8Array = sent.success.bytes
      yield* Effect.annotateCurrentSpan("http.response.status_code", res.status)
      if (res.status >= 400) yield* Effect.annotateCurrentSpan("error.type", String(res.status))
      const responseHeaders = res.headers as Readonly<Record<string, string>>
      if (bucket !== undefined && responseHeaders["x-ratelimit-remaining"] === "0") {
        const wait = serverWaitMs({ "x-ratelimit-reset": responseHeaders["x-ratelimit-reset"] ?? "" }, now)
        if (wait !== undefined) bucket.pauseUntil(now + wait)
      }
      const ok = res.status >= 200 && res.status < 300
      if (ok && spec !== undefined) {
        const size = bytes.length
        const decoded = yield* decoders.decode(spec, bytes)
        if (decoded.ok) {
          metrics.requests.inc({ ...labels, status_class: `${Math.floor(res.status / 100)}xx` })
          return { _tag: "Columns", page: { _tag: "Columns", groups: decoded.groups, kept: decoded.kept } } as Attempt
        }
        if (decoded.why === "thread") {
          failed("body")
          return {
            _tag: "Retry",
            reason: `the page of ${size} bytes was lost with the decode thread`,
            waitMs: undefined
          } as Attempt
        }
        // Not the shape the spec describes: read as JSON below, for the caller's Schema to word what is wrong.
        bytes = decoded.bytes
      }
      const text = new TextDecoder().decode(bytes)
      let body: unknown
      let malformed = false
      try {
        body = text === "" ? null : JSON.parse(text)
      } catch {
        body = text
        malformed = ok
      }
      if (ok) {
        if (malformed) {
          failed("body")
          return {
            _tag: "Retry",
            reason: `truncated or malformed JSON body (${text.length} bytes)`,
            waitMs: undefined
          } as Attempt
        }
        metrics.requests.inc({ ...labels, status_class: `${Math.floor(res.status / 100)}xx` })
        return { _tag: "Ok", response: { status: res.status, body, headers: responseHeaders } } as Attempt
      }
      failed(`${Math.floor(res.status / 100)}xx`)
      const detail = messageOf(body)
      if (res.status === 429 || res.status === 408 || res.status >= 500) {
        const waitMs = serverWaitMs(responseHeaders, now)
        if (waitMs !== undefined) bucket?.pauseUntil(now + waitMs)
        return { _tag: "Retry", reason: `HTTP ${res.status}${detail ? `: ${detail}` : ""}`, waitMs } as Attempt
      }
      const explained = options.explain?.(res.status, body)
      return {
        _tag: "Fatal",
        reason: explained?.reason ?? `HTTP ${res.status}${detail ? `: ${detail}` : ""}`,
        fatal: explained?.fatal === true,
        aboutSymbol: explained?.aboutSymbol === true
      } as Attempt
    }).pipe(
      Effect.provide(FetchHttpClient.layer),
      // No span or trace headers from the HTTP client itself: its `url.full` would keep `apiKey=…` queries, and
      // providers have no use for our trace ids. `marketpipe.provider.request` records each try instead.
      Effect.provideService(HttpClient.TracerDisabledWhen, () => true)
    )

  const failedTry = (result: Exclude<Attempt, { _tag: "Ok" | "Columns" }>, tries: number, where: string) =>
    result._tag === "Fatal"
      ? new ProviderError({
          provider: options.provider,
          reason: mask(`${result.reason} (GET ${where})`),
          retryable: false,
          fatal: result.fatal,
          aboutSymbol: result.aboutSymbol
        })
      : new ProviderError({
          provider: options.provider,
          reason: mask(`gave up after ${tries} tries: ${result.reason} (GET ${where})`),
          retryable: false,
          exhausted: true
        })

  const retry = retrySchedule({ baseMs, retries: maxAttempts - 1 }).pipe(
    Schedule.tap(() => Effect.sync(() => metrics.retries.inc(labels)))
  )

  const request = (
    pathOrUrl: string,
    query: Readonly<Record<string, QueryValue>>,
    headers: Readonly<Record<string, string>>,
    spec?: BarColumnsSpec
  ) =>
    Effect.suspend(() => {
      const url = urlOf(pathOrUrl, query)
      const parsed = new URL(url)
      const where = mask(parsed.pathname)
      let tries = 0
      const attempt = Effect.suspend(() => {
        tries++
        return once(url, headers, spec).pipe(
          Effect.withSpan("marketpipe.provider.request", {
            kind: "client",
            attributes: {
              "marketpipe.provider": options.provider,
              "marketpipe.feed": options.feed,
              "http.request.method": "GET",
              "server.address": parsed.hostname,
              "url.path": where,
              "marketpipe.attempt": tries
            }
          }),
          Effect.flatMap((result) =>
            result._tag === "Ok" || result._tag === "Columns" ? Effect.succeed(result) : Effect.fail(result)
          )
        )
      })
      return attempt.pipe(
        Effect.retry({ schedule: retry, while: (result) => result._tag === "Retry" }),
        Effect.mapError((result) => failedTry(result, tries, where))
      )
    })

  const getJson: ProviderHttp["getJson"] = (pathOrUrl, query = {}, headers = {}) =>
    Effect.flatMap(request(pathOrUrl, query, headers), (result) =>
      result._tag === "Ok"
        ? Effect.succeed(result.response)
        : Effect.die(new Error("a JSON request answered with columns"))
    )

  const decodeBody = <S extends Schema.Decoder<unknown>>(body: unknown, schema: S, decoded: GetDecodedOptions) => {
    const refused = decoded.refuse?.(body)
    if (refused !== undefined) return Effect.fail(refused)
    return Schema.decodeUnknownEffect(schema)(body).pipe(
      Effect.mapError((e) =>
        makeProviderError(options.provider, { reason: `unexpected ${decoded.what}: ${e.message}`, retryable: true })
      )
    )
  }

  const getDecoded: ProviderHttp["getDecoded"] = (pathOrUrl, schema, decoded) =>
    Effect.flatMap(getJson(pathOrUrl, decoded.query, decoded.headers), (res) => decodeBody(res.body, schema, decoded))

  const getColumns: ProviderHttp["getColumns"] = (pathOrUrl, spec, schema, decoded) =>
    Effect.gen(function* () {
      const result = yield* request(pathOrUrl, decoded.query ?? {}, decoded.headers ?? {}, spec)
      if (result._tag === "Columns") return result.page
      const value = yield* decodeBody(result.response.body, schema, decoded)
      return { _tag: "Decoded" as const, value }
    })

  return { getJson, getDecoded, getColumns }
}

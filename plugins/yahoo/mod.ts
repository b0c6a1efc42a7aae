/**
 * Yahoo Finance chart API v8 (unofficial, no key): one symbol per request, no server pagination, so the client splits
 * the range into time chunks. 1-minute bars come at most 8 days per request and only for about the last 30 days;
 * older requests are refused before any HTTP call, measured against the Effect `Clock` (tests inject a TestClock).
 */
import type { BarBatch, BarsRequest, PluginHost, ProviderPlugin, ProviderSettings, Symbol } from "../../mod.ts"
import { chartErrorOf, chartSchemas, toBatch } from "./wire.ts"

const BASE_URL = "https://query2.finance.yahoo.com"
const DAY_MS = 86_400_000

/**
 * Per frame: Yahoo's interval, the longest window one request may cover and how far back Yahoo serves the frame
 * (`null`: no limit). The 1m values come from the options (`chunk_days`, `max_history_days`).
 */
interface FrameSpec {
  readonly interval: string
  readonly label: string
  readonly chunkDays: number
  readonly historyDays: number | null
}

const frames: Readonly<Record<string, FrameSpec>> = {
  "1m": { interval: "1m", label: "1-minute", chunkDays: 8, historyDays: 30 },
  "5m": { interval: "5m", label: "5-minute", chunkDays: 60, historyDays: 60 },
  "15m": { interval: "15m", label: "15-minute", chunkDays: 60, historyDays: 60 },
  "30m": { interval: "30m", label: "30-minute", chunkDays: 60, historyDays: 60 },
  "1h": { interval: "60m", label: "hourly", chunkDays: 365, historyDays: 730 },
  "1d": { interval: "1d", label: "daily", chunkDays: 3650, historyDays: null }
}

const optionsSchema = ({ Schema: S, kit }: PluginHost) =>
  S.Struct({
    ...kit.httpTuningFields,
    /** Days per 1m request (Yahoo allows 8). */
    chunk_days: S.optionalKey(S.Int.check(S.isBetween({ minimum: 1, maximum: 8 }))),
    /** How far back 1m requests may start, in days; 0 turns every age check off (emulators, replays). */
    max_history_days: S.optionalKey(S.Int.check(S.isGreaterThanOrEqualTo(0)))
  })

/** Yahoo spells share classes with a dash (BRK-B); ours use a dot (BRK.B). */
const yahooSymbol = (symbol: Symbol) => symbol.replaceAll(".", "-")

const isoTime = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z")

const plugin: ProviderPlugin = {
  contractVersion: 1,
  name: "yahoo",
  description: "Yahoo Finance chart API v8 (unofficial, no key; 1m bars for about 30 days)",
  capabilities: {
    feeds: ["yahoo"],
    defaultFeed: "yahoo",
    timeframes: ["1m", "5m", "15m", "30m", "1h", "1d"],
    maxBarsPerRequest: 8 * 960,
    maxSymbolsPerRequest: 1,
    historyDays: 30,
    // Undocumented; Yahoo throttles by IP with a bare 429. One request a second is a conservative pace.
    rateLimit: { requests: 60, perSeconds: 60 },
    adjustments: ["raw"],
    credentials: [],
    hosts: [BASE_URL]
  },
  make: (host: PluginHost, settings: ProviderSettings) =>
    host.Effect.gen(function* () {
      const { Effect, Stream, Schema, kit } = host
      const opts = yield* kit.decodeOptions(optionsSchema(host), settings.options)
      const feed = settings.feed ?? plugin.capabilities.defaultFeed
      const baseUrl = settings.baseUrl ?? BASE_URL
      const maxHistoryDays = opts.max_history_days ?? 30
      const schemas = chartSchemas(Schema)

      // One client per symbol so a 404 can name it; they share the rate-limit bucket and the request metrics.
      const httpFor = (symbol: Symbol) =>
        kit.http({
          feed,
          baseUrl,
          secrets: [],
          rateLimit: settings.rateLimit ?? plugin.capabilities.rateLimit,
          ...kit.httpTuning(opts),
          explain: (status, body) => {
            const description = chartErrorOf(body)
            if (status === 404) {
              return {
                reason: `Yahoo does not know symbol ${symbol}${description ? ` (${description})` : ""}`,
                aboutSymbol: true
              }
            }
            if (status === 422) {
              return { reason: `Yahoo refused the request for ${symbol}: ${description ?? "HTTP 422"}` }
            }
            return undefined
          }
        })

      const fetchChunk = (
        http: ReturnType<typeof httpFor>,
        request: BarsRequest,
        interval: string,
        symbol: Symbol,
        start: number,
        end: number
      ) =>
        http
          .getDecoded(`/v8/finance/chart/${encodeURIComponent(yahooSymbol(symbol))}`, schemas.chart, {
            what: `Yahoo chart for ${symbol}`,
            query: {
              period1: Math.floor(start / 1000),
              period2: Math.ceil(end / 1000),
              interval,
              includePrePost: request.session === "extended",
              events: "div,splits"
            }
          })
          .pipe(
            Effect.flatMap(({ chart }) => {
              const result = chart.result?.[0]
              if (result === undefined) {
                const description = chartErrorOf({ chart })
                return description === undefined
                  ? Effect.succeed([] as Array<BarBatch>)
                  : Effect.fail(
                      kit.providerError({
                        reason: `Yahoo returned no chart for ${symbol}: ${description}`,
                        retryable: false
                      })
                    )
              }
              const batch = toBatch(kit, symbol, result, { start, end })
              if (typeof batch === "string") return Effect.fail(kit.providerError({ reason: batch, retryable: true }))
              return Effect.succeed(batch.ts.length === 0 ? [] : [batch])
            })
          )

      const bars = (request: BarsRequest) =>
        Stream.unwrap(
          Effect.gen(function* () {
            const frame = frames[request.frame]
            if (frame === undefined) {
              return yield* kit.providerError({
                reason: `Yahoo has no ${request.frame} bars; use one of ${plugin.capabilities.timeframes.join(", ")}`,
                retryable: false
              })
            }
            const is1m = request.frame === "1m"
            const historyDays = maxHistoryDays === 0 ? null : is1m ? maxHistoryDays : frame.historyDays
            if (historyDays !== null) {
              const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
              if (request.start < now - historyDays * DAY_MS) {
                return yield* kit.providerError({
                  reason: `Yahoo keeps ${frame.label} bars for about ${historyDays} days only; ${isoTime(request.start)} is older: use Alpaca or Polygon for older ${is1m ? "minute" : "intraday"} bars`,
                  retryable: false
                })
              }
            }
            const chunkMs = (is1m ? (opts.chunk_days ?? frame.chunkDays) : frame.chunkDays) * DAY_MS
            const windows: Array<{ readonly start: number; readonly end: number }> = []
            for (let s = request.start; s < request.end; s += chunkMs) {
              windows.push({ start: s, end: Math.min(s + chunkMs, request.end) })
            }
            return Stream.fromIterable(request.symbols).pipe(
              Stream.flatMap((symbol) => {
                const http = httpFor(symbol)
                return Stream.fromIterable(windows).pipe(
                  Stream.mapEffect((w) => fetchChunk(http, request, frame.interval, symbol, w.start, w.end))
                )
              }),
              Stream.flattenIterable
            )
          })
        )

      return { bars }
    })
}

export default plugin

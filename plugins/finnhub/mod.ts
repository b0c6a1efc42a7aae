/**
 * Finnhub stock candles (`/stock/candle`, a paid endpoint), the US symbol list, company profiles and corporate actions
 * (`corporate-actions.ts`: `/stock/split` and `/stock/dividend`, paid endpoints too). One symbol per
 * request and no pagination: intraday is capped at one month a request, so the client splits the range into
 * chunks of at most `chunk_days` days. Credential `FINNHUB_API_KEY`, sent as the `X-Finnhub-Token` header.
 */
import type {
  BarsRequest,
  PluginHost,
  ProviderPlugin,
  ProviderSettings,
  ReferenceRequest,
  Symbol,
  SymbolMeta
} from "../../mod.ts"
import { makeCorporateActions } from "./corporate-actions.ts"
import {
  type CandleWindow,
  type CompanyProfile,
  profile,
  symbolMeta,
  toBatch,
  wireSchemas,
  withProfile
} from "./wire.ts"

const resolutions = { "1m": "1", "5m": "5", "15m": "15", "30m": "30", "1h": "60", "1d": "D" } as const

/** A field of an error body as text: a string or number only (anything else may be huge or nested too deep to print). */
const textOf = (value: unknown): string =>
  typeof value === "string" ? value : typeof value === "number" ? String(value) : ""

const BASE_URL = "https://finnhub.io/api/v1"
/** The paid endpoints each client reads, for the error a free key gets. */
const endpoints: Readonly<Record<string, string>> = {
  candles: "/stock/candle",
  "corporate actions": "/stock/split and /stock/dividend"
}
const DAY_MS = 86_400_000
/** Finnhub returns at most one month of intraday candles per request. */
const MAX_CHUNK_DAYS = 30
/**
 * Profiles fetched at once for reference details: enough to hide latency, few enough that the rate limit (not a
 * burst) sets the pace.
 */
const PROFILE_CONCURRENCY = 4

const optionsSchema = ({ Schema: S, kit }: PluginHost) =>
  S.Struct({
    ...kit.httpTuningFields,
    chunk_days: S.optionalKey(S.Int.check(S.isBetween({ minimum: 1, maximum: MAX_CHUNK_DAYS })))
  })

/** One `/stock/candle` call: `from`/`to` in Unix seconds, both inclusive, and the rows it may contribute. */
interface Chunk extends CandleWindow {
  readonly from: number
  readonly to: number
}

/** The request window cut into chunks of at most `days` days (daily candles have no such limit: one chunk). */
function chunksOf(request: BarsRequest, days: number): Array<Chunk> {
  if (request.frame === "1d") {
    // Daily candles are stamped 00:00 UTC of their date, before the first session opens: ask from that midnight.
    const from = (Math.floor(request.start / DAY_MS) * DAY_MS) / 1000
    return [{ start: request.start, end: request.end, daily: true, from, to: Math.floor((request.end - 1) / 1000) }]
  }
  const out: Array<Chunk> = []
  const step = days * DAY_MS
  for (let start = request.start; start < request.end; start += step) {
    const end = Math.min(start + step, request.end)
    out.push({ start, end, daily: false, from: Math.ceil(start / 1000), to: Math.floor((end - 1) / 1000) })
  }
  return out
}

const plugin: ProviderPlugin = {
  contractVersion: 3,
  name: "finnhub",
  description: "Finnhub stock candles (paid plan), US symbol list and company profiles",
  capabilities: {
    feeds: ["finnhub"],
    defaultFeed: "finnhub",
    timeframes: ["1m", "5m", "15m", "30m", "1h", "1d"],
    // One month of extended-session (04:00-20:00 ET) minutes.
    maxBarsPerRequest: MAX_CHUNK_DAYS * 960,
    maxSymbolsPerRequest: 1,
    historyDays: null,
    rateLimit: { requests: 60, perSeconds: 60 },
    adjustments: ["raw"],
    credentials: ["FINNHUB_API_KEY"],
    hosts: [BASE_URL],
    // Finnhub lists only what trades today, with no delisting dates; details cost a `/stock/profile2` request each.
    reference: {
      pointInTime: false,
      delisted: false,
      detailFields: ["marketCap", "sharesOutstanding", "sector", "listDate", "currency"],
      marketDay: false
    },
    corporateActions: { splits: true, dividends: true }
  },
  make: (host: PluginHost, settings: ProviderSettings) =>
    host.Effect.gen(function* () {
      const { Effect, Stream, Schema, kit } = host
      const opts = yield* kit.decodeOptions(optionsSchema(host), settings.options)
      const key = settings.env.FINNHUB_API_KEY
      if (key === undefined || key.trim() === "") {
        return yield* kit.providerError({
          reason: "set FINNHUB_API_KEY (your Finnhub API key)",
          retryable: false,
          fatal: true
        })
      }
      const chunkDays = opts.chunk_days ?? MAX_CHUNK_DAYS
      const http = (what: string) =>
        kit.http({
          feed: settings.feed ?? plugin.capabilities.defaultFeed,
          baseUrl: settings.baseUrl ?? BASE_URL,
          secrets: [key],
          rateLimit: settings.rateLimit ?? plugin.capabilities.rateLimit,
          headers: { "X-Finnhub-Token": key },
          ...kit.httpTuning(opts),
          explain: (status, body) => {
            const message = textOf((body as { error?: unknown } | null)?.error)
            // A free key gets 403 (sometimes 401) "You don't have access to this resource." on premium endpoints.
            if (status === 403 || (status === 401 && /access to this resource/iu.test(message))) {
              return {
                reason: `${what} need a paid Finnhub plan (HTTP ${status} ${message}): FINNHUB_API_KEY works but has no access to ${
                  endpoints[what] ?? "this endpoint"
                }`,
                fatal: true
              }
            }
            if (status === 401) {
              return {
                reason: `Finnhub rejected the API key (HTTP 401 ${message}): check FINNHUB_API_KEY`,
                fatal: true
              }
            }
            return undefined
          }
        })
      const candles = http("candles")
      const reference = http("symbol lists and profiles")
      const schemas = wireSchemas(Schema)

      /** A 200 that carries `{"error": ...}` instead of data. */
      const errorIn = (body: unknown) => {
        const error = (body as { error?: unknown } | null)?.error
        return typeof error === "string"
          ? kit.providerError({ reason: `Finnhub: ${error}`, retryable: false })
          : undefined
      }

      const fetchChunk = (symbol: Symbol, resolution: string, chunk: Chunk) =>
        candles
          .getDecoded("/stock/candle", schemas.candle, {
            what: "Finnhub candle body",
            query: { symbol, resolution, from: chunk.from, to: chunk.to },
            refuse: errorIn
          })
          .pipe(
            Effect.flatMap((candle) => {
              const batch = toBatch(kit, symbol, candle, chunk)
              return typeof batch === "string"
                ? Effect.fail(kit.providerError({ reason: batch, retryable: true }))
                : Effect.succeed(batch)
            })
          )

      const bars = (request: BarsRequest) => {
        const resolution = resolutions[request.frame as keyof typeof resolutions]
        if (resolution === undefined) {
          return Stream.fail(kit.providerError({ reason: `Finnhub has no ${request.frame} candles`, retryable: false }))
        }
        const chunks = chunksOf(request, chunkDays)
        return Stream.fromIterable(
          request.symbols.flatMap((symbol) => chunks.map((chunk) => ({ symbol, chunk })))
        ).pipe(
          Stream.mapEffect(({ symbol, chunk }) => fetchChunk(symbol, resolution, chunk)),
          Stream.filter((batch) => batch.ts.length > 0)
        )
      }

      /** The US symbol list (one unpaginated array) as symbol metadata. */
      const listed = reference
        .getDecoded("/stock/symbol", schemas.symbols, {
          what: "Finnhub symbol list",
          query: { exchange: "US" },
          refuse: errorIn
        })
        .pipe(
          Effect.map((list) =>
            list.flatMap((row): Array<SymbolMeta> => {
              const meta = symbolMeta(kit, row)
              return meta === undefined ? [] : [meta]
            })
          )
        )

      const symbols = () => Stream.fromIterableEffect(listed)

      /** `/stock/profile2` in plain units; `undefined` for a symbol Finnhub does not know. */
      const companyProfile = (symbol: Symbol) =>
        reference
          .getDecoded("/stock/profile2", schemas.profile, {
            what: "Finnhub profile",
            query: { symbol },
            refuse: errorIn
          })
          .pipe(Effect.map((wire): CompanyProfile | undefined => profile(kit, symbol, wire)))

      /**
       * The symbol list, each symbol `request.details` names with its profile added. Only listed symbols are
       * looked up: a detail request for one Finnhub does not list would cost a request and add no symbol. A failed
       * profile fails the stream, so the host never stores a list with details silently missing.
       */
      const referenceSymbols = (request: ReferenceRequest) => {
        const wanted = request.details === "all" ? undefined : new Set<Symbol>(request.details)
        return Stream.fromIterableEffect(listed).pipe(
          Stream.mapEffect(
            (meta) =>
              wanted === undefined || wanted.has(meta.symbol)
                ? Effect.map(companyProfile(meta.symbol), (p) => withProfile(meta, p))
                : Effect.succeed(meta),
            { concurrency: PROFILE_CONCURRENCY }
          )
        )
      }

      const corporateActions = makeCorporateActions({ host, http: http("corporate actions"), refuse: errorIn })

      return { bars, symbols, reference: { symbols: referenceSymbols }, corporateActions, profile: companyProfile }
    })
}

export default plugin

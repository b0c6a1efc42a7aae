/**
 * Polygon.io, now Massive: stock aggregates (one ticker per request, `next_url` paging), reference data
 * (`reference.ts`: tickers as of a date, delisted ones, ticker details, grouped daily bars) and corporate actions
 * (`corporate-actions.ts`: splits and cash dividends by ex-date).
 * Credential `POLYGON_API_KEY` or `MASSIVE_API_KEY`, sent as `Authorization: Bearer`; free plan 5 requests a minute.
 */
import type {
  BarBatch,
  BarsRequest,
  PluginEffect,
  PluginHost,
  ProviderPlugin,
  ProviderSettings,
  QueryValue,
  Symbol,
  Timeframe
} from "../../mod.ts"
import { makeCorporateActions } from "./corporate-actions.ts"
import { makeReference, type Page } from "./reference.ts"
import { barColumns, pageSchemas, toBatch } from "./wire.ts"

const BASE_URL = "https://api.massive.com"

/** A field of an error body as text: a string or number only (anything else may be huge or nested too deep to print). */
const textOf = (value: unknown): string =>
  typeof value === "string" ? value : typeof value === "number" ? String(value) : ""

/** Our frames as Polygon's `{multiplier}/{timespan}` path segments. */
const frames: Partial<Record<Timeframe, readonly [number, string]>> = {
  "1m": [1, "minute"],
  "5m": [5, "minute"],
  "15m": [15, "minute"],
  "30m": [30, "minute"],
  "1h": [1, "hour"],
  "4h": [4, "hour"],
  "1d": [1, "day"]
}

const optionsSchema = ({ Schema: S, kit }: PluginHost) =>
  S.Struct({
    ...kit.httpTuningFields,
    page_limit: S.optionalKey(S.Int.check(S.isBetween({ minimum: 1, maximum: 50_000 }))),
    /** Reference tickers a page (Polygon's `limit`, at most 1000). */
    reference_limit: S.optionalKey(S.Int.check(S.isBetween({ minimum: 1, maximum: 1000 }))),
    /** Splits or dividends a page (Polygon's `limit`, at most 1000). */
    corporate_actions_limit: S.optionalKey(S.Int.check(S.isBetween({ minimum: 1, maximum: 1000 })))
  })

/** Where the next request goes: a path on the configured base URL and its query. */
interface Cursor {
  readonly path: string
  readonly query: Readonly<Record<string, QueryValue>>
  /** The pages read before this one, so a `next_url` that leads back to one of them ends instead of paging forever. */
  readonly before?: ReadonlySet<string>
}

const pageKey = (c: Cursor) => `${c.path}?${JSON.stringify(c.query)}`

/**
 * `next_url` is absolute, points at Polygon's own host and carries no API key: keep its path and query (the
 * `cursor`), and let the kit re-apply the configured base URL and the auth header, as the official client does.
 */
function follow(nextUrl: string | null | undefined): Cursor | undefined {
  if (nextUrl === undefined || nextUrl === null || nextUrl === "") return undefined
  let url: URL
  try {
    url = new URL(nextUrl, BASE_URL)
  } catch {
    return undefined
  }
  const query: Record<string, string> = {}
  for (const [k, v] of url.searchParams) if (k !== "apiKey") query[k] = v
  return { path: url.pathname, query }
}

const nonEmpty = (value: string | undefined) => (value === undefined || value.trim() === "" ? undefined : value.trim())

const plugin: ProviderPlugin = {
  contractVersion: 3,
  name: "polygon",
  description: "Massive (formerly Polygon.io) stock aggregates (free plan: 5 requests/min)",
  capabilities: {
    feeds: ["sip"],
    defaultFeed: "sip",
    timeframes: ["1m", "5m", "15m", "30m", "1h", "4h", "1d"],
    maxBarsPerRequest: 50_000,
    maxSymbolsPerRequest: 1,
    historyDays: null,
    rateLimit: { requests: 5, perSeconds: 60 },
    adjustments: ["raw", "split"],
    credentials: ["POLYGON_API_KEY", "MASSIVE_API_KEY"],
    hosts: [BASE_URL],
    reference: {
      pointInTime: true,
      delisted: true,
      detailFields: ["marketCap", "sharesOutstanding", "sic", "industry", "listDate", "currency"],
      marketDay: true
    },
    corporateActions: { splits: true, dividends: true }
  },
  make: (host: PluginHost, settings: ProviderSettings) =>
    host.Effect.gen(function* () {
      const { Effect, Stream, Schema, Option, kit } = host
      const opts = yield* kit.decodeOptions(optionsSchema(host), settings.options)
      const key = nonEmpty(settings.env.POLYGON_API_KEY) ?? nonEmpty(settings.env.MASSIVE_API_KEY)
      if (key === undefined) {
        return yield* kit.providerError({
          reason:
            "set POLYGON_API_KEY (or MASSIVE_API_KEY) to your Massive/Polygon API key (https://massive.com/dashboard)",
          retryable: false,
          fatal: true
        })
      }
      const feed = settings.feed ?? plugin.capabilities.defaultFeed
      const pageLimit = opts.page_limit ?? 50_000

      /** One HTTP client per subject, so that a 404 can say which ticker is unknown. */
      const httpFor = (subject: string) =>
        kit.http({
          feed,
          baseUrl: settings.baseUrl ?? BASE_URL,
          secrets: [key],
          rateLimit: settings.rateLimit ?? plugin.capabilities.rateLimit,
          headers: { Authorization: `Bearer ${key}` },
          ...kit.httpTuning(opts),
          explain: (status, body) => {
            const b = (body !== null && typeof body === "object" ? body : {}) as Record<string, unknown>
            const message = textOf(b.message ?? b.error).slice(0, 200)
            if (status === 401) {
              return {
                reason: `Massive/Polygon rejected the API key (HTTP 401 ${message}): check POLYGON_API_KEY (or MASSIVE_API_KEY)`,
                fatal: true
              }
            }
            if (status === 403) {
              return { reason: `your Massive/Polygon plan does not include this data (${message || textOf(b.status)})` }
            }
            if (status === 404) return { reason: `unknown ${subject} (${message || "not found"})`, aboutSymbol: true }
            return undefined
          }
        })

      const schemas = pageSchemas(Schema)

      /** The next page, or the end; a `next_url` we cannot follow is a server fault, not the end of the data. */
      const nextOf = (nextUrl: string | null | undefined, current: Cursor) => {
        if (nextUrl === undefined || nextUrl === null || nextUrl === "") return Effect.succeed(Option.none<Cursor>())
        const next = follow(nextUrl)
        if (next === undefined) {
          return Effect.fail(kit.providerError({ reason: `unusable next_url ${kit.mask(nextUrl)}`, retryable: true }))
        }
        const read = new Set(current.before).add(pageKey(current))
        if (read.has(pageKey(next))) {
          return Effect.fail(
            kit.providerError({ reason: `next_url repeats a page already read (${next.path})`, retryable: true })
          )
        }
        return Effect.succeed(Option.some({ ...next, before: read }))
      }

      const pages = (request: BarsRequest, symbol: Symbol, multiplier: number, timespan: string) => {
        const http = httpFor(`ticker ${symbol}`)
        const first: Cursor = {
          // `from` and `to` are Unix ms and both inclusive; our `end` is exclusive.
          path: `/v2/aggs/ticker/${encodeURIComponent(symbol)}/range/${multiplier}/${timespan}/${request.start}/${request.end - 1}`,
          query: { adjusted: request.adjustment !== "raw", sort: "asc", limit: pageLimit }
        }
        return Stream.paginate(first, (cursor) =>
          http
            .getColumns(cursor.path, barColumns, schemas.aggs, {
              what: "Massive/Polygon aggregates page",
              query: cursor.query
            })
            .pipe(
              Effect.flatMap((read) => {
                const batches: Array<BarBatch> = []
                if (read._tag === "Columns") {
                  for (const { ts, open, high, low, close, volume, tradeCount, vwap } of read.groups) {
                    if (ts.length > 0) batches.push({ symbol, ts, open, high, low, close, volume, tradeCount, vwap })
                  }
                  return Effect.map(nextOf(read.kept.next_url, cursor), (next) => [batches, next] as const)
                }
                // A page the columns reader did not take (`resultsCount: 0` comes without a `results` key: no bars,
                // not an error); these checks say which bar is wrong.
                const list = read.value.results ?? []
                if (list.length > 0) {
                  const batch = toBatch(kit, symbol, list)
                  if (typeof batch === "string")
                    return Effect.fail(kit.providerError({ reason: batch, retryable: true }))
                  batches.push(batch)
                }
                return Effect.map(nextOf(read.value.next_url, cursor), (next) => [batches, next] as const)
              })
            )
        )
      }

      const bars = (request: BarsRequest) => {
        const frame = frames[request.frame]
        if (frame === undefined) {
          return Stream.fail(
            kit.providerError({ reason: `Massive/Polygon has no ${request.frame} aggregates`, retryable: false })
          )
        }
        // Aggregates are single-ticker: one paginated request per symbol, in order.
        return Stream.fromIterable(request.symbols).pipe(
          Stream.flatMap((symbol) => pages(request, symbol, frame[0], frame[1]))
        )
      }

      /** Every page from `first` on, following `next_url` as the bars do. */
      const paged = <A>(first: Cursor, page: (request: Cursor) => PluginEffect<Page<A>>) =>
        Stream.paginate(first, (cursor) =>
          Effect.flatMap(page(cursor), ({ items, nextUrl }) =>
            Effect.map(nextOf(nextUrl, cursor), (next) => [items, next] as const)
          )
        )

      const reference = makeReference({ host, httpFor, paged, pageLimit: opts.reference_limit ?? 1000 })
      // Contract v1's list: the tickers trading now, without details.
      const symbols = () => reference.symbols({ asOf: kit.tradingDayOf(Date.now()), details: [] })

      const corporateActions = makeCorporateActions({
        host,
        httpFor,
        paged,
        pageLimit: opts.corporate_actions_limit ?? 1000
      })

      return { bars, reference, symbols, corporateActions }
    })
}

export default plugin

/**
 * Massive/Polygon reference data: `/v3/reference/tickers` as of a date (listed, then delisted with `active=false`),
 * ticker details for the symbols asked (market cap, shares, SIC code and description, list date) and grouped daily
 * bars, the whole market's day in one request. The list rows carry no market cap; details cost a request each.
 */
import type {
  MarketDayBar,
  PluginEffect,
  PluginHost,
  PluginStream,
  ProviderError,
  ProviderHttp,
  ProviderReference,
  QueryValue,
  ReferenceRequest,
  SecurityType,
  Symbol,
  SymbolMeta
} from "../../mod.ts"
import { referenceSchemas, type TickerRow } from "./wire.ts"

/** A page of items and where the next one is (`next_url`, absent on the last page). */
export interface Page<A> {
  readonly items: ReadonlyArray<A>
  readonly nextUrl: string | null | undefined
}

/** Where a page request goes: a path on the configured base URL and its query. */
export interface PageRequest {
  readonly path: string
  readonly query: Readonly<Record<string, QueryValue>>
}

export interface ReferenceDeps {
  readonly host: PluginHost
  readonly httpFor: (subject: string) => ProviderHttp
  /** Tickers a list page. */
  readonly pageLimit: number
  /** Every item of every page from `first` on, following `next_url` as the bars do (loops refused). */
  readonly paged: <A>(first: PageRequest, page: (request: PageRequest) => PluginEffect<Page<A>>) => PluginStream<A>
}

const text = (s: string | null | undefined) => (s === undefined || s === null || s.trim() === "" ? undefined : s.trim())

/** `YYYY-MM-DD` from a date or a UTC timestamp Polygon writes (`2022-11-08T00:00:00Z`). */
const dayIn = (s: string | null | undefined) => {
  const t = text(s)
  return t !== undefined && /^\d{4}-\d{2}-\d{2}/u.test(t) ? t.slice(0, 10) : undefined
}

/** A list row as metadata: the fields it has, none made up. */
export function rowMeta(kit: PluginHost["kit"], row: TickerRow): SymbolMeta | undefined {
  const symbol = kit.parseSymbol(row.ticker)
  if (symbol === undefined) return undefined
  const name = text(row.name)
  // A MIC is four letters or digits (ISO 10383); anything else is left out, not stored as an exchange.
  const exchange = text(row.primary_exchange)?.match(/^[A-Z0-9]{4}$/u)?.[0]
  const type = text(row.type)
  const currency = text(row.currency_name)
  const delistDate = dayIn(row.delisted_utc)
  const listDate = dayIn(row.list_date)
  const marketCap = row.market_cap ?? undefined
  const shares = row.share_class_shares_outstanding ?? row.weighted_shares_outstanding ?? undefined
  const sic = text(row.sic_code)
  const industry = text(row.sic_description)
  return {
    symbol,
    ...(name === undefined ? {} : { name }),
    ...(exchange === undefined ? {} : { exchange }),
    // Polygon's own codes are the ones we keep; any other is left out rather than guessed.
    ...(type !== undefined && kit.securityTypes.includes(type as SecurityType) ? { type: type as SecurityType } : {}),
    ...(currency === undefined ? {} : { currency: currency.toUpperCase() }),
    ...(row.active === undefined || row.active === null ? {} : { active: row.active }),
    ...(sic === undefined ? {} : { sic }),
    ...(industry === undefined ? {} : { industry }),
    ...(marketCap !== undefined && Number.isFinite(marketCap) && marketCap >= 0 ? { marketCap } : {}),
    ...(shares !== undefined && Number.isFinite(shares) && shares >= 0 ? { sharesOutstanding: shares } : {}),
    ...(listDate === undefined ? {} : { listDate }),
    ...(delistDate === undefined ? {} : { delistDate })
  }
}

export function makeReference(deps: ReferenceDeps): ProviderReference {
  const { host, httpFor, paged } = deps
  const { Effect, Stream, Schema, kit } = host
  const schemas = referenceSchemas(Schema)

  /** The tickers listed (or, `active: false`, delisted) as of the day, as metadata. */
  const list = (asOf: string, active: boolean) => {
    const http = httpFor(active ? "reference tickers" : "delisted reference tickers")
    return paged<SymbolMeta>(
      {
        path: "/v3/reference/tickers",
        query: { market: "stocks", active, date: asOf, sort: "ticker", order: "asc", limit: deps.pageLimit }
      },
      ({ path, query }) =>
        Effect.map(http.getDecoded(path, schemas.tickers, { what: "Massive/Polygon tickers page", query }), (p) => ({
          items: (p.results ?? []).flatMap((row) => {
            const meta = rowMeta(kit, row)
            return meta === undefined ? [] : [meta]
          }),
          nextUrl: p.next_url
        }))
    )
  }

  /** The details of `meta` as of the day; a ticker details does not know (404) keeps what the list said. */
  const withDetails = (meta: SymbolMeta, asOf: string) =>
    httpFor(`ticker ${meta.symbol}`)
      .getDecoded(`/v3/reference/tickers/${encodeURIComponent(meta.symbol)}`, schemas.details, {
        what: "Massive/Polygon ticker details",
        query: { date: asOf }
      })
      .pipe(
        Effect.map((page) => {
          const detailed = page.results === undefined || page.results === null ? undefined : rowMeta(kit, page.results)
          // The list row says whether it was trading on the day; details can only add to it.
          return detailed === undefined ? meta : { ...detailed, ...meta }
        }),
        Effect.catchIf(
          (e: ProviderError) => e.aboutSymbol === true && !e.fatal,
          () => Effect.succeed(meta)
        )
      )

  const symbols = (request: ReferenceRequest) => {
    const wanted = request.details === "all" ? undefined : new Set<Symbol>(request.details)
    const rows = Stream.concat(list(request.asOf, true), list(request.asOf, false))
    if (wanted !== undefined && wanted.size === 0) return rows
    return rows.pipe(
      Stream.mapEffect(
        // Details only for the tickers trading on the day: those delisted by then are out of any universe of it.
        (meta) =>
          meta.active !== false && (wanted === undefined || wanted.has(meta.symbol))
            ? withDetails(meta, request.asOf)
            : Effect.succeed(meta),
        { concurrency: 4 }
      )
    )
  }

  const marketDay = (day: string) =>
    Stream.fromEffect(
      httpFor("grouped daily bars").getDecoded(
        `/v2/aggs/grouped/locale/us/market/stocks/${encodeURIComponent(day)}`,
        schemas.grouped,
        { what: "Massive/Polygon grouped daily bars", query: { adjusted: true } }
      )
    ).pipe(
      Stream.flatMap((page) =>
        Stream.fromIterable(
          (page.results ?? []).flatMap((r): Array<MarketDayBar> => {
            const symbol = kit.parseSymbol(r.T)
            return symbol === undefined ? [] : [{ symbol, close: r.c, volume: r.v }]
          })
        )
      )
    )

  return { symbols, marketDay }
}

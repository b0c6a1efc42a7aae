/**
 * Massive/Polygon corporate actions: `/v3/reference/splits` (`execution_date` is the ex-date; `split_from` old shares
 * become `split_to` new ones) and `/v3/reference/dividends` (`cash_amount` per share as paid, in `currency`), one
 * ticker per request and kind, the ex-date range in the query, paged by `next_url` exactly as the aggregates are
 * (the kit re-applies the base URL and the key; a `next_url` never supplies either).
 */
import type {
  CorporateAction,
  CorporateActionsRequest,
  DividendAction,
  PluginHost,
  ProviderCorporateActions,
  SplitAction,
  Symbol
} from "../../mod.ts"
import type { ReferenceDeps } from "./reference.ts"
import { corporateActionSchemas, DAY_PATTERN, type DividendRow, type SplitRow } from "./wire.ts"

export interface CorporateActionsDeps {
  readonly host: PluginHost
  readonly httpFor: ReferenceDeps["httpFor"]
  readonly paged: ReferenceDeps["paged"]
  /** Rows a page (Polygon's `limit`, at most 1000). */
  readonly pageLimit: number
}

const text = (s: string | null | undefined) => (s === undefined || s === null || s.trim() === "" ? undefined : s.trim())
const dayOf = (s: string | null | undefined) => {
  const t = text(s)
  return t !== undefined && DAY_PATTERN.test(t) ? t : undefined
}

/**
 * Whether a `dividend_type` is a one-off payment. `CD` is the regular cash dividend and `SC` a special one. `LT` and
 * `ST` are long- and short-term capital gains distributions (funds): cash paid out of the assets, so the price drops
 * by them on the ex-date as by any cash dividend. They are kept as cash dividends, flagged special, since they are
 * not the regular payment; so is any code Polygon may add. An absent type is Polygon's usual `CD`.
 */
export const isSpecialDividend = (type: string | null | undefined): boolean => {
  const t = text(type)?.toUpperCase()
  return t !== undefined && t !== "CD"
}

/** A split row as an action, when it is the asked ticker's. */
export function splitOf(kit: PluginHost["kit"], asked: Symbol, row: SplitRow): SplitAction | undefined {
  if (kit.parseSymbol(row.ticker) !== asked) return undefined
  return { kind: "split", symbol: asked, exDate: row.execution_date, from: row.split_from, to: row.split_to }
}

/**
 * A dividend row as an action, when it is the asked ticker's and pays something. Polygon's US stocks pay dollars; a
 * row without a currency is taken to.
 */
export function dividendOf(kit: PluginHost["kit"], asked: Symbol, row: DividendRow): DividendAction | undefined {
  if (kit.parseSymbol(row.ticker) !== asked || !(row.cash_amount > 0)) return undefined
  const recordDate = dayOf(row.record_date)
  const payDate = dayOf(row.pay_date)
  return {
    kind: "dividend",
    symbol: asked,
    exDate: row.ex_dividend_date,
    amount: row.cash_amount,
    currency: text(row.currency)?.toUpperCase() ?? "USD",
    ...(recordDate === undefined ? {} : { recordDate }),
    ...(payDate === undefined ? {} : { payDate }),
    special: isSpecialDividend(row.dividend_type)
  }
}

export function makeCorporateActions(deps: CorporateActionsDeps): ProviderCorporateActions {
  const { host, httpFor, paged, pageLimit } = deps
  const { Effect, Stream, Schema, kit } = host
  const schemas = corporateActionSchemas(Schema)

  const splits = (symbol: Symbol, from: string, to: string) => {
    const http = httpFor(`ticker ${symbol}`)
    return paged<CorporateAction>(
      {
        path: "/v3/reference/splits",
        query: { ticker: symbol, "execution_date.gte": from, "execution_date.lte": to, limit: pageLimit }
      },
      ({ path, query }) =>
        Effect.map(http.getDecoded(path, schemas.splits, { what: "Massive/Polygon splits page", query }), (p) => ({
          items: (p.results ?? []).flatMap((row) => {
            const action = splitOf(kit, symbol, row)
            return action === undefined || action.exDate < from || action.exDate > to ? [] : [action]
          }),
          nextUrl: p.next_url
        }))
    )
  }

  const dividends = (symbol: Symbol, from: string, to: string) => {
    const http = httpFor(`ticker ${symbol}`)
    return paged<CorporateAction>(
      {
        path: "/v3/reference/dividends",
        query: { ticker: symbol, "ex_dividend_date.gte": from, "ex_dividend_date.lte": to, limit: pageLimit }
      },
      ({ path, query }) =>
        Effect.map(
          http.getDecoded(path, schemas.dividends, { what: "Massive/Polygon dividends page", query }),
          (p) => ({
            items: (p.results ?? []).flatMap((row) => {
              const action = dividendOf(kit, symbol, row)
              return action === undefined || action.exDate < from || action.exDate > to ? [] : [action]
            }),
            nextUrl: p.next_url
          })
        )
    )
  }

  const list = (request: CorporateActionsRequest) => {
    const { from, to } = request
    if (!DAY_PATTERN.test(from) || !DAY_PATTERN.test(to)) {
      return Stream.fail(
        kit.providerError({
          reason: `corporate actions range ${from}..${to} is not two YYYY-MM-DD days`,
          retryable: false
        })
      )
    }
    const kinds = (["split", "dividend"] as const).filter((k) => request.kinds.includes(k))
    if (from > to || kinds.length === 0) return Stream.empty
    // Both endpoints are single-ticker: one paged request per symbol and kind, in order.
    return Stream.fromIterable(request.symbols.flatMap((symbol) => kinds.map((kind) => ({ symbol, kind })))).pipe(
      Stream.flatMap(({ symbol, kind }) => (kind === "split" ? splits(symbol, from, to) : dividends(symbol, from, to)))
    )
  }

  return { list }
}

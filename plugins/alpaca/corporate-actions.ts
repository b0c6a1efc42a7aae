/**
 * Alpaca corporate actions from the market data host: `GET /v1/corporate-actions` with up to 100 `symbols`, the
 * `types` asked (`forward_split`, `reverse_split`, `cash_dividend`), `limit` counted across all of them and
 * `page_token` paging. A split of `old_rate` shares into `new_rate` is `from: old_rate, to: new_rate`; a dividend's
 * `rate` is dollars per share as paid.
 *
 * Alpaca's `start`/`end` interval is on the `process_date`, not the ex-date: a split is processed on its ex-date, but a
 * cash dividend on its payable date, which can come weeks after the ex-date (and, for a large special dividend, the
 * day before it). So the query window is widened (`LOOKBACK_DAYS` before, `LOOKAHEAD_DAYS` after) and the actions are
 * kept by their ex-date.
 */
import type {
  CorporateAction,
  CorporateActionsRequest,
  PluginHost,
  ProviderCorporateActions,
  ProviderHttp,
  Symbol
} from "../../mod.ts"
import { type CashDividendWire, corporateActionSchemas, DAY_PATTERN, type SplitWire } from "./wire.ts"

/** Process dates this many days before the first ex-date asked are read too. */
export const LOOKBACK_DAYS = 7
/** And this many after the last one: a dividend's payable date rarely comes later than that. */
export const LOOKAHEAD_DAYS = 90

export interface CorporateActionsDeps {
  readonly host: PluginHost
  /** The market data client the bars use (same host, keys, rate limit). */
  readonly data: ProviderHttp
  /** Actions a page (Alpaca's `limit`, 1–1000), counted across symbols and types. */
  readonly pageLimit: number
  readonly symbolsPerRequest: number
}

const shiftDay = (day: string, days: number) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10)

const dayOf = (s: string | null | undefined) => (typeof s === "string" && DAY_PATTERN.test(s) ? s : undefined)

/** Alpaca's types for the kinds asked. */
const typesOf = (kinds: ReadonlyArray<string>) => [
  ...(kinds.includes("split") ? ["forward_split", "reverse_split"] : []),
  ...(kinds.includes("dividend") ? ["cash_dividend"] : [])
]

/** A split row (forward or reverse: both carry the old and new rates) as an action. */
export function splitOf(kit: PluginHost["kit"], row: SplitWire): CorporateAction | undefined {
  const symbol = kit.parseSymbol(row.symbol)
  return symbol === undefined
    ? undefined
    : { kind: "split", symbol, exDate: row.ex_date, from: row.old_rate, to: row.new_rate }
}

/** A cash dividend row as an action; Alpaca's US equities pay dollars. A zero rate pays nothing and is dropped. */
export function dividendOf(kit: PluginHost["kit"], row: CashDividendWire): CorporateAction | undefined {
  const symbol = kit.parseSymbol(row.symbol)
  if (symbol === undefined || !(row.rate > 0)) return undefined
  const recordDate = dayOf(row.record_date)
  const payDate = dayOf(row.payable_date)
  return {
    kind: "dividend",
    symbol,
    exDate: row.ex_date,
    amount: row.rate,
    currency: "USD",
    ...(recordDate === undefined ? {} : { recordDate }),
    ...(payDate === undefined ? {} : { payDate }),
    special: row.special === true
  }
}

export function makeCorporateActions(deps: CorporateActionsDeps): ProviderCorporateActions {
  const { host, data, pageLimit } = deps
  const { Effect, Stream, Schema, Option, kit } = host
  const schemas = corporateActionSchemas(Schema)

  /** Where the next page starts, and the tokens followed so far. */
  const firstPage: { readonly token: string | undefined; readonly followed: ReadonlySet<string> } = {
    token: undefined,
    followed: new Set()
  }

  const pages = (symbols: ReadonlyArray<Symbol>, types: ReadonlyArray<string>, from: string, to: string) => {
    const asked = new Set<Symbol>(symbols)
    // Actions of a symbol not asked for, or with an ex-date outside the range, are not this request's.
    const kept = (a: CorporateAction | undefined): a is CorporateAction =>
      a !== undefined && asked.has(a.symbol) && a.exDate >= from && a.exDate <= to
    return Stream.paginate(firstPage, ({ token: pageToken, followed }) =>
      data
        .getDecoded("/v1/corporate-actions", schemas.page, {
          what: "Alpaca corporate actions page",
          query: {
            symbols: symbols.join(","),
            types: types.join(","),
            start: shiftDay(from, -LOOKBACK_DAYS),
            end: shiftDay(to, LOOKAHEAD_DAYS),
            limit: pageLimit,
            page_token: pageToken
          }
        })
        .pipe(
          Effect.flatMap((page) => {
            const { forward_splits, reverse_splits, cash_dividends } = page.corporate_actions
            const actions = [
              ...[...(forward_splits ?? []), ...(reverse_splits ?? [])].map((row) => splitOf(kit, row)),
              ...(cash_dividends ?? []).map((row) => dividendOf(kit, row))
            ].filter(kept)
            const next = page.next_page_token ?? undefined
            if (next === undefined || next === "") return Effect.succeed([actions, Option.none()] as const)
            // A token handed back again (a cycle) would be paged forever.
            if (followed.has(next)) {
              return Effect.fail(
                kit.providerError({ reason: "next_page_token repeats a page already read", retryable: true })
              )
            }
            return Effect.succeed([
              actions,
              Option.some({ token: next, followed: new Set([...followed, next]) })
            ] as const)
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
    const types = typesOf(request.kinds)
    // No symbols would ask Alpaca for every symbol's actions: nothing was asked, so nothing is sent.
    if (from > to || types.length === 0 || request.symbols.length === 0) return Stream.empty
    const groups: Array<ReadonlyArray<Symbol>> = []
    for (let i = 0; i < request.symbols.length; i += deps.symbolsPerRequest) {
      groups.push(request.symbols.slice(i, i + deps.symbolsPerRequest))
    }
    return Stream.fromIterable(groups).pipe(Stream.flatMap((group) => pages(group, types, from, to)))
  }

  return { list }
}

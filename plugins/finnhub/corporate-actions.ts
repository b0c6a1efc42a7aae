/**
 * Finnhub corporate actions: `GET /stock/split` and `GET /stock/dividend`, one symbol per request and kind, `from` and
 * `to` the ex-date range (`YYYY-MM-DD`, inclusive), one unpaginated array each. `date` is the ex-date; a split of
 * `fromFactor` shares into `toFactor` is `from`/`to` as is.
 *
 * Dividends: `amount` is the cash per share as paid (`adjustedAmount` is restated for later splits, which the lake's
 * raw bars are not, so it is not used). Finnhub marks no dividend as special, and its `freq` code says how often a
 * company pays, not whether this payment is a one-off: every dividend is `special: false`. A row without a currency
 * is taken to be in dollars, as the US symbols this plugin lists are.
 */
import type {
  CorporateAction,
  CorporateActionsRequest,
  PluginEffect,
  PluginHost,
  ProviderCorporateActions,
  ProviderError,
  ProviderHttp,
  Symbol
} from "../../mod.ts"
import { corporateActionSchemas, DAY_PATTERN, type DividendWire, type SplitWire } from "./wire.ts"

export interface CorporateActionsDeps {
  readonly host: PluginHost
  readonly http: ProviderHttp
  /** A 200 that carries `{"error": ...}` instead of data. */
  readonly refuse: (body: unknown) => ProviderError | undefined
}

const text = (s: string | null | undefined) => (s === undefined || s === null || s.trim() === "" ? undefined : s.trim())
const dayOf = (s: string | null | undefined) => {
  const t = text(s)
  return t !== undefined && DAY_PATTERN.test(t) ? t : undefined
}

/** A split row as an action, when it is the asked symbol's. */
export function splitOf(kit: PluginHost["kit"], asked: Symbol, row: SplitWire): CorporateAction | undefined {
  if (kit.parseSymbol(row.symbol) !== asked) return undefined
  return { kind: "split", symbol: asked, exDate: row.date, from: row.fromFactor, to: row.toFactor }
}

/** A dividend row as an action, when it is the asked symbol's and pays something. */
export function dividendOf(kit: PluginHost["kit"], asked: Symbol, row: DividendWire): CorporateAction | undefined {
  if (kit.parseSymbol(row.symbol) !== asked || !(row.amount > 0)) return undefined
  const recordDate = dayOf(row.recordDate)
  const payDate = dayOf(row.payDate)
  return {
    kind: "dividend",
    symbol: asked,
    exDate: row.date,
    amount: row.amount,
    currency: text(row.currency)?.toUpperCase() ?? "USD",
    ...(recordDate === undefined ? {} : { recordDate }),
    ...(payDate === undefined ? {} : { payDate }),
    special: false
  }
}

export function makeCorporateActions(deps: CorporateActionsDeps): ProviderCorporateActions {
  const { host, http, refuse } = deps
  const { Effect, Stream, Schema, kit } = host
  const schemas = corporateActionSchemas(Schema)

  const inRange = (from: string, to: string) => (a: CorporateAction | undefined) =>
    a === undefined || a.exDate < from || a.exDate > to ? [] : [a]

  const fetch = (
    symbol: Symbol,
    kind: "split" | "dividend",
    from: string,
    to: string
  ): PluginEffect<Array<CorporateAction>> =>
    kind === "split"
      ? Effect.map(
          http.getDecoded("/stock/split", schemas.splits, {
            what: "Finnhub splits",
            query: { symbol, from, to },
            refuse
          }),
          (rows) => (rows ?? []).flatMap((row) => inRange(from, to)(splitOf(kit, symbol, row)))
        )
      : Effect.map(
          http.getDecoded("/stock/dividend", schemas.dividends, {
            what: "Finnhub dividends",
            query: { symbol, from, to },
            refuse
          }),
          (rows) => (rows ?? []).flatMap((row) => inRange(from, to)(dividendOf(kit, symbol, row)))
        )

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
    return Stream.fromIterable(request.symbols.flatMap((symbol) => kinds.map((kind) => ({ symbol, kind })))).pipe(
      Stream.flatMap(({ symbol, kind }) => Stream.fromIterableEffect(fetch(symbol, kind, from, to)))
    )
  }

  return { list }
}

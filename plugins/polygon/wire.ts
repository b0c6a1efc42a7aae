/**
 * Polygon.io / Massive wire format: aggregates, reference tickers, ticker details, grouped daily bars, splits and
 * dividends checked with Schema, aggregates moved into columns in one loop (`t` Unix ms UTC window start, `o h l c`
 * prices, `v` volume, `vw` VWAP, `n` transactions).
 */
import type { BarBatch, BarColumnsSpec, PluginHost, Symbol } from "../../mod.ts"

/** Where an aggregates page keeps its bars and what each key holds, for the kit to read pages into columns. */
export const barColumns: BarColumnsSpec = {
  path: ["results"],
  ts: { key: "t", as: "ms" },
  open: "o",
  high: "h",
  low: "l",
  close: "c",
  volume: "v",
  tradeCount: "n",
  vwap: "vw",
  keep: ["next_url"]
}

export const pageSchemas = (S: PluginHost["Schema"]) => ({
  aggs: S.Struct({
    // "OK", or "DELAYED" on delayed-data plans; both carry data.
    status: S.optionalKey(S.String),
    ticker: S.optionalKey(S.String),
    resultsCount: S.optionalKey(S.Number),
    // No data is `resultsCount: 0` without a `results` key.
    results: S.optionalKey(S.NullOr(S.Array(S.Unknown))),
    // Absolute, without the API key; absent on the last page.
    next_url: S.optionalKey(S.NullOr(S.String))
  })
})

const tickerRow = (S: PluginHost["Schema"]) => {
  const text = S.optionalKey(S.NullOr(S.String))
  const amount = S.optionalKey(S.NullOr(S.Finite))
  return S.Struct({
    ticker: S.String,
    name: text,
    primary_exchange: text,
    type: text,
    active: S.optionalKey(S.NullOr(S.Boolean)),
    currency_name: text,
    delisted_utc: text,
    // Ticker details only:
    list_date: text,
    market_cap: amount,
    share_class_shares_outstanding: amount,
    weighted_shares_outstanding: amount,
    sic_code: text,
    sic_description: text
  })
}

/** A reference ticker row (list or details): the fields we read; the rest of Polygon's are let through. */
export type TickerRow = ReturnType<typeof tickerRow>["Type"]

export const referenceSchemas = (S: PluginHost["Schema"]) => ({
  tickers: S.Struct({
    results: S.optionalKey(S.NullOr(S.Array(tickerRow(S)))),
    // Absolute, without the API key; absent on the last page.
    next_url: S.optionalKey(S.NullOr(S.String))
  }),
  details: S.Struct({ results: S.optionalKey(S.NullOr(tickerRow(S))) }),
  // No trading that day is `resultsCount: 0` without a `results` key, like aggregates.
  grouped: S.Struct({
    results: S.optionalKey(
      S.NullOr(S.Array(S.Struct({ T: S.String, c: S.Finite, v: S.Finite.check(S.isGreaterThanOrEqualTo(0)) })))
    )
  })
})

/** A calendar date as Polygon writes the dates of corporate actions. */
export const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/u

/**
 * `/v3/reference/splits` and `/v3/reference/dividends` pages: the fields we read (the rest, `id` and `frequency`
 * among them, are let through). A row without its ex-date or with a ratio that is not positive is a malformed page,
 * not a row to skip: a split left out would adjust every earlier bar wrongly.
 */
export const corporateActionSchemas = (S: PluginHost["Schema"]) => {
  const day = S.String.check(S.isPattern(DAY_PATTERN, { expected: "a YYYY-MM-DD date" }))
  const shares = S.Finite.check(S.isGreaterThan(0))
  const text = S.optionalKey(S.NullOr(S.String))
  // Absolute, without the API key; absent on the last page.
  const next_url = S.optionalKey(S.NullOr(S.String))
  return {
    splits: S.Struct({
      results: S.optionalKey(
        S.NullOr(S.Array(S.Struct({ ticker: S.String, execution_date: day, split_from: shares, split_to: shares })))
      ),
      next_url
    }),
    dividends: S.Struct({
      results: S.optionalKey(
        S.NullOr(
          S.Array(
            S.Struct({
              ticker: S.String,
              ex_dividend_date: day,
              cash_amount: S.Finite.check(S.isGreaterThanOrEqualTo(0)),
              currency: text,
              pay_date: text,
              record_date: text,
              dividend_type: text
            })
          )
        )
      ),
      next_url
    })
  }
}

type CorporateActionSchemas = ReturnType<typeof corporateActionSchemas>
export type SplitRow = NonNullable<CorporateActionSchemas["splits"]["Type"]["results"]>[number]
export type DividendRow = NonNullable<CorporateActionSchemas["dividends"]["Type"]["results"]>[number]

/** Moves one page of a ticker's aggregates into a column batch; a string names the first malformed bar. */
export function toBatch(kit: PluginHost["kit"], symbol: Symbol, raw: ReadonlyArray<unknown>): BarBatch | string {
  const out = kit.batchBuilder(symbol, raw.length)
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]
    const ok = b !== null && typeof b === "object" && out.add(...fields(kit, b as Record<string, unknown>))
    if (!ok) return `malformed bar ${i} for ${symbol}: ${kit.shownWire(b)}`
  }
  return out.build()
}

// A `t` that is not a whole millisecond in range (seconds, a price, 1e16) makes the bar malformed.
const fields = (kit: PluginHost["kit"], b: Record<string, unknown>) =>
  [kit.isBarTime(b.t) ? b.t : Number.NaN, b.o, b.h, b.l, b.c, b.v, b.n, b.vw] as const

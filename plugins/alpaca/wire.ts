/**
 * Alpaca Market Data v2 wire format: page shapes checked with Schema, bars moved into columns in one loop
 * (`t` RFC 3339 UTC, `o h l c vw` numbers, `v` volume, `n` trade count). Also the Trading API's asset objects, which
 * name exchanges Alpaca's way (`NASDAQ`, `ARCA`) and carry no dates, market cap or sector, and the market data
 * `/v1/corporate-actions` pages (splits and cash dividends grouped by type).
 */
import type { BarBatch, BarColumnsSpec, PluginHost, Symbol, SymbolMeta } from "../../mod.ts"

/** Where a bars page keeps its bars and what each key holds, for the kit to read pages into columns off-thread. */
export const barColumns: BarColumnsSpec = {
  path: ["bars", "*"],
  ts: { key: "t", as: "iso" },
  open: "o",
  high: "h",
  low: "l",
  close: "c",
  volume: "v",
  tradeCount: "n",
  vwap: "vw",
  keep: ["next_page_token"]
}

export const pageSchemas = (S: PluginHost["Schema"]) => ({
  multi: S.Struct({
    // `{}` or a symbol mapped to null/[] both mean "no bars"; the same symbol may continue on the next page.
    bars: S.NullOr(S.Record(S.String, S.NullOr(S.Array(S.Unknown)))),
    next_page_token: S.optionalKey(S.NullOr(S.String))
  }),
  // Only the fields read: the rest of an asset object (margin, borrow, attributes) says nothing a universe uses.
  assets: S.Array(
    S.Struct({
      symbol: S.String,
      name: S.optionalKey(S.NullOr(S.String)),
      exchange: S.optionalKey(S.NullOr(S.String)),
      status: S.optionalKey(S.NullOr(S.String))
    })
  )
})

/** A calendar date as Alpaca writes the dates of corporate actions. */
export const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/u

/**
 * A `/v1/corporate-actions` page: the types asked for (`forward_splits`, `reverse_splits`, `cash_dividends`, each
 * absent when there are none), other types let through unread. Only the fields read are checked; a row without its
 * ex-date or with a rate that is not positive makes the page malformed, since a split left out would adjust every
 * earlier bar wrongly.
 */
export const corporateActionSchemas = (S: PluginHost["Schema"]) => {
  const day = S.String.check(S.isPattern(DAY_PATTERN, { expected: "a YYYY-MM-DD date" }))
  const rate = S.Finite.check(S.isGreaterThan(0))
  const date = S.optionalKey(S.NullOr(S.String))
  const split = S.Struct({ symbol: S.String, old_rate: rate, new_rate: rate, ex_date: day })
  const splits = S.optionalKey(S.NullOr(S.Array(split)))
  return {
    page: S.Struct({
      corporate_actions: S.Struct({
        forward_splits: splits,
        reverse_splits: splits,
        cash_dividends: S.optionalKey(
          S.NullOr(
            S.Array(
              S.Struct({
                symbol: S.String,
                rate: S.Finite.check(S.isGreaterThanOrEqualTo(0)),
                special: S.optionalKey(S.NullOr(S.Boolean)),
                ex_date: day,
                record_date: date,
                payable_date: date
              })
            )
          )
        )
      }),
      next_page_token: S.optionalKey(S.NullOr(S.String))
    })
  }
}

type CorporateActionsPage = ReturnType<typeof corporateActionSchemas>["page"]["Type"]["corporate_actions"]
export type SplitWire = NonNullable<CorporateActionsPage["forward_splits"]>[number]
export type CashDividendWire = NonNullable<CorporateActionsPage["cash_dividends"]>[number]

export type AssetWire = ReturnType<typeof pageSchemas>["assets"]["Type"][number]

/**
 * Alpaca's exchange names as MICs. Alpaca has used both `ARCA` and `NYSEARCA` for NYSE Arca. Names not here (`""`,
 * crypto venues, ones added later) are left out rather than guessed.
 */
const mics: Readonly<Record<string, string>> = {
  NASDAQ: "XNAS",
  NYSE: "XNYS",
  ARCA: "ARCX",
  NYSEARCA: "ARCX",
  AMEX: "XASE",
  BATS: "BATS",
  IEX: "IEXG",
  OTC: "OTCM"
}

/** The MIC for an Alpaca exchange name; `undefined` when it is not one we know. */
export const micOf = (exchange: string | null | undefined): string | undefined =>
  typeof exchange === "string" && Object.hasOwn(mics, exchange) ? mics[exchange] : undefined

/**
 * One asset as symbol metadata; `undefined` when its ticker is not a symbol. Every Alpaca US equity trades in
 * dollars; `active` is Alpaca's status alone, since a listed asset may still be untradable on Alpaca (most OTC ones).
 */
export function assetMeta(kit: PluginHost["kit"], asset: AssetWire): SymbolMeta | undefined {
  const symbol = kit.parseSymbol(asset.symbol)
  if (symbol === undefined) return undefined
  const exchange = micOf(asset.exchange)
  return {
    symbol,
    ...(asset.name ? { name: asset.name } : {}),
    ...(exchange === undefined ? {} : { exchange }),
    active: asset.status === "active",
    currency: "USD"
  }
}

/** Moves one symbol's wire bars into a column batch; `undefined` names the first malformed field. */
export function toBatch(kit: PluginHost["kit"], symbol: Symbol, raw: ReadonlyArray<unknown>): BarBatch | string {
  const out = kit.batchBuilder(symbol, raw.length)
  for (let i = 0; i < raw.length; i++) {
    const b = (raw[i] ?? {}) as Record<string, unknown>
    const t = typeof b.t === "string" ? kit.parseIsoUtc(b.t) : Number.NaN
    if (!out.add(t, b.o, b.h, b.l, b.c, b.v, b.n, b.vw)) {
      return `malformed bar ${i} for ${symbol}: ${kit.shownWire(raw[i])}`
    }
  }
  return out.build()
}

/**
 * Polygon.io / Massive wire format: aggregates and reference-ticker pages checked with Schema, aggregates moved into
 * columns in one loop (`t` Unix ms UTC window start, `o h l c` prices, `v` volume, `vw` VWAP, `n` transactions).
 */
import type { BarBatch, PluginHost, Symbol } from "../../mod.ts"

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
  }),
  tickers: S.Struct({
    results: S.optionalKey(
      S.NullOr(
        S.Array(
          S.Struct({
            ticker: S.String,
            name: S.optionalKey(S.NullOr(S.String)),
            primary_exchange: S.optionalKey(S.NullOr(S.String)),
            active: S.optionalKey(S.NullOr(S.Boolean))
          })
        )
      )
    ),
    next_url: S.optionalKey(S.NullOr(S.String))
  })
})

/** Moves one page of a ticker's aggregates into a column batch; a string names the first malformed bar. */
export function toBatch(kit: PluginHost["kit"], symbol: Symbol, raw: ReadonlyArray<unknown>): BarBatch | string {
  const out = kit.emptyBatch(symbol, raw.length)
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i] as Record<string, unknown> | null
    if (b === null || typeof b !== "object") return `malformed bar ${i} for ${symbol}: ${String(b).slice(0, 120)}`
    const { t, o, h, l, c, v } = b
    if (
      typeof t !== "number" ||
      !Number.isFinite(t) ||
      typeof o !== "number" ||
      typeof h !== "number" ||
      typeof l !== "number" ||
      typeof c !== "number" ||
      typeof v !== "number"
    ) {
      return `malformed bar ${i} for ${symbol}: ${JSON.stringify(b).slice(0, 120)}`
    }
    out.ts[i] = t
    out.open[i] = o
    out.high[i] = h
    out.low[i] = l
    out.close[i] = c
    out.volume[i] = v
    out.tradeCount[i] = typeof b.n === "number" ? b.n : Number.NaN
    out.vwap[i] = typeof b.vw === "number" ? b.vw : Number.NaN
  }
  return out
}

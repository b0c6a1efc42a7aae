/**
 * Alpaca Market Data v2 wire format: page shapes checked with Schema, bars moved into columns in one loop
 * (`t` RFC 3339 UTC, `o h l c vw` numbers, `v` volume, `n` trade count).
 */
import type { BarBatch, PluginHost, Symbol } from "../../mod.ts"

export const pageSchemas = (S: PluginHost["Schema"]) => ({
  multi: S.Struct({
    // `{}` or a symbol mapped to null/[] both mean "no bars"; the same symbol may continue on the next page.
    bars: S.NullOr(S.Record(S.String, S.NullOr(S.Array(S.Unknown)))),
    next_page_token: S.optionalKey(S.NullOr(S.String))
  }),
  assets: S.Array(
    S.Struct({
      symbol: S.String,
      name: S.optionalKey(S.NullOr(S.String)),
      exchange: S.optionalKey(S.String),
      status: S.optionalKey(S.String),
      tradable: S.optionalKey(S.Boolean)
    })
  )
})

/** Moves one symbol's wire bars into a column batch; `undefined` names the first malformed field. */
export function toBatch(kit: PluginHost["kit"], symbol: Symbol, raw: ReadonlyArray<unknown>): BarBatch | string {
  const out = kit.emptyBatch(symbol, raw.length)
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i] as Record<string, unknown>
    const t = typeof b.t === "string" ? kit.parseIsoUtc(b.t) : Number.NaN
    const { o, h, l, c, v } = b
    if (
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

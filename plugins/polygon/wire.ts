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
  const out = kit.batchBuilder(symbol, raw.length)
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]
    const ok = b !== null && typeof b === "object" && out.add(...fields(b as Record<string, unknown>))
    if (!ok) return `malformed bar ${i} for ${symbol}: ${shown(b)}`
  }
  return out.build()
}

// A `t` that is not a whole millisecond in range (seconds, a price, 1e16) makes the bar malformed.
const fields = (b: Record<string, unknown>) =>
  [isBarTime(b.t) ? b.t : Number.NaN, b.o, b.h, b.l, b.c, b.v, b.n, b.vw] as const

/** A wire value for an error message, at most 120 characters (one nested too deep to print is named so). */
function shown(value: unknown): string {
  try {
    return String(JSON.stringify(value ?? null)).slice(0, 120)
  } catch {
    return "(a value nested too deep to print)"
  }
}

/** A bar start the lake can file under a day: whole milliseconds from 0001-01-01 to 9999-12-31 UTC. */
function isBarTime(ms: unknown): ms is number {
  return Number.isSafeInteger(ms) && (ms as number) >= -62_135_596_800_000 && (ms as number) < 253_402_214_400_000
}

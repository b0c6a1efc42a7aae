/**
 * Alpaca Market Data v2 wire format: page shapes checked with Schema, bars moved into columns in one loop
 * (`t` RFC 3339 UTC, `o h l c vw` numbers, `v` volume, `n` trade count).
 */
import type { BarBatch, BarColumnsSpec, PluginHost, Symbol } from "../../mod.ts"

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

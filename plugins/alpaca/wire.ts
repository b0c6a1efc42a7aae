/**
 * Alpaca Market Data v2 wire format: page shapes checked with Schema, bars moved into columns in one loop
 * (`t` RFC 3339 UTC, `o h l c vw` numbers, `v` volume, `n` trade count). Also the Trading API's asset objects, which
 * name exchanges Alpaca's way (`NASDAQ`, `ARCA`) and carry no dates, market cap or sector.
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

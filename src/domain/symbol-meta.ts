/**
 * What is known about a symbol besides its bars: the record universes are built from. Providers fill what they have;
 * merged records say where each field came from (`sources`), since market caps and sectors differ between sources.
 */
import type { Symbol } from "./symbol.ts"

/**
 * Security types, by Polygon's reference codes (`CS` common stock, `ADRC` ADR common, `PFD` preferred, …); every other
 * source's types are mapped onto these.
 */
export const securityTypes = [
  "CS",
  "ETF",
  "ETN",
  "ETV",
  "FUND",
  "ADRC",
  "ADRP",
  "ADRR",
  "GDR",
  "PFD",
  "WARRANT",
  "RIGHT",
  "UNIT",
  "BOND",
  "SP",
  "OS",
  "OTHER"
] as const
export type SecurityType = (typeof securityTypes)[number]

export interface SymbolMeta {
  readonly symbol: Symbol
  readonly name?: string
  /** Listing exchange, as its MIC where the source gives one (`XNAS`, `XNYS`, `ARCX`, `BATS`, `XASE`, `IEXG`). */
  readonly exchange?: string
  readonly active?: boolean
  readonly type?: SecurityType
  readonly sector?: string
  readonly industry?: string
  /** Standard Industrial Classification code, as text (`3571`). */
  readonly sic?: string
  readonly marketCap?: number
  readonly sharesOutstanding?: number
  /** Average daily share volume over the source's window. */
  readonly avgVolume?: number
  readonly lastClose?: number
  readonly currency?: string
  /** `YYYY-MM-DD`. */
  readonly listDate?: string
  readonly delistDate?: string
  /** Where the record (or most of it) came from, and when that source said so (`YYYY-MM-DD`). */
  readonly source?: string
  readonly asOf?: string
  /** Per field, the source it came from when records were merged. */
  readonly sources?: Readonly<Partial<Record<MetaField, string>>>
}

/** The fields a filter or a merge can speak of. */
export type MetaField = Exclude<keyof SymbolMeta, "symbol" | "source" | "asOf" | "sources">

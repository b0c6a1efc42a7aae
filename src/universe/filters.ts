/**
 * `filters.yml`: which symbols a universe holds, as predicates on `SymbolMeta`, then an order and a size. Versioned
 * like the config (`filters_version: 1`, `schemas/filters.v1.json` generated from this Schema). A symbol that lacks
 * a field a filter speaks of does not pass that filter: an unknown market cap is not above $2B.
 */
import { Schema } from "effect"
import { type SecurityType, type SymbolMeta, securityTypes } from "../domain/symbol-meta.ts"

export const CURRENT_FILTERS_VERSION = 1

const Amount = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0, { expected: "a number of 0 or more" }))

/** `min` and/or `max`, both inclusive; `min` may not be above `max`. */
const Range = Schema.Struct({ min: Schema.optionalKey(Amount), max: Schema.optionalKey(Amount) }).check(
  Schema.makeFilter((r) =>
    r.min !== undefined && r.max !== undefined && r.min > r.max
      ? { path: ["min"], issue: `min ${r.min} is above max ${r.max}` }
      : undefined
  )
)

const Names = Schema.Array(Schema.String.check(Schema.isMinLength(1, { expected: "a non-empty name" })))

/** Kept when its value is one of `in` (if given) and none of `not_in`; compared without regard to case. */
const OneOf = Schema.Struct({ in: Schema.optionalKey(Names), not_in: Schema.optionalKey(Names) })

const Ticker = Schema.String.check(
  Schema.isPattern(/^[A-Z][A-Z0-9.-]{0,14}$/u, { expected: "a ticker like AAPL or BRK.B (upper case)" })
)

const Pattern = Schema.String.check(
  Schema.makeFilter((s) => {
    try {
      new RegExp(s, "u")
      return undefined
    } catch (e) {
      return `not a regular expression: ${(e as Error).message}`
    }
  })
)

export const FiltersV1 = Schema.Struct({
  filters_version: Schema.optionalKey(Schema.Literal(CURRENT_FILTERS_VERSION)),
  /** US dollars. */
  market_cap: Schema.optionalKey(Range),
  /** Average daily share volume over `days` trading days (default 20). */
  volume: Schema.optionalKey(
    Schema.Struct({
      min: Amount,
      days: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 260 })))
    })
  ),
  /** Last close, US dollars. */
  price: Schema.optionalKey(Range),
  sector: Schema.optionalKey(OneOf),
  industry: Schema.optionalKey(OneOf),
  /** Listing exchanges by MIC (`XNAS`, `XNYS`, `ARCX`, …). */
  exchange: Schema.optionalKey(Names),
  type: Schema.optionalKey(Schema.Array(Schema.Literals(securityTypes))),
  active: Schema.optionalKey(Schema.Boolean),
  /** Always in (if the source knows them), and never in, whatever the other filters say. */
  include: Schema.optionalKey(Schema.Array(Ticker)),
  exclude: Schema.optionalKey(Schema.Array(Ticker)),
  /** A regular expression the ticker must match (`^[A-Z]{1,4}$`: no share classes). */
  pattern: Schema.optionalKey(Pattern),
  sort: Schema.optionalKey(
    Schema.Struct({
      by: Schema.Literals(["market_cap", "volume", "symbol"]),
      order: Schema.optionalKey(Schema.Literals(["desc", "asc"]))
    })
  ),
  /** The first N after sorting (default order: `symbol` ascending). */
  limit: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0)))
})
export type FiltersV1 = typeof FiltersV1.Type

const lower = (s: string) => s.toLowerCase()

/** Whether `value` passes an `in` / `not_in` filter; an unknown value passes none that names an `in` list. */
function oneOf(filter: typeof OneOf.Type | undefined, value: string | undefined): boolean {
  if (filter === undefined) return true
  const v = value === undefined ? undefined : lower(value)
  if (filter.in !== undefined && (v === undefined || !filter.in.map(lower).includes(v))) return false
  if (filter.not_in !== undefined && v !== undefined && filter.not_in.map(lower).includes(v)) return false
  return true
}

const inRange = (range: typeof Range.Type | undefined, value: number | undefined): boolean =>
  range === undefined ||
  (value !== undefined &&
    Number.isFinite(value) &&
    (range.min === undefined || value >= range.min) &&
    (range.max === undefined || value <= range.max))

/**
 * The filters `meta` fails, by key (`market_cap`, `sector`, …), in the file's order of keys: empty when it passes.
 * `include`, `exclude`, `sort` and `limit` are not predicates and never appear.
 */
export function failedFilters(filters: FiltersV1, meta: SymbolMeta): Array<keyof FiltersV1> {
  const failed: Array<keyof FiltersV1> = []
  if (!inRange(filters.market_cap, meta.marketCap)) failed.push("market_cap")
  if (filters.volume !== undefined && !((meta.avgVolume ?? Number.NaN) >= filters.volume.min)) failed.push("volume")
  if (!inRange(filters.price, meta.lastClose)) failed.push("price")
  if (!oneOf(filters.sector, meta.sector)) failed.push("sector")
  if (!oneOf(filters.industry, meta.industry)) failed.push("industry")
  if (filters.exchange !== undefined && !oneOf({ in: filters.exchange }, meta.exchange)) failed.push("exchange")
  if (filters.type !== undefined && (meta.type === undefined || !filters.type.includes(meta.type as SecurityType)))
    failed.push("type")
  if (filters.active !== undefined && (meta.active ?? true) !== filters.active) failed.push("active")
  if (filters.pattern !== undefined && !new RegExp(filters.pattern, "u").test(meta.symbol)) failed.push("pattern")
  return failed
}

/** Whether `meta` passes every predicate of `filters`. */
export const passes = (filters: FiltersV1, meta: SymbolMeta): boolean => failedFilters(filters, meta).length === 0

const sortValue = (by: "market_cap" | "volume", m: SymbolMeta) => (by === "market_cap" ? m.marketCap : m.avgVolume)

/**
 * The universe `filters` pick from `known`: what passes, plus `include` (those `known` has), minus `exclude`, sorted
 * (`sort`; symbols without the sort field last, ties by ticker) and cut to `limit`.
 */
export function selectSymbols(filters: FiltersV1, known: ReadonlyArray<SymbolMeta>): Array<SymbolMeta> {
  const include = new Set<string>(filters.include ?? [])
  const exclude = new Set<string>(filters.exclude ?? [])
  const picked = known.filter((m) => !exclude.has(m.symbol) && (include.has(m.symbol) || passes(filters, m)))
  const by = filters.sort?.by ?? "symbol"
  const sign = (filters.sort?.order ?? (by === "symbol" ? "asc" : "desc")) === "asc" ? 1 : -1
  picked.sort((a, b) => {
    if (by !== "symbol") {
      const [x, y] = [sortValue(by, a), sortValue(by, b)]
      if (x === undefined || y === undefined) {
        if (x !== y) return x === undefined ? 1 : -1
      } else if (x !== y) return sign * (x - y)
      return a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0
    }
    return sign * (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0)
  })
  return filters.limit === undefined ? picked : picked.slice(0, filters.limit)
}

/** Every object in a JSON Schema closed to other keys, as decoding is (`onExcessProperty: "error"`). */
const closed = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(closed)
  if (node === null || typeof node !== "object") return node
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(node)) out[k] = closed(v)
  if (out.type === "object" && "properties" in out) out.additionalProperties = false
  return out
}

/** The JSON Schema editors get for `filters.yml`, checked in as `schemas/filters.v1.json`. */
export const filtersV1JsonSchema = (): unknown => {
  const doc = Schema.toJsonSchemaDocument(FiltersV1)
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: "https://marketpipe.dev/schemas/filters.v1.json",
    title: "MarketPipe universe filters v1",
    ...(closed(doc.schema) as Record<string, unknown>),
    $defs: closed(doc.definitions)
  }
}

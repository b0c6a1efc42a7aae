/** What a plugin's `SymbolMeta` must look like, for the reference conformance suite and the reference fuzz. */
import type { SymbolMeta } from "../../mod.ts"
import { parseSymbol } from "../../src/domain/symbol.ts"
import { securityTypes } from "../../src/domain/symbol-meta.ts"

const day = /^\d{4}-\d{2}-\d{2}$/u

/**
 * What is wrong with one record a plugin listed, or nothing: a valid ticker, Polygon's type codes, MICs, dates as
 * YYYY-MM-DD, no empty, negative or non-finite fields, and no `source`/`asOf`/`sources` of its own (the host sets them).
 */
export function malformedMeta(m: SymbolMeta): string | undefined {
  if (parseSymbol(m.symbol) !== m.symbol) return `ticker ${JSON.stringify(m.symbol)}`
  for (const [k, v] of Object.entries(m)) {
    if (v === undefined || v === "" || (typeof v === "number" && !(Number.isFinite(v) && v >= 0))) return `${k}=${v}`
    if (typeof v === "string" && v.trim() !== v) return `${k} not trimmed`
  }
  if (m.type !== undefined && !securityTypes.includes(m.type)) return `type ${m.type}`
  if (m.exchange !== undefined && !/^[A-Z0-9]{4}$/u.test(m.exchange)) return `exchange ${m.exchange}`
  if (m.active !== undefined && typeof m.active !== "boolean") return `active ${String(m.active)}`
  for (const d of [m.listDate, m.delistDate]) if (d !== undefined && !day.test(d)) return `date ${d}`
  if (m.source !== undefined || m.asOf !== undefined || m.sources !== undefined) return "source/asOf set by the plugin"
  return undefined
}

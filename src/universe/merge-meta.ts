/**
 * What was known about the market on a date, from the snapshots sources gave over time. For each source, its newest
 * snapshot on or before the date says which symbols it listed then: a symbol missing from it had left that source's
 * list (delisted, renamed). Fields are merged in a fixed precedence of sources, richest reference data first, and
 * `sources` says which source each field came from. A symbol listed later than the date, or delisted by it, is out.
 */
import type { MetaField, SymbolMeta } from "../domain/symbol-meta.ts"

/** Which source's value of a field wins when several have one; sources not named here come after, by name. */
export const SOURCE_PRECEDENCE: ReadonlyArray<string> = ["polygon", "finnhub", "alpaca", "nasdaqtrader"]

export interface SnapshotRow {
  readonly source: string
  /** `YYYY-MM-DD`. */
  readonly asOf: string
  readonly meta: SymbolMeta
}

const rank = (source: string) => {
  const i = SOURCE_PRECEDENCE.indexOf(source)
  return i < 0 ? SOURCE_PRECEDENCE.length : i
}

const bySource = (a: string, b: string) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0)

/** The merged metadata of every symbol listed on `date`, by ticker. */
export function metadataAsOf(rows: ReadonlyArray<SnapshotRow>, date: string): Array<SymbolMeta> {
  return mergedAsOf(rows, date).filter(
    (meta) =>
      !(meta.listDate !== undefined && meta.listDate > date) &&
      !(meta.delistDate !== undefined && meta.delistDate <= date)
  )
}

/**
 * Every symbol the sources' newest snapshots on or before `date` name, merged, by ticker: those listed then, and
 * those a source already said were delisted (or not yet listed), which `metadataAsOf` leaves out.
 */
export function mergedAsOf(rows: ReadonlyArray<SnapshotRow>, date: string): Array<SymbolMeta> {
  // Each source's newest snapshot on or before the date, and its rows.
  const newest = new Map<string, string>()
  for (const r of rows) if (r.asOf <= date && r.asOf > (newest.get(r.source) ?? "")) newest.set(r.source, r.asOf)
  const perSymbol = new Map<string, Array<SnapshotRow>>()
  for (const r of rows) {
    if (newest.get(r.source) !== r.asOf) continue
    const list = perSymbol.get(r.meta.symbol) ?? []
    list.push(r)
    perSymbol.set(r.meta.symbol, list)
  }
  const out: Array<SymbolMeta> = []
  for (const [, list] of [...perSymbol].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    list.sort((a, b) => bySource(a.source, b.source))
    const merged: Record<string, unknown> = { symbol: list[0]?.meta.symbol }
    const sources: Partial<Record<MetaField, string>> = {}
    for (const row of list) {
      for (const [field, value] of Object.entries(row.meta)) {
        if (field === "symbol" || field === "source" || field === "asOf" || field === "sources") continue
        if (value === undefined || field in merged) continue
        merged[field] = value
        sources[field as MetaField] = row.source
      }
    }
    const meta = {
      ...merged,
      source: list[0]?.source,
      asOf: list
        .map((r) => r.asOf)
        .sort()
        .at(-1),
      sources
    } as SymbolMeta
    out.push(meta)
  }
  return out
}

/**
 * Members with the delisting days sources have reported since: a universe as of a past day names symbols that were
 * trading then, and a backfill over later days must not ask for days after they stopped.
 */
export function withLaterDelistings(
  members: ReadonlyArray<SymbolMeta>,
  rows: ReadonlyArray<SnapshotRow>
): Array<SymbolMeta> {
  const delisted = new Map<string, string>()
  for (const r of rows) {
    const day = r.meta.delistDate
    if (day !== undefined && day < (delisted.get(r.meta.symbol) ?? "9999-12-31")) delisted.set(r.meta.symbol, day)
  }
  return members.map((m) => {
    const day = delisted.get(m.symbol)
    return m.delistDate !== undefined || day === undefined ? m : { ...m, delistDate: day }
  })
}

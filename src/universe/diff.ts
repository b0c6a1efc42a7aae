/**
 * What one universe adds to another and drops from it, and why: a symbol B drops had been delisted by B's date, was
 * not listed by any source then, or fails B's filters (named by key) on what was known then; one B adds, the same
 * against A. Without metadata of a side's date, its filters are tried on the other side's record.
 */

import { Schema } from "effect"
import type { SymbolMeta } from "../domain/symbol-meta.ts"
import { FiltersV1, failedFilters } from "./filters.ts"

export interface DiffEntry {
  readonly symbol: string
  readonly why: string
}

export interface UniverseDiff {
  readonly added: ReadonlyArray<DiffEntry>
  readonly removed: ReadonlyArray<DiffEntry>
  readonly kept: number
}

export interface Side {
  readonly filters: unknown
  readonly memberList: ReadonlyArray<SymbolMeta>
  readonly asOf?: string | undefined
  /** What the sources said about each symbol as of `asOf` (`mergedAsOf`), delisted ones included. */
  readonly known?: ReadonlyMap<string, SymbolMeta> | undefined
}

const filtersOf = (side: Side) => Schema.decodeUnknownOption(FiltersV1)(side.filters)

/** Why the side's date rules the symbol out, from what was known then; empty when it does not. */
function notListed(side: Side, symbol: string, label: string): string {
  if (side.asOf === undefined || side.known === undefined) return ""
  const then = side.known.get(symbol)
  if (then === undefined) return `not listed by any source as of ${label}'s ${side.asOf}`
  if (then.delistDate !== undefined && then.delistDate <= side.asOf) return `delisted ${then.delistDate}`
  if (then.listDate !== undefined && then.listDate > side.asOf)
    return `listed ${then.listDate}, after ${label}'s ${side.asOf}`
  return ""
}

/** Why `side` leaves out `meta`, in words; empty when it says nothing. */
function whyNot(side: Side, meta: SymbolMeta, label: string): string {
  const unlisted = notListed(side, meta.symbol, label)
  if (unlisted !== "") return unlisted
  const filters = filtersOf(side)
  if (filters._tag === "None") return ""
  if (filters.value.exclude?.includes(meta.symbol) === true) return `${label} excludes it`
  const failed = failedFilters(filters.value, side.known?.get(meta.symbol) ?? meta)
  if (failed.length > 0) return `fails ${label}'s ${failed.join(", ")}`
  return `outside ${label}'s sort and limit, or unknown to its metadata`
}

export function universeDiff(a: Side, b: Side): UniverseDiff {
  const inA = new Map(a.memberList.map((m) => [m.symbol as string, m]))
  const inB = new Map(b.memberList.map((m) => [m.symbol as string, m]))
  const added = b.memberList
    .filter((m) => !inA.has(m.symbol))
    .map((m) => ({ symbol: m.symbol as string, why: whyNot(a, m, "A") }))
  const removed = a.memberList
    .filter((m) => !inB.has(m.symbol))
    .map((m) => ({ symbol: m.symbol as string, why: whyNot(b, m, "B") }))
  return { added, removed, kept: a.memberList.filter((m) => inB.has(m.symbol)).length }
}

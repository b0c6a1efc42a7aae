/**
 * What one universe adds to another and drops from it. "Why" comes from the filters a universe was built with: a
 * symbol dropped by B fails B's filters (named by key), or was not in what B was built from; one B adds failed A's.
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

interface Side {
  readonly filters: unknown
  readonly memberList: ReadonlyArray<SymbolMeta>
}

const filtersOf = (side: Side) => Schema.decodeUnknownOption(FiltersV1)(side.filters)

/** Why `side` (built with filters) leaves out `meta`, in words; empty when it says nothing. */
function whyNot(side: Side, meta: SymbolMeta, label: string): string {
  const filters = filtersOf(side)
  if (filters._tag === "None") return ""
  if (filters.value.exclude?.includes(meta.symbol) === true) return `${label} excludes it`
  const failed = failedFilters(filters.value, meta)
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

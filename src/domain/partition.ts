/**
 * Partition keys. The unit of work and of the ledger is (frame, symbol, trading day); where a partition's bars are
 * stored (the file of its month or year) is the lake's business (`lake/layout.ts`).
 */

import { dayFromNumber, newYorkDayOf, newYorkDayStart, type TradingDay } from "./calendar.ts"
import type { Symbol } from "./symbol.ts"
import type { Timeframe } from "./timeframe.ts"

export interface PartitionKey {
  readonly frame: Timeframe
  readonly symbol: Symbol
  readonly day: TradingDay
}

/** The New York trading day a bar start belongs to. */
export const tradingDayOf = (utcMs: number): TradingDay => dayFromNumber(newYorkDayOf(utcMs))

/**
 * Splits row indexes of a time-sorted column by trading day, in order. The day's UTC bounds are computed once per run
 * of rows and each row is only compared with them: date maths per row was a seventh of an ingest's CPU. Unsorted
 * input gives the same runs as a per-row lookup would (a row outside the bounds starts a new run).
 */
export function splitByDay(ts: Float64Array): Array<{ day: TradingDay; from: number; to: number }> {
  const out: Array<{ day: TradingDay; from: number; to: number }> = []
  let i = 0
  while (i < ts.length) {
    const n = newYorkDayOf(ts[i] as number)
    const from = newYorkDayStart(n)
    const to = newYorkDayStart(n + 1)
    let j = i + 1
    while (j < ts.length && (ts[j] as number) >= from && (ts[j] as number) < to) j++
    out.push({ day: dayFromNumber(n), from: i, to: j })
    i = j
  }
  return out
}

/**
 * Partition keys. The unit of work and of the ledger is (frame, symbol, trading day); where a partition's bars are
 * stored (the file of its month or year) is the lake's business (`lake/layout.ts`).
 */

import { dayFromNumber, newYorkDayOf, type TradingDay } from "./calendar.ts"
import type { Symbol } from "./symbol.ts"
import type { Timeframe } from "./timeframe.ts"

export interface PartitionKey {
  readonly frame: Timeframe
  readonly symbol: Symbol
  readonly day: TradingDay
}

/** The New York trading day a bar start belongs to. */
export const tradingDayOf = (utcMs: number): TradingDay => dayFromNumber(newYorkDayOf(utcMs))

/** Splits row indexes of a time-sorted column by trading day, in order. */
export function splitByDay(ts: Float64Array): Array<{ day: TradingDay; from: number; to: number }> {
  const out: Array<{ day: TradingDay; from: number; to: number }> = []
  let i = 0
  while (i < ts.length) {
    const day = tradingDayOf(ts[i] as number)
    let j = i + 1
    while (j < ts.length && tradingDayOf(ts[j] as number) === day) j++
    out.push({ day, from: i, to: j })
    i = j
  }
  return out
}

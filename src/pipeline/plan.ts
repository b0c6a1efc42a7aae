/**
 * Splits an ingest into units of work: one provider request and one file write per (symbol, file period). A unit
 * owns whole files, so concurrent units never write the same file.
 */
import type { SessionKind, TradingCalendar, TradingDay } from "../domain/calendar.ts"
import { filePeriod } from "../domain/partition.ts"
import type { Symbol } from "../domain/symbol.ts"
import type { Timeframe } from "../domain/timeframe.ts"

export interface WorkUnit {
  readonly symbol: Symbol
  readonly frame: Timeframe
  readonly period: string
  readonly days: ReadonlyArray<TradingDay>
  /** Request window: first session open to last session close (UTC ms, end exclusive). */
  readonly start: number
  readonly end: number
}

export function planUnits(input: {
  readonly calendar: TradingCalendar
  readonly symbols: ReadonlyArray<Symbol>
  readonly days: ReadonlyArray<TradingDay>
  readonly frame: Timeframe
  readonly session: SessionKind
}): Array<WorkUnit> {
  const periods = new Map<string, Array<TradingDay>>()
  for (const day of input.days) {
    const key = filePeriod(input.frame, day)
    const list = periods.get(key) ?? []
    list.push(day)
    periods.set(key, list)
  }
  const units: Array<WorkUnit> = []
  for (const symbol of input.symbols) {
    for (const [period, days] of periods) {
      const first = input.calendar.session(days[0] as string, input.session)
      const last = input.calendar.session(days[days.length - 1] as string, input.session)
      if (first === undefined || last === undefined) continue
      units.push({ symbol, frame: input.frame, period, days, start: first.open, end: last.close })
    }
  }
  return units
}

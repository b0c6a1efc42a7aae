/**
 * What a unit asks of a provider and what it keeps of the answer: the bars of its days inside the session asked (and
 * the strays the validation reports), one batch per symbol, and the halves a failed request is split into.
 */
import type { BarBatch } from "../domain/bar.ts"
import { concatBatches, selectRows } from "../domain/bar.ts"
import type { SessionKind, TradingCalendar, TradingDay } from "../domain/calendar.ts"
import { appendTo } from "../domain/group.ts"
import { splitByDay } from "../domain/partition.ts"
import type { Symbol } from "../domain/symbol.ts"
import { type Timeframe, timeframeMinutes } from "../domain/timeframe.ts"
import type { WorkUnit } from "./plan.ts"

/** Bars must start on their frame's grid; session-anchored frames above 30m start on half hours (09:30, 13:30). */
export const alignmentMs = (frame: Timeframe) => Math.min(timeframeMinutes(frame), frame === "1d" ? 1 : 30) * 60_000

/**
 * Sorts out what a provider sent for a unit. Bars of the unit's days that overlap the requested session stay (overlap,
 * not containment, so a clock-aligned 09:00 hourly or a midnight-stamped daily bar counts); pre- and post-market bars
 * of those days were simply not asked for and are dropped; bars on other trading days belong to other units. What is
 * left — bars outside every session of their day, or on a day the market was closed — stays, so the
 * `outside_session` rule can quarantine and report it.
 */
export function withinRequest(
  batch: BarBatch,
  calendar: TradingCalendar,
  unit: { readonly days: ReadonlyArray<string>; readonly start: number; readonly end: number },
  session: SessionKind,
  frameMs: number
): BarBatch {
  const days = new Set(unit.days)
  const rows: Array<number> = []
  for (const part of splitByDay(batch.ts)) {
    const requested = days.has(part.day) ? calendar.session(part.day, session) : undefined
    const extended = calendar.session(part.day, "extended")
    for (let i = part.from; i < part.to; i++) {
      const ts = batch.ts[i] as number
      if (requested !== undefined) {
        const inRequested = ts < requested.close && ts + frameMs > requested.open
        const inExtended = extended !== undefined && ts >= extended.open && ts < extended.close
        if (inRequested || !inExtended) rows.push(i)
      } else if (extended === undefined && ts >= unit.start && ts < unit.end) rows.push(i)
    }
  }
  return rows.length === batch.ts.length ? batch : selectRows(batch, rows)
}

/**
 * Two smaller units covering `u`: by symbols first, then by days (unless the error is about the symbol itself);
 * `undefined` when there is nothing left to split.
 */
export function splitUnit(
  u: WorkUnit,
  calendar: TradingCalendar,
  session: SessionKind,
  bySymbolOnly: boolean
): ReadonlyArray<WorkUnit> | undefined {
  const share = (symbols: ReadonlyArray<Symbol>, days: ReadonlyArray<TradingDay>) =>
    (u.expectedBars * symbols.length * days.length) / (u.symbols.length * u.days.length)
  if (u.symbols.length > 1) {
    const mid = Math.ceil(u.symbols.length / 2)
    return [u.symbols.slice(0, mid), u.symbols.slice(mid)].map((symbols) => ({
      ...u,
      symbols,
      expectedBars: share(symbols, u.days)
    }))
  }
  if (u.days.length > 1 && !bySymbolOnly) {
    const mid = Math.ceil(u.days.length / 2)
    return [u.days.slice(0, mid), u.days.slice(mid)].map((days) => ({
      ...u,
      days,
      start: calendar.session(days[0] as string, session)?.open ?? u.start,
      end: calendar.session(days[days.length - 1] as string, session)?.close ?? u.end,
      expectedBars: share(u.symbols, days)
    }))
  }
  return undefined
}

/**
 * A unit's fetched bars as one batch per symbol, made before anything waits: the provider's pieces (often one per
 * symbol-day) die young instead of surviving every collection while the unit's symbols are written one by one, and
 * memory held by the units in flight is what sets the size the heap grows to between full collections.
 */
export function barsBySymbol(symbols: ReadonlyArray<Symbol>, batches: Iterable<BarBatch>): Map<string, BarBatch> {
  const parts = new Map<string, Array<BarBatch>>()
  for (const b of batches) appendTo(parts, b.symbol as string, b)
  return new Map(symbols.map((symbol) => [symbol as string, concatBatches(symbol, parts.get(symbol) ?? [])]))
}

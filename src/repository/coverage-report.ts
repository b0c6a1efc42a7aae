/**
 * The ledger as a user reads it: per symbol, how many trading days in a range are complete, partial (minutes with
 * no trade), empty (provider had nothing), invalid (every bar rejected) or missing (never fetched, or failed), and
 * how many bars that is against what the calendar expects.
 */
import type { TradingCalendar } from "../domain/calendar.ts"
import type { CoverageRecord, CoverageStatus } from "./model.ts"

export interface SymbolCoverage {
  readonly symbol: string
  readonly tradingDays: number
  readonly counts: Readonly<Record<CoverageStatus, number>>
  readonly observedBars: number
  readonly expectedBars: number
}

export interface CoverageReport {
  readonly from: string
  readonly to: string
  readonly frame: string
  readonly symbols: ReadonlyArray<SymbolCoverage>
  readonly totals: Omit<SymbolCoverage, "symbol">
}

const zero = (): Record<CoverageStatus, number> => ({ complete: 0, partial: 0, empty: 0, missing: 0, invalid: 0 })

export function coverageReport(input: {
  readonly calendar: TradingCalendar
  readonly records: ReadonlyArray<CoverageRecord>
  readonly symbols: ReadonlyArray<string>
  readonly frame: string
  readonly minutes: number
  readonly session: "regular" | "extended"
  readonly from: string
  readonly to: string
}): CoverageReport {
  const days = input.calendar.tradingDays(input.from, input.to)
  const bySymbol = new Map<string, Map<string, CoverageRecord>>()
  for (const r of input.records) {
    const m = bySymbol.get(r.symbol) ?? new Map<string, CoverageRecord>()
    m.set(r.day, r)
    bySymbol.set(r.symbol, m)
  }
  const symbols = input.symbols.length > 0 ? input.symbols : [...bySymbol.keys()].sort()
  const rows = symbols.map((symbol): SymbolCoverage => {
    const counts = zero()
    let observedBars = 0
    let expectedBars = 0
    const have = bySymbol.get(symbol)
    for (const day of days) {
      const r = have?.get(day)
      counts[r?.status ?? "missing"]++
      observedBars += r?.observed ?? 0
      expectedBars += input.calendar.expectedBars(day, input.session, input.minutes)
    }
    return { symbol, tradingDays: days.length, counts, observedBars, expectedBars }
  })
  const totals = { tradingDays: days.length * rows.length, counts: zero(), observedBars: 0, expectedBars: 0 }
  for (const r of rows) {
    for (const k of Object.keys(totals.counts) as Array<CoverageStatus>) totals.counts[k] += r.counts[k]
    totals.observedBars += r.observedBars
    totals.expectedBars += r.expectedBars
  }
  return { from: input.from, to: input.to, frame: input.frame, symbols: rows, totals }
}

/**
 * Planning: calendar × symbols × range − what the ledger already has → units of work. A unit is one provider
 * request chain for a few symbols over a run of consecutive trading days inside one file period, so it writes whole
 * days of files no other unit touches. Symbols are grouped so that a unit's bars fill about one provider page
 * (Alpaca: many symbols and 10,000 bars a request) while memory stays bounded.
 */
import type { SessionKind, TradingCalendar, TradingDay } from "../domain/calendar.ts"
import { UsageError } from "../domain/errors.ts"
import type { Symbol } from "../domain/symbol.ts"
import { type Timeframe, timeframeMinutes } from "../domain/timeframe.ts"
import { filePeriod } from "../lake/layout.ts"

export interface WorkUnit {
  readonly symbols: ReadonlyArray<Symbol>
  readonly frame: Timeframe
  readonly period: string
  /** Consecutive trading days, all in `period`. */
  readonly days: ReadonlyArray<TradingDay>
  /** Request window: first session open to last session close (UTC ms, end exclusive). */
  readonly start: number
  readonly end: number
  /** Bars a complete session holds, summed over symbols and days. */
  readonly expectedBars: number
}

export interface PlanInput {
  readonly calendar: TradingCalendar
  readonly symbols: ReadonlyArray<Symbol>
  readonly from: string
  readonly to: string
  readonly frame: Timeframe
  readonly session: SessionKind
  readonly maxBarsPerRequest: number
  readonly maxSymbolsPerRequest: number
  /** True when the ledger already covers (symbol, day) and it need not be fetched again. */
  readonly covered?: (symbol: string, day: string) => boolean
  /**
   * False for a day the symbol was not listed (before its listing, from its delisting on: a point-in-time
   * universe's members): such a day is neither fetched nor counted.
   */
  readonly listed?: (symbol: string, day: string) => boolean
  /** UTC ms; a day whose session has not closed yet is left out (its bars are not final). */
  readonly now?: number
}

export interface Plan {
  readonly units: ReadonlyArray<WorkUnit>
  readonly tradingDays: number
  /** Partitions (symbol-days) to fetch. */
  readonly partitions: number
  /** Partitions the ledger already covers. */
  readonly covered: number
  /** Days left out because their session is still open (or in the future). */
  readonly notClosed: ReadonlyArray<TradingDay>
  readonly expectedBars: number
  /** Provider requests the plan needs at least (pages of `maxBarsPerRequest`). */
  readonly requests: number
}

/** A unit never holds more than this many bars in memory, whatever a provider allows per request. */
export const UNIT_BAR_CAP = 50_000

export function planWork(input: PlanInput): Plan {
  const { calendar, frame, session } = input
  const minutes = timeframeMinutes(frame)
  const all = calendar.tradingDays(input.from, input.to)
  const notClosed = all.filter((d) => input.now !== undefined && (calendar.session(d, session)?.close ?? 0) > input.now)
  const days = all.filter((d) => !notClosed.includes(d))
  const expected = new Map(days.map((d) => [d as string, calendar.expectedBars(d, session, minutes)]))

  // Runs of consecutive days (within one file period) that a symbol still needs, keyed by their extent.
  const runs = new Map<string, { days: Array<TradingDay>; symbols: Array<Symbol> }>()
  let covered = 0
  for (const symbol of input.symbols) {
    let run: Array<TradingDay> = []
    const close = () => {
      if (run.length === 0) return
      const key = `${run[0]}|${run[run.length - 1]}`
      const entry = runs.get(key) ?? { days: run, symbols: [] }
      entry.symbols.push(symbol)
      runs.set(key, entry)
      run = []
    }
    for (const day of days) {
      if (input.listed?.(symbol, day) === false) {
        close()
        continue
      }
      if (input.covered?.(symbol, day) === true) {
        covered++
        close()
        continue
      }
      const last = run[run.length - 1]
      if (last !== undefined && filePeriod(frame, last) !== filePeriod(frame, day)) close()
      run.push(day)
    }
    close()
  }

  const units: Array<WorkUnit> = []
  for (const { days: runDays, symbols } of [...runs.values()].sort((a, b) =>
    (a.days[0] ?? "").localeCompare(b.days[0] ?? "")
  )) {
    const first = calendar.session(runDays[0] as string, session)
    const last = calendar.session(runDays[runDays.length - 1] as string, session)
    if (first === undefined || last === undefined) continue
    const perSymbol = runDays.reduce((n, d) => n + (expected.get(d) ?? 0), 0)
    // Symbols share a request while their bars fill about one provider page (short windows: a daily update of many
    // symbols); long windows go one symbol per chain. Measured: grouping month windows six at a time saved no request
    // and cost 80 MB of peak memory and 10% of wall time under the quota (BENCHMARKS.md).
    const budget = Math.min(input.maxBarsPerRequest, UNIT_BAR_CAP)
    const size = Math.max(1, Math.min(input.maxSymbolsPerRequest, Math.floor(budget / Math.max(perSymbol, 1))))
    for (let i = 0; i < symbols.length; i += size) {
      const group = symbols.slice(i, i + size)
      units.push({
        symbols: group,
        frame,
        period: filePeriod(frame, runDays[0] as string),
        days: runDays,
        start: first.open,
        end: last.close,
        expectedBars: perSymbol * group.length
      })
    }
  }
  return {
    units,
    tradingDays: days.length,
    partitions: units.reduce((n, u) => n + u.symbols.length * u.days.length, 0),
    covered,
    notClosed,
    expectedBars: units.reduce((n, u) => n + u.expectedBars, 0),
    requests: units.reduce((n, u) => n + Math.max(1, Math.ceil(u.expectedBars / input.maxBarsPerRequest)), 0)
  }
}

/** Plans bigger than this need confirming (`--yes`): 100 symbols over eight years, say. A dry run shows any plan. */
export const PLAN_CONFIRM_PARTITIONS = 200_000

/**
 * Refuses a plan of more than `limit` partitions, before anything is recorded: a typo in a date or a universe should
 * not start a run of years. The reason says how big it is and how to go ahead.
 */
export function checkPlanSize(plan: Plan, symbols: number, limit: number = PLAN_CONFIRM_PARTITIONS): void {
  if (plan.partitions <= limit) return
  const n = (x: number) => x.toLocaleString("en")
  throw new UsageError({
    field: "--yes",
    reason: `this run would fetch ${n(plan.partitions)} partitions (${n(symbols)} symbol(s) over ${n(plan.tradingDays)} trading day(s)), more than ${n(limit)} at once; pass --yes to go ahead, or --dry-run to see the plan first`
  })
}

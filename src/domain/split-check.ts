/**
 * Split checks on raw bars, day over day: the first open of a trading day against the last close of the trading day
 * before it. A jump that matches a common split ratio with no split on record is a `suspected_split` (the provider
 * split the stock and nobody told us); a recorded split whose jump is not in the raw bars is a `split_mismatch` (the
 * bars arrived already adjusted). Both are warnings: the bars stay, the report says what to look at. Pure.
 */
import type { BarBatch } from "./bar.ts"
import { type SplitAction, splitRatio } from "./corporate-action.ts"
import { splitByDay } from "./partition.ts"
import type { Finding } from "./validation.ts"

export const splitRules = ["suspected_split", "split_mismatch"] as const
export type SplitRule = (typeof splitRules)[number]

/** One trading day of one symbol, as the check sees it. */
export interface DayEdge {
  readonly day: string
  /** The first bar's start and open, the last bar's close. */
  readonly firstTs: number
  readonly open: number
  readonly high: number
  readonly low: number
  readonly close: number
  readonly volume: number
}

export interface SplitFinding {
  readonly rule: SplitRule
  readonly day: string
  /** The first bar of the day, where the jump shows. */
  readonly bar: DayEdge
  /** The price ratio (new shares per old) the jump matches, or the recorded split's. */
  readonly ratio: number
  /** The day's open over the previous day's close. */
  readonly jump: number
  readonly detail: string
}

/** Ratios of the splits companies do (and their reverses): 2-for-1 … 20-for-1, and 3-for-2. */
const COMMON_RATIOS = [2, 3, 4, 5, 8, 10, 15, 20, 3 / 2].flatMap((r) => [r, 1 / r])

/**
 * How far (in log terms) a jump may land from 1 / ratio and still be that split: a fifth of the split's own size for
 * a halving or more (an overnight move on top of a 1-for-10 reverse split still reads as one, a 30% move never
 * reaches a 2-for-1), and 3% for a 3-for-2, which an ordinary 30-50% move would otherwise look like.
 */
const toleranceOf = (ratio: number) =>
  Math.abs(Math.log(ratio)) >= Math.log(2) ? 0.2 * Math.abs(Math.log(ratio)) : Math.log(1.03)

const distance = (jump: number, ratio: number) => Math.abs(Math.log(jump * ratio))

const near = (jump: number, ratio: number) => distance(jump, ratio) <= toleranceOf(ratio)

/** The common ratio a jump is closest to, when it is close enough to count. */
const matchingRatio = (jump: number): number | undefined => {
  const best = [...COMMON_RATIOS].sort((a, b) => distance(jump, a) - distance(jump, b))[0]
  return best !== undefined && near(jump, best) ? best : undefined
}

/** "4-for-1" or "1-for-10". */
export const ratioText = (r: number): string => {
  const [a, b] = r >= 1 ? [r, 1] : [1, 1 / r]
  const round = (x: number) => Math.round(x * 1000) / 1000
  if (Number.isInteger(round(a)) && Number.isInteger(round(b))) return `${round(a)}-for-${round(b)}`
  return r === 3 / 2
    ? "3-for-2"
    : r === 2 / 3
      ? "2-for-3"
      : r === 5 / 4
        ? "5-for-4"
        : r === 4 / 5
          ? "4-for-5"
          : `${round(r)}:1`
}

/**
 * The split findings over consecutive trading days (`days` sorted, each the day after the one before it in the
 * calendar: the caller leaves out pairs with a gap), given the splits on record for the symbol.
 */
export function splitFindings(days: ReadonlyArray<DayEdge>, splits: ReadonlyArray<SplitAction>): Array<SplitFinding> {
  const recorded = new Map(splits.map((s) => [s.exDate, s]))
  const out: Array<SplitFinding> = []
  for (let i = 1; i < days.length; i++) {
    const [before, day] = [days[i - 1] as DayEdge, days[i] as DayEdge]
    if (!(before.close > 0) || !(day.open > 0)) continue
    const jump = day.open / before.close
    const split = recorded.get(day.day)
    const shown = Math.round(jump * 10_000) / 10_000
    if (split !== undefined) {
      const r = splitRatio(split)
      if (!near(jump, r)) {
        out.push({
          rule: "split_mismatch",
          day: day.day,
          bar: day,
          ratio: r,
          jump,
          detail: `a ${ratioText(r)} split is on record for ${day.day}, but the open over the previous close is ${shown}, not about ${Math.round((1 / r) * 10_000) / 10_000}: the bars look already adjusted`
        })
      }
      continue
    }
    const ratio = matchingRatio(jump)
    if (ratio !== undefined) {
      out.push({
        rule: "suspected_split",
        day: day.day,
        bar: day,
        ratio,
        jump,
        detail: `the open over the previous close is ${shown}, as a ${ratioText(ratio)} split would make it, and no split is on record (marketpipe actions refresh)`
      })
    }
  }
  return out
}

/** Each trading day's edge in a time-sorted batch of one symbol: its first bar's open, its last bar's close. */
export function dayEdges(batch: BarBatch): Array<DayEdge> {
  return splitByDay(batch.ts)
    .filter((p) => p.to > p.from)
    .map((p) => ({
      day: p.day,
      firstTs: batch.ts[p.from] as number,
      open: batch.open[p.from] as number,
      high: batch.high[p.from] as number,
      low: batch.low[p.from] as number,
      close: batch.close[p.to - 1] as number,
      volume: batch.volume[p.from] as number
    }))
}

/** `edges` cut where a trading day is missing between two of them (`previous` gives the trading day before a day). */
export function consecutiveRuns(
  edges: ReadonlyArray<DayEdge>,
  previous: (day: string) => string | undefined
): Array<Array<DayEdge>> {
  const runs: Array<Array<DayEdge>> = []
  for (const e of edges) {
    const run = runs.at(-1)
    const last = run?.at(-1)
    if (run !== undefined && last !== undefined && previous(e.day) === last.day) run.push(e)
    else runs.push([e])
  }
  return runs
}

/** The findings as the validation report lists them: warnings on the day's first bar. */
export const splitFindingsOf = (symbol: string, found: ReadonlyArray<SplitFinding>): Array<Finding> =>
  found.map((f) => ({
    symbol,
    ts: f.bar.firstTs,
    rule: f.rule,
    severity: "warning",
    detail: f.detail,
    open: f.bar.open,
    high: f.bar.high,
    low: f.bar.low,
    close: f.bar.close,
    volume: f.bar.volume
  }))

/** Every split finding of a symbol's batch, the days with a trading day missing between them left unpaired. */
export function checkSplits(
  batch: BarBatch,
  splits: ReadonlyArray<SplitAction>,
  previous: (day: string) => string | undefined
): Array<Finding> {
  const runs = consecutiveRuns(dayEdges(batch), previous)
  return splitFindingsOf(
    batch.symbol,
    runs.flatMap((run) => splitFindings(run, splits))
  )
}

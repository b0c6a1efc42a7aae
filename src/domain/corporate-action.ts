/**
 * Corporate actions and the adjustment factors they give. The lake keeps bars as the provider sent them, unadjusted
 * (`raw`); adjusted prices are computed when reading, from the actions known at the time asked.
 *
 * Factors are backward: a bar is adjusted by every action whose ex-date comes after the bar's trading day.
 * - A split of `from` old shares into `to` new ones (4-for-1: from 1, to 4; a 1-for-10 reverse split: from 10, to 1)
 *   has the ratio r = to / from. Bars before its ex-date have prices divided by r and volume multiplied by r.
 * - A cash dividend of amount D has the factor 1 − D / C, C the raw close of the last trading day before its
 *   ex-date. Bars before the ex-date have prices multiplied by that factor (volume stays).
 * Factors multiply across actions: the cumulative split ratio of a day is the product of the ratios of all splits
 * with a later ex-date, and likewise the dividend factor. Pure: no I/O.
 */
import type { Symbol } from "./symbol.ts"

export interface SplitAction {
  readonly kind: "split"
  readonly symbol: Symbol
  /** The first trading day on the new basis (`YYYY-MM-DD`). */
  readonly exDate: string
  /** Old shares … */
  readonly from: number
  /** … become this many new ones. */
  readonly to: number
}

export interface DividendAction {
  readonly kind: "dividend"
  readonly symbol: Symbol
  /** The first trading day the stock trades without the dividend. */
  readonly exDate: string
  /** Cash per share, in `currency`. */
  readonly amount: number
  readonly currency: string
  readonly recordDate?: string | undefined
  readonly payDate?: string | undefined
  /** A one-off payment rather than a regular one. */
  readonly special: boolean
}

export type CorporateAction = SplitAction | DividendAction

/** The actions' identity across refreshes and sources: one split or dividend per symbol and ex-date. */
export const actionKey = (a: CorporateAction): string => `${a.symbol}|${a.kind}|${a.exDate}`

/**
 * One action per symbol, kind and ex-date when several sources report it: the one first seen (what an as-of read
 * would have known first).
 */
export function distinctActions<A extends CorporateAction & { readonly firstSeenAt: string }>(
  actions: ReadonlyArray<A>
): Array<A> {
  const first = new Map<string, A>()
  for (const a of actions) {
    const seen = first.get(actionKey(a))
    if (seen === undefined || a.firstSeenAt < seen.firstSeenAt) first.set(actionKey(a), a)
  }
  return [...first.values()]
}

/** A split's price ratio r = to / from (> 1 for a forward split). */
export const splitRatio = (s: SplitAction): number => s.to / s.from

export type AdjustMode = "none" | "split" | "all"

/** Cumulative factors over the days before `until` (exclusive) and on or after the previous segment's end. */
export interface FactorSegment {
  readonly symbol: Symbol
  /** First trading day the factors apply to (inclusive); `undefined`: from the beginning. */
  readonly from: string | undefined
  /** The day they stop applying (exclusive): the ex-date of the action closest after. */
  readonly until: string
  /** Prices are divided by it and volume multiplied. */
  readonly split: number
  /** Prices are multiplied by it (1 unless dividends are applied). */
  readonly dividend: number
}

/**
 * The factor segments of one symbol's actions under `mode`: for each stretch of days between ex-dates, the
 * cumulative split ratio and dividend factor of every later action. Days on or after the last ex-date need no
 * adjustment and get no segment. `closeBefore(exDate)` is the raw close of the last trading day before it; a
 * dividend without one cannot be applied and is returned in `unpriced` (the caller says so).
 */
export function factorSegments(
  symbol: Symbol,
  actions: ReadonlyArray<CorporateAction>,
  mode: AdjustMode,
  closeBefore: (exDate: string) => number | undefined
): { readonly segments: ReadonlyArray<FactorSegment>; readonly unpriced: ReadonlyArray<DividendAction> } {
  if (mode === "none") return { segments: [], unpriced: [] }
  const used = actions.filter((a) => a.symbol === symbol && (a.kind === "split" || mode === "all"))
  const exDates = [...new Set(used.map((a) => a.exDate))].sort()
  const unpriced: Array<DividendAction> = []
  const stepOf = new Map<string, { split: number; dividend: number }>()
  for (const a of used) {
    const step = stepOf.get(a.exDate) ?? { split: 1, dividend: 1 }
    if (a.kind === "split") step.split *= splitRatio(a)
    else {
      const close = closeBefore(a.exDate)
      if (close === undefined || !(close > 0)) unpriced.push(a)
      else step.dividend *= 1 - a.amount / close
    }
    stepOf.set(a.exDate, step)
  }
  // From the last ex-date backwards, each earlier stretch takes the product of every step after it.
  const segments: Array<FactorSegment> = []
  let [split, dividend] = [1, 1]
  for (let i = exDates.length - 1; i >= 0; i--) {
    const until = exDates[i] as string
    const step = stepOf.get(until) ?? { split: 1, dividend: 1 }
    split *= step.split
    dividend *= step.dividend
    segments.unshift({ symbol, from: exDates[i - 1], until, split, dividend })
  }
  return { segments, unpriced }
}

/** The factors a bar of `day` takes from `segments` (sorted by `until`); 1 and 1 when none applies. */
export function factorsOn(
  segments: ReadonlyArray<FactorSegment>,
  day: string
): { readonly split: number; readonly dividend: number } {
  for (const s of segments) if (day < s.until && (s.from === undefined || day >= s.from)) return s
  return { split: 1, dividend: 1 }
}

/**
 * The comparison behind `reconcile`: one symbol's bars from two sources, side A and side B, paired by bar start and
 * every difference classified. Pure (no I/O, no clock): `sources.ts` brings the bars, `report.ts` and `html.ts`
 * write what this finds, and the command counts it.
 *
 * - Bars of both sides with the same start are compared: `price` when any of open, high, low or close differs by more
 *   than the price tolerance, `volume` when the volumes do by more than the volume tolerance (one pair can be both).
 * - A bar only one side has, whose neighbour one frame step later (or earlier) exists only on the other side and
 *   matches it on all four prices, is one `shift`: the same bar, stamped a step apart.
 * - Every other bar only A has is `missing_b`; only B has, `missing_a`.
 *
 * Relative differences are `|x - y| / max(|x|, |y|)`: symmetric, 0 for equal values, 1 when one of them is 0.
 */
import type { BarBatch } from "../domain/bar.ts"

export const differenceClasses = ["missing_a", "missing_b", "price", "volume", "shift"] as const
export type DifferenceClass = (typeof differenceClasses)[number]

/** The classes `--fail-on` takes: `missing` stands for both missing classes. */
export const failOnChoices = ["missing", "missing_a", "missing_b", "price", "volume", "shift"] as const
export type FailOnChoice = (typeof failOnChoices)[number]

/** The difference classes a `--fail-on` choice stands for. */
export const classesOf = (choice: FailOnChoice): ReadonlyArray<DifferenceClass> =>
  choice === "missing" ? ["missing_a", "missing_b"] : [choice]

export interface BarValues {
  readonly ts: number
  readonly open: number
  readonly high: number
  readonly low: number
  readonly close: number
  readonly volume: number
}

export interface RelativeDifferences {
  readonly open: number
  readonly high: number
  readonly low: number
  readonly close: number
  readonly volume: number
}

export interface Difference {
  readonly symbol: string
  readonly class: DifferenceClass
  /** A's bar start; B's for `missing_a`. */
  readonly ts: number
  /** A's bar (absent for `missing_a`). */
  readonly a: BarValues | undefined
  /** B's bar (absent for `missing_b`); for a `shift`, one frame step from `ts`. */
  readonly b: BarValues | undefined
  /** Between the two bars, when both exist. */
  readonly relative: RelativeDifferences | undefined
}

export interface CompareOptions {
  /** Largest relative difference of a price that is still the same price. */
  readonly priceTolerance: number
  /** Largest relative difference of the volumes that is still the same volume. */
  readonly volumeTolerance: number
  /** One frame step in ms: how far apart the two starts of a shifted bar are. */
  readonly stepMs: number
}

export type ClassCounts = Record<DifferenceClass, number>

/** `|x - y| / max(|x|, |y|)`; 0 when equal, NaN when either is NaN. */
export function relativeDifference(x: number, y: number): number {
  if (x === y) return 0
  return Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y))
}

/** Beyond the tolerance; a NaN difference (a value missing) always is. */
const beyond = (relative: number, tolerance: number): boolean => !(relative <= tolerance)

const barAt = (batch: BarBatch, i: number): BarValues => ({
  ts: batch.ts[i] as number,
  open: batch.open[i] as number,
  high: batch.high[i] as number,
  low: batch.low[i] as number,
  close: batch.close[i] as number,
  volume: batch.volume[i] as number
})

const relativeOf = (a: BarValues, b: BarValues): RelativeDifferences => ({
  open: relativeDifference(a.open, b.open),
  high: relativeDifference(a.high, b.high),
  low: relativeDifference(a.low, b.low),
  close: relativeDifference(a.close, b.close),
  volume: relativeDifference(a.volume, b.volume)
})

const pricesDiffer = (r: RelativeDifferences, tolerance: number): boolean =>
  beyond(r.open, tolerance) || beyond(r.high, tolerance) || beyond(r.low, tolerance) || beyond(r.close, tolerance)

/**
 * The bar only B has one step after `barA` (a source stamping bars by their end), else one step before, that matches
 * it on all four prices.
 */
function shiftedPartner(
  barA: BarValues,
  b: BarBatch,
  onlyB: ReadonlyMap<number, number>,
  options: CompareOptions
): BarValues | undefined {
  for (const ts of [barA.ts + options.stepMs, barA.ts - options.stepMs]) {
    const k = onlyB.get(ts)
    if (k === undefined) continue
    const candidate = barAt(b, k)
    if (!pricesDiffer(relativeOf(barA, candidate), options.priceTolerance)) return candidate
  }
  return undefined
}

const classOrder = new Map(differenceClasses.map((c, i) => [c, i]))

/**
 * Every difference between A's and B's bars of `symbol`, by bar start (then class). Each side must be sorted by `ts`
 * with no start twice (`sources.ts` makes it so).
 */
export function compareBars(
  symbol: string,
  a: BarBatch,
  b: BarBatch,
  options: CompareOptions
): ReadonlyArray<Difference> {
  const out: Array<Difference> = []
  const onlyA: Array<number> = []
  const onlyB = new Map<number, number>()
  let i = 0
  let j = 0
  while (i < a.ts.length || j < b.ts.length) {
    const ta = i < a.ts.length ? (a.ts[i] as number) : Number.POSITIVE_INFINITY
    const tb = j < b.ts.length ? (b.ts[j] as number) : Number.POSITIVE_INFINITY
    if (ta < tb) onlyA.push(i++)
    else if (tb < ta) onlyB.set(tb, j++)
    else {
      const barA = barAt(a, i++)
      const barB = barAt(b, j++)
      const relative = relativeOf(barA, barB)
      const pair = { symbol, ts: barA.ts, a: barA, b: barB, relative }
      if (pricesDiffer(relative, options.priceTolerance)) out.push({ ...pair, class: "price" })
      if (beyond(relative.volume, options.volumeTolerance)) out.push({ ...pair, class: "volume" })
    }
  }
  for (const index of onlyA) {
    const barA = barAt(a, index)
    const match = shiftedPartner(barA, b, onlyB, options)
    if (match === undefined) {
      out.push({ symbol, class: "missing_b", ts: barA.ts, a: barA, b: undefined, relative: undefined })
      continue
    }
    onlyB.delete(match.ts)
    out.push({ symbol, class: "shift", ts: barA.ts, a: barA, b: match, relative: relativeOf(barA, match) })
  }
  for (const k of onlyB.values()) {
    const barB = barAt(b, k)
    out.push({ symbol, class: "missing_a", ts: barB.ts, a: undefined, b: barB, relative: undefined })
  }
  return out.sort((x, y) => x.ts - y.ts || (classOrder.get(x.class) ?? 0) - (classOrder.get(y.class) ?? 0))
}

/** How many differences of each class (every class present, at zero when none). */
export function countByClass(differences: Iterable<Difference>): ClassCounts {
  const counts: ClassCounts = { missing_a: 0, missing_b: 0, price: 0, volume: 0, shift: 0 }
  for (const d of differences) counts[d.class]++
  return counts
}

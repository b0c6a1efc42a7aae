/**
 * Adjusted reads: a loaded raw frame's prices and volume adjusted in place with the factors of the corporate actions
 * known at the read's `asOf` (`domain/corporate-action.ts` has the arithmetic). Actions reported by several sources
 * count once (per symbol, kind and ex-date, as the source that reported it first). A dividend's factor needs the raw
 * close before its ex-date: the lake's daily bar, else its last minute bar; a dividend the lake has no such close
 * for is an error naming it, never silently left out.
 */
import { Effect } from "effect"
import { addDays } from "../../domain/calendar.ts"
import {
  type AdjustMode,
  type CorporateAction,
  distinctActions,
  type FactorSegment,
  factorSegments,
  factorsOn
} from "../../domain/corporate-action.ts"
import { type StorageError, UsageError } from "../../domain/errors.ts"
import { splitByDay } from "../../domain/partition.ts"
import type { Symbol } from "../../domain/symbol.ts"
import type { Timeframe } from "../../domain/timeframe.ts"
import type { OhlcvFrame } from "./frame.ts"
import type { OhlcvColumn, Resolved } from "./options.ts"
import type { LoadRepository } from "./repository.ts"

/** A raw frame of closes, as the adjustment reads them back from the lake. */
export type LoadCloses = (
  symbol: string,
  timeframe: Timeframe,
  start: string,
  end: string
) => Effect.Effect<OhlcvFrame<"close">, UsageError | StorageError>

/** The raw close of the last trading day before each ex-date, from the lake (daily bars, else minute bars). */
const closesBefore = (symbol: string, exDates: ReadonlyArray<string>, load: LoadCloses) =>
  Effect.gen(function* () {
    const out = new Map<string, number>()
    if (exDates.length === 0) return out
    // Two weeks back from the first ex-date covers any run of holidays before it.
    const start = addDays(exDates[0] as string, -14)
    const end = exDates[exDates.length - 1] as string
    for (const timeframe of ["1d", "1m"] as const) {
      const frame = yield* load(symbol, timeframe, start, end)
      const days = splitByDay(frame.ts)
      for (const ex of exDates) {
        if (out.has(ex)) continue
        const before = days.filter((d) => d.day < ex).at(-1)
        if (before !== undefined) out.set(ex, frame.close[before.to - 1] as number)
      }
      if (out.size === exDates.length) break
    }
    return out
  })

const PRICES = ["open", "high", "low", "close", "vwap"] as const

/**
 * The factor segments of one symbol under `mode` (`domain/corporate-action.ts`), the dividends priced with the lake's
 * closes; a dividend the lake has no close before is an error naming it, never silently left out.
 */
export const symbolSegments = (
  symbol: string,
  actions: ReadonlyArray<CorporateAction>,
  mode: AdjustMode,
  load: LoadCloses
): Effect.Effect<ReadonlyArray<FactorSegment>, UsageError | StorageError> =>
  Effect.gen(function* () {
    const mine = actions.filter((a) => a.symbol === symbol)
    if (mine.length === 0 || mode === "none") return []
    const dividendDates = [...new Set(mine.filter((a) => a.kind === "dividend").map((a) => a.exDate))].sort()
    const closes = mode === "all" ? yield* closesBefore(symbol, dividendDates, load) : new Map<string, number>()
    const { segments, unpriced } = factorSegments(symbol as Symbol, mine, mode, (ex) => closes.get(ex))
    const missing = unpriced[0]
    if (missing !== undefined) {
      return yield* new UsageError({
        field: "adjust",
        reason: `the ${missing.symbol} dividend of ${missing.exDate} needs the close before it, which the lake does not hold; backfill the days before it or adjust for splits only`
      })
    }
    return segments
  })

/** Adjusts `frame` in place by `r.adjust`, with the actions known at `r.asOf`. */
export const adjustFrame = <C extends OhlcvColumn>(
  r: Resolved<C>,
  frame: OhlcvFrame<C>,
  repository: LoadRepository,
  load: LoadCloses
): Effect.Effect<void, UsageError | StorageError> =>
  Effect.gen(function* () {
    const asOf = r.asOf === undefined ? undefined : new Date(r.asOf).toISOString()
    const actions = distinctActions(yield* repository.actions(r.symbols, asOf))
    const columns = frame as unknown as Record<string, Float64Array | undefined>
    for (const segment of frame.segments) {
      const segments = yield* symbolSegments(segment.symbol, actions, r.adjust, load)
      if (segments.length === 0) continue
      for (const part of splitByDay(frame.ts.subarray(segment.from, segment.to))) {
        const { split, dividend } = factorsOn(segments, part.day)
        if (split === 1 && dividend === 1) continue
        const [from, to] = [segment.from + part.from, segment.from + part.to]
        for (const c of PRICES) {
          const values = columns[c]
          if (values !== undefined)
            for (let i = from; i < to; i++) values[i] = ((values[i] as number) / split) * dividend
        }
        const volume = columns.volume
        if (volume !== undefined) for (let i = from; i < to; i++) volume[i] = (volume[i] as number) * split
      }
    }
  })

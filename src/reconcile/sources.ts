/**
 * Where `reconcile` takes each side's bars from. The lake, for the days it holds that side's provider and feed: the
 * ledger claims the day (`complete`, `partial` or `empty`, for the session asked or a wider one) and every row of the
 * day in the file carries that provider and feed. The provider, for every other day: fetched through its plugin into
 * memory in the units an ingest would use (one symbol, runs of days inside a file period, the plugin's request
 * limits, the same retries), and written nowhere. Either way a side's bars are those of the window's days that
 * overlap the requested session, sorted by start with no start twice (a repeated start keeps its first bar).
 */
import { Effect, Stream } from "effect"
import { type BarBatch, concatBatches, selectRows } from "../domain/bar.ts"
import type { SessionKind, TradingCalendar, TradingDay } from "../domain/calendar.ts"
import type { ProviderError, StorageError, UsageError } from "../domain/errors.ts"
import { groupBy } from "../domain/group.ts"
import { splitByDay } from "../domain/partition.ts"
import type { Symbol } from "../domain/symbol.ts"
import { type Timeframe, timeframeMinutes } from "../domain/timeframe.ts"
import { filePeriod } from "../lake/layout.ts"
import { ParquetSink } from "../lake/parquet-sink.ts"
import { planWork } from "../pipeline/plan.ts"
import type { ResolvedProvider } from "../pipeline/provider-choice.ts"
import type { ProviderClient } from "../providers/contract.ts"
import { retrySchedule } from "../providers/kit/retry.ts"
import type { CoverageRecord, CoverageStatus } from "../repository/model.ts"

/** What both sides are read over. */
export interface ReconcileWindow {
  readonly calendar: TradingCalendar
  readonly frame: Timeframe
  readonly session: SessionKind
  /** The trading days compared (their sessions have closed), ascending. */
  readonly days: ReadonlyArray<TradingDay>
}

/** One side of the comparison. */
export interface Source<R> {
  readonly resolved: ResolvedProvider
  /** The plugin's client, connected the first time a day must be fetched (a side the lake serves needs no key). */
  readonly client: Effect.Effect<ProviderClient, UsageError, R>
}

/** One side's bars of one symbol, and where each day came from. */
export interface SideBars {
  readonly bars: BarBatch
  readonly lakeDays: ReadonlyArray<TradingDay>
  readonly fetchedDays: ReadonlyArray<TradingDay>
}

/** Ledger statuses whose day the lake holds as the provider gave it (`invalid` days lack the bars quarantined). */
const heldStatuses: ReadonlySet<CoverageStatus> = new Set(["complete", "partial", "empty"])

/** A plugin failing with a retryable error is asked again under the kit's policy, as an ingest's unit is. */
const unitRetry = retrySchedule({ baseMs: 250, retries: 4, jitter: { min: 0.8, max: 1.2 } })

/**
 * The days the ledger says the lake holds from `source` for each symbol, with their status: `{symbol: {day: status}}`.
 * Bars of the extended session include the regular one, so they serve a regular-session comparison too.
 */
export function ledgerClaims(
  coverage: ReadonlyArray<CoverageRecord>,
  source: { readonly provider: string; readonly feed: string },
  session: SessionKind
): ReadonlyMap<string, ReadonlyMap<string, CoverageStatus>> {
  const out = new Map<string, Map<string, CoverageStatus>>()
  for (const r of coverage) {
    if (r.provider !== source.provider || r.feed !== source.feed || !heldStatuses.has(r.status)) continue
    if (r.session !== session && !(session === "regular" && r.session === "extended")) continue
    const days = out.get(r.symbol) ?? new Map<string, CoverageStatus>()
    days.set(r.day, r.status)
    out.set(r.symbol, days)
  }
  return out
}

/** Whether a bar starting at `ts` overlaps the requested session of `day` (so a midnight-stamped daily bar counts). */
const inSession = (window: ReconcileWindow, day: string) => {
  const session = window.calendar.session(day, window.session)
  const frameMs = timeframeMinutes(window.frame) * 60_000
  return (ts: number) => session !== undefined && ts < session.close && ts + frameMs > session.open
}

/** The rows of `batch` on `days` inside the session, as one batch. */
function keepDays(batch: BarBatch, days: ReadonlySet<string>, window: ReconcileWindow): BarBatch {
  const rows: Array<number> = []
  for (const part of splitByDay(batch.ts)) {
    if (!days.has(part.day)) continue
    const inside = inSession(window, part.day)
    for (let i = part.from; i < part.to; i++) if (inside(batch.ts[i] as number)) rows.push(i)
  }
  return rows.length === batch.ts.length ? batch : selectRows(batch, rows)
}

/** Sorted by start, the first of each start kept. */
export function sortedUnique(batch: BarBatch): BarBatch {
  let ordered = true
  for (let i = 1; i < batch.ts.length && ordered; i++) ordered = (batch.ts[i] as number) > (batch.ts[i - 1] as number)
  if (ordered) return batch
  const order = Array.from({ length: batch.ts.length }, (_, i) => i).sort(
    (x, y) => (batch.ts[x] as number) - (batch.ts[y] as number) || x - y
  )
  return selectRows(
    batch,
    order.filter((row, k) => k === 0 || batch.ts[row] !== batch.ts[order[k - 1] as number])
  )
}

/**
 * The lake's bars of `symbol` on the days the ledger claims for `source`, read a file period at a time; a claimed
 * day is served only when the file backs it (its rows all carry the provider and feed, or it is `empty` and the file
 * has none), so the others are fetched instead.
 */
const fromLake = (
  symbol: Symbol,
  claims: ReadonlyMap<string, CoverageStatus>,
  source: { readonly provider: string; readonly feed: string },
  window: ReconcileWindow
) =>
  Effect.gen(function* () {
    const sink = yield* ParquetSink
    const claimed = window.days.filter((d) => claims.has(d))
    const parts: Array<BarBatch> = []
    const served: Array<TradingDay> = []
    for (const [period, days] of groupBy(claimed, (d) => filePeriod(window.frame, d))) {
      const file = yield* sink.readFile({ frame: window.frame, symbol, period })
      const rowsOf = new Map(file === undefined ? [] : splitByDay(file.batch.ts).map((p) => [p.day as string, p]))
      const backed = new Set<string>()
      for (const day of days) {
        const part = rowsOf.get(day)
        if (part === undefined) {
          if (claims.get(day) === "empty") backed.add(day)
          continue
        }
        let ours = true
        for (let i = part.from; i < part.to && ours; i++) {
          ours = file?.provider[i] === source.provider && file.feed[i] === source.feed
        }
        if (ours) backed.add(day)
      }
      for (const day of days) if (backed.has(day)) served.push(day)
      if (file !== undefined && backed.size > 0) parts.push(keepDays(file.batch, backed, window))
    }
    return { parts, served }
  })

/** The provider's bars of `symbol` on `days`, fetched in plan units (none when `days` is empty). */
const fromProvider = <R>(
  symbol: Symbol,
  days: ReadonlyArray<TradingDay>,
  source: Source<R>,
  window: ReconcileWindow
): Effect.Effect<ReadonlyArray<BarBatch>, ProviderError | UsageError, R> =>
  Effect.gen(function* () {
    if (days.length === 0) return []
    const { resolved } = source
    const wanted = new Set<string>(days)
    const plan = planWork({
      calendar: window.calendar,
      symbols: [symbol],
      from: days[0] as string,
      to: days[days.length - 1] as string,
      frame: window.frame,
      session: window.session,
      maxBarsPerRequest: resolved.plugin.capabilities.maxBarsPerRequest,
      maxSymbolsPerRequest: resolved.plugin.capabilities.maxSymbolsPerRequest,
      covered: (_, day) => !wanted.has(day)
    })
    const client = yield* source.client
    const fetched = yield* Effect.forEach(
      plan.units,
      (u) =>
        Stream.runCollect(
          client.bars({
            symbols: u.symbols,
            frame: u.frame,
            start: u.start,
            end: u.end,
            feed: resolved.feed,
            adjustment: resolved.adjustment,
            session: window.session
          })
        ).pipe(
          Effect.retry({ schedule: unitRetry, while: (e) => e.retryable }),
          Effect.map((batches) =>
            Array.from(batches)
              .filter((b) => b.symbol === symbol)
              .map((b) => keepDays(b, new Set(u.days), window))
          )
        ),
      { concurrency: resolved.concurrency }
    )
    return fetched.flat()
  })

/** One side's bars of `symbol` over the window: the lake's where it holds them, the provider's for the rest. */
export const sideBars = <R>(
  symbol: Symbol,
  source: Source<R>,
  claims: ReadonlyMap<string, CoverageStatus>,
  window: ReconcileWindow
): Effect.Effect<SideBars, StorageError | ProviderError | UsageError, R | ParquetSink> =>
  Effect.gen(function* () {
    const name = { provider: source.resolved.plugin.name, feed: source.resolved.feed }
    const lake = yield* fromLake(symbol, claims, name, window)
    const fromLakeDays = new Set<string>(lake.served)
    const fetchedDays = window.days.filter((d) => !fromLakeDays.has(d))
    const fetched = yield* fromProvider(symbol, fetchedDays, source, window)
    return {
      bars: sortedUnique(concatBatches(symbol, [...lake.parts, ...fetched])),
      lakeDays: lake.served,
      fetchedDays
    }
  })

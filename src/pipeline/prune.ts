/**
 * `prune`: the lake's bars and the repository's history past their retention. Lake files go through the sink like any
 * write (under the file's lock, atomically), with the ledger rows of the removed days dropped before the bars go and
 * again under the lock after, so the ledger never claims a bar the lake no longer holds. `jobs cleanup` removes old
 * jobs of chosen states the same way `prune db` removes history.
 */
import { Effect } from "effect"
import type { Timeframe } from "../domain/timeframe.ts"
import { ParquetSink } from "../lake/parquet-sink.ts"
import { clearing, type FilePrune, measuredSize, type PruneTarget, planPrune, sizeNow } from "../lake/prune.ts"
import { HistoryRetention } from "../repository/history-retention.ts"
import { Ledger } from "../repository/ledger.ts"
import type { JobState } from "../repository/model.ts"

export interface FramePruned {
  readonly frame: Timeframe
  readonly cutoff: string
  readonly filesRemoved: number
  readonly filesRewritten: number
  readonly bars: number
  /** Bytes the lake shrinks by. */
  readonly bytes: number
}

const refsOf = (p: FilePrune) => p.days.map((day) => ({ frame: p.key.frame, symbol: p.key.symbol, day }))

/** One file pruned (or, dry, measured): the bytes it frees. */
const pruneFile = (p: FilePrune, dryRun: boolean) =>
  Effect.gen(function* () {
    if (dryRun) return p.bytesBefore - (yield* measuredSize(p))
    const [sink, ledger] = [yield* ParquetSink, yield* Ledger]
    yield* ledger.forget(refsOf(p))
    // Days past their retention leave the lake's history too: no version of them is kept for as-of reads.
    yield* sink.writeDays(p.key, clearing(p), p.metadata, () => Effect.asVoid(ledger.forget(refsOf(p))), {
      keepReplaced: false
    })
    return p.bytesBefore - sizeNow(p.path)
  })

/** Prunes the lake per target; the report per frame, in the targets' order. */
export const pruneLake = (dataDir: string, targets: ReadonlyArray<PruneTarget>, dryRun: boolean) =>
  Effect.gen(function* () {
    const plans = yield* planPrune(dataDir, targets)
    const freed = yield* Effect.forEach(plans, (p) => Effect.map(pruneFile(p, dryRun), (bytes) => ({ p, bytes })))
    return targets.map((t): FramePruned => {
      const mine = freed.filter(({ p }) => p.key.frame === t.frame)
      return {
        frame: t.frame,
        cutoff: t.cutoff,
        filesRemoved: mine.filter(({ p }) => p.action === "remove").length,
        filesRewritten: mine.filter(({ p }) => p.action === "rewrite").length,
        bars: mine.reduce((n, { p }) => n + p.bars, 0),
        bytes: mine.reduce((n, { bytes }) => n + bytes, 0)
      }
    })
  })

/** Prunes the repository's history recorded before the day `cutoff` (New York days are close enough here). */
export const pruneHistory = (cutoff: string, dryRun: boolean) =>
  HistoryRetention.use((h) => h.prune(`${cutoff}T00:00:00.000Z`, dryRun))

/**
 * Removes the jobs in one of `states` that finished before the day `cutoff`, with their partitions, work units and
 * validation runs (`jobs cleanup`); the ledger stays.
 */
export const pruneJobs = (cutoff: string, states: ReadonlyArray<Exclude<JobState, "running">>, dryRun: boolean) =>
  HistoryRetention.use((h) => h.pruneJobs(`${cutoff}T00:00:00.000Z`, states, dryRun))

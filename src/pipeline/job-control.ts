/**
 * What `jobs cancel`, `jobs fail` and `jobs retry` do to a recorded job, the same on SQLite and Postgres: ask a run
 * to stop at its next unit boundary, close a job whose process is gone, and plan a new job over the partitions a job
 * left undone. Whether a job's process still runs is judged here (`ownerState`, as recovery does), never in the
 * repository; another host's process cannot be judged from this one.
 */
import { Clock, Effect } from "effect"
import type { TradingDay } from "../domain/calendar.ts"
import { UsageError } from "../domain/errors.ts"
import type { Symbol } from "../domain/symbol.ts"
import { Jobs } from "../repository/jobs.ts"
import type { JobRecord, PartitionRecord } from "../repository/model.ts"
import { WorkQueue } from "../repository/work-queue.ts"
import { ledgerCovers } from "./backfill-plan.ts"
import type { RunContext } from "./context.ts"
import { type ResolvedProvider, requestFor, resolveJobProvider } from "./provider-choice.ts"
import { finishFromPartitions } from "./queue.ts"
import { type OwnerState, ownerState } from "./recovery.ts"

/** What this machine can tell of a job's process; absent for a queued job (its workers hold leases instead). */
export const ownerOf = (job: JobRecord): OwnerState | undefined =>
  job.owner === undefined ? undefined : ownerState(job.owner)

/** A running job whose process on this host is gone: nobody is going to finish it. */
export const isOwnerGone = (job: JobRecord, owner: OwnerState | undefined = ownerOf(job)): boolean =>
  job.state === "running" && owner?.state === "gone"

const refuse = (reason: string) => new UsageError({ field: "ID", reason })

const existing = (id: number) =>
  Effect.flatMap(
    Jobs.use((jobs) => jobs.get(id)),
    (job) =>
      job === undefined
        ? Effect.fail(refuse(`no job with id ${id}; see \`marketpipe jobs list\``))
        : Effect.succeed(job)
  )

const alreadyFinished = (job: JobRecord) => refuse(`job ${job.id} already finished (${job.state})`)

/** Why a running job may not be touched as if it were dead (someone may still run it), `advice` saying what to do. */
const stillRun = (job: JobRecord, advice: string): UsageError | undefined => {
  const owner = ownerOf(job)
  if (owner === undefined) return refuse(`job ${job.id} is queued: workers run its units under leases; ${advice}`)
  if (owner.state === "alive") return refuse(`job ${job.id} is running in pid ${owner.pid}; ${advice}`)
  if (owner.state === "elsewhere") {
    return refuse(
      `job ${job.id} is running on host ${owner.host}, whose processes cannot be checked from here; run this on ${owner.host}`
    )
  }
  return undefined
}

export interface Cancelled {
  /** The job as it is now: still `running` unless it was closed at once. */
  readonly job: JobRecord
  /**
   * `next-unit`: its live run stops after the units in flight; `after-running-units`: workers finish the units they
   * hold, and the last one closes the job; `now`: nobody was running it, so it is closed already.
   */
  readonly stops: "next-unit" | "after-running-units" | "now"
  readonly owner: OwnerState | undefined
  /** Queued units that will not run (failed with error `cancelled`). */
  readonly unitsCancelled: number
  /** Units workers hold, which finish (and keep their partitions). */
  readonly unitsRunning: number
}

/**
 * `jobs cancel`: the job stops at its next unit boundary. A local run checks between units; workers claim none of
 * its units again, and its unclaimed ones fail now. Finished partitions keep their ledger rows; the job ends
 * `cancelled` with the rest left unrun (`jobs retry` runs them).
 */
export const cancelJob = (id: number) =>
  Effect.gen(function* () {
    const [jobs, queue] = [yield* Jobs, yield* WorkQueue]
    const job = yield* existing(id)
    if (job.state !== "running" || !(yield* jobs.requestCancel(id))) {
      return yield* alreadyFinished((yield* jobs.get(id)) ?? job)
    }
    const owner = ownerOf(job)
    const now = (yield* jobs.get(id)) ?? job
    if (owner !== undefined && owner.state !== "gone") {
      return { job: now, stops: "next-unit", owner, unitsCancelled: 0, unitsRunning: 0 } satisfies Cancelled
    }
    const unitsCancelled = yield* queue.cancelUnits(id)
    const { running } = yield* queue.status(id)
    if (running > 0) {
      return {
        job: now,
        stops: "after-running-units",
        owner,
        unitsCancelled,
        unitsRunning: running
      } satisfies Cancelled
    }
    const closed = yield* finishFromPartitions(id)
    return { job: closed, stops: "now", owner, unitsCancelled, unitsRunning: 0 } satisfies Cancelled
  })

/**
 * `jobs fail`: a running job whose process on this host is gone becomes `abandoned` (its unfinished partitions
 * failed), as the next local run's recovery would do. A live run, another host's or a queued job is refused.
 */
export const failJob = (id: number) =>
  Effect.gen(function* () {
    const jobs = yield* Jobs
    const job = yield* existing(id)
    if (job.state !== "running") return yield* alreadyFinished(job)
    const refusal = stillRun(job, "cancel it instead")
    if (refusal !== undefined) return yield* refusal
    if (!(yield* jobs.abandon(id))) return yield* alreadyFinished((yield* jobs.get(id)) ?? job)
    return (yield* jobs.get(id)) ?? job
  })

export interface RetryTarget {
  /** The job retried, as it is now (abandoned first when it was running with its process gone). */
  readonly job: JobRecord
  /** Its partitions not done: failed, or never run (cancelled, interrupted, abandoned). */
  readonly partitions: ReadonlyArray<PartitionRecord>
  /** It was running with its process gone, and is resumed. */
  readonly resumed: boolean
  readonly resolved: ResolvedProvider
}

/**
 * What `jobs retry` redoes: the partitions of an ingest or backfill job that are not done, with the provider settings
 * the job ran with. A job still run by someone is refused; one whose process is gone is closed as abandoned first
 * (after its provider resolved, so a refusal changes nothing).
 */
export const retryTarget = (id: number, ctx: RunContext) =>
  Effect.gen(function* () {
    const jobs = yield* Jobs
    const job = yield* existing(id)
    if (job.kind !== "ingest" && job.kind !== "backfill") {
      return yield* refuse(
        `job ${id} is ${job.kind === "aggregate" ? "an" : "a"} ${job.kind} job; only ingest and backfill jobs are retried`
      )
    }
    if (job.state === "running") {
      const refusal = stillRun(job, `cancel it (\`marketpipe jobs cancel ${id}\`) and retry it once it has stopped`)
      if (refusal !== undefined) return yield* refusal
    }
    const resolved = yield* resolveJobProvider(job, ctx)
    const resumed = job.state === "running" && (yield* jobs.abandon(id))
    const partitions = (yield* jobs.partitions(id)).filter((p) => p.state !== "done")
    return { job: (yield* jobs.get(id)) ?? job, partitions, resumed, resolved } satisfies RetryTarget
  })

/**
 * The request of the new job: the retried job's kind and provider settings over exactly its undone partitions
 * (`listed` keeps every other symbol-day out of the plan), less those the ledger has covered since; and how many of
 * them that leaves to fetch.
 */
export const retryRequest = (ctx: RunContext, target: RetryTarget) =>
  Effect.gen(function* () {
    const symbols = [...new Set(target.partitions.map((p) => p.symbol))] as Array<Symbol>
    const days = target.partitions.map((p) => p.day as string).sort()
    const from = days[0] as TradingDay
    const to = days[days.length - 1] as TradingDay
    const wanted = new Set(target.partitions.map((p) => `${p.symbol}|${p.day}`))
    const covered = yield* ledgerCovers(ctx, {
      frame: target.resolved.frame,
      session: target.resolved.session,
      symbols,
      from,
      to,
      refetch: new Set()
    })
    const request = {
      ...requestFor(target.resolved, ctx),
      kind: target.job.kind,
      symbols,
      from,
      to,
      covered,
      listed: (symbol: string, day: string) => wanted.has(`${symbol}|${day}`),
      now: yield* Clock.currentTimeMillis
    }
    return { request, toFetch: target.partitions.filter((p) => !covered(p.symbol, p.day)).length }
  })

/**
 * The shared work queue: `backfill --enqueue` plans a job into the repository's `work_units`, and any number of
 * `marketpipe worker` processes — on one machine or many, sharing one Postgres and one lake — claim units with leases,
 * process them with the same unit runner as a local run, and renew the lease while they work. A worker that dies
 * stops renewing; its units become claimable when the lease runs out, and another worker redoes them (writes are
 * whole-day atomic replacements, so a redo never duplicates). A job `jobs cancel` stopped has its unclaimed units
 * failed (`WorkQueue.claim`) and is closed `cancelled` once the units being worked on are finished.
 */
import { hostname } from "node:os"
import { Effect, Schedule } from "effect"
import type { ProviderError, RepositoryError, UsageError } from "../domain/errors.ts"
import type { ParquetSink } from "../lake/parquet-sink.ts"
import { Jobs } from "../repository/jobs.ts"
import type { Repository } from "../repository/layer.ts"
import type { JobRecord, QueuedUnit } from "../repository/model.ts"
import { WorkQueue } from "../repository/work-queue.ts"
import { type IngestRequest, planJob } from "./ingest.ts"
import type { WorkUnit } from "./plan.ts"
import { makeUnitRunner } from "./unit-runner.ts"

/** What a unit is, whether planned here or claimed from the queue (which adds its id, job, lease). */
const unitFields = (u: WorkUnit | QueuedUnit): WorkUnit => ({
  symbols: u.symbols,
  frame: u.frame,
  period: u.period,
  days: u.days,
  start: u.start,
  end: u.end,
  expectedBars: u.expectedBars
})

/** Plans a job into the queue without fetching anything. */
export const enqueueIngest = (request: Omit<IngestRequest, "client">) =>
  Effect.gen(function* () {
    const queue = yield* WorkQueue
    // No owner: a queued job belongs to whichever workers take it, not to the process that planned it.
    const { job, units, plan } = yield* planJob(request, undefined)
    yield* queue.enqueue(job.id, units.map(unitFields))
    return { job, plan, units: units.length }
  })

export interface WorkerOptions {
  /** Unique per worker process: `host:pid:random`. */
  readonly holder: string
  readonly leaseMs: number
  readonly pollMs: number
  /** Keep waiting for new work when the queue is empty. */
  readonly follow: boolean
  /** Turns a queued job into what its units need (provider client, calendar, rules). */
  readonly requestFor: (job: JobRecord) => Effect.Effect<IngestRequest, UsageError>
  readonly onClaim?: (unit: QueuedUnit) => Effect.Effect<void>
  readonly onUnit?: (unit: QueuedUnit, outcome: "done" | "failed") => Effect.Effect<void>
}

export const workerHolder = (): string => `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`

/** Closes a job nobody runs in one process (queued, or cancelled) with totals counted from its partitions. */
export const finishFromPartitions = (id: number) =>
  Effect.gen(function* () {
    const jobs = yield* Jobs
    const parts = yield* jobs.partitions(id)
    return yield* jobs.finish(id, {
      partitionsDone: parts.filter((p) => p.state === "done").length,
      partitionsFailed: parts.filter((p) => p.state === "failed").length,
      barsWritten: parts.reduce((n, p) => n + (p.rows ?? 0), 0),
      barsRejected: parts.reduce((n, p) => n + (p.rejected ?? 0), 0)
    })
  })

/** Marks jobs whose units are all finished as finished, with totals from their partitions; returns them. */
const closeDrainedJobs = Effect.gen(function* () {
  const queue = yield* WorkQueue
  const closed: Array<JobRecord> = []
  for (const id of yield* queue.drainedJobs()) closed.push(yield* finishFromPartitions(id))
  return closed
})

export interface WorkerSummary {
  readonly units: number
  readonly failedUnits: number
}

/** Claims and processes units until the queue is drained (or forever with `follow`). */
export const runWorker = (options: WorkerOptions) =>
  Effect.gen(function* () {
    const jobs = yield* Jobs
    const queue = yield* WorkQueue
    const runners = new Map<
      number,
      (
        u: WorkUnit
      ) => Effect.Effect<
        ReadonlyArray<{ readonly failure?: { readonly error: string } | undefined }>,
        ProviderError | RepositoryError,
        Repository | ParquetSink
      >
    >()
    let units = 0
    let failedUnits = 0
    while (true) {
      const unit = yield* queue.claim(options.holder, options.leaseMs)
      if (unit === undefined) {
        yield* closeDrainedJobs
        const status = yield* queue.status()
        // Others still hold leases: wait, since a worker that dies leaves its units to us once the lease runs out.
        if (options.follow || status.running > 0 || status.expired > 0) {
          yield* Effect.sleep(options.pollMs)
          continue
        }
        return { units, failedUnits } satisfies WorkerSummary
      }
      yield* options.onClaim?.(unit) ?? Effect.void
      let runner = runners.get(unit.jobId)
      if (runner === undefined) {
        const job = yield* jobs.get(unit.jobId)
        if (job === undefined) {
          yield* queue.finish(unit.id, options.holder, "failed", "its job no longer exists")
          continue
        }
        runner = yield* makeUnitRunner(yield* options.requestFor(job), job.id)
        runners.set(unit.jobId, runner)
      }
      const renew = queue
        .renew(unit.id, options.holder, options.leaseMs)
        .pipe(Effect.repeat(Schedule.spaced(Math.max(50, Math.floor(options.leaseMs / 3)))), Effect.ignore)
      const outcome = yield* Effect.scoped(
        Effect.gen(function* () {
          yield* Effect.forkScoped(Effect.delay(renew, Math.max(50, Math.floor(options.leaseMs / 3))))
          return yield* (runner as NonNullable<typeof runner>)(unitFields(unit))
        })
      ).pipe(
        // A unit whose partitions failed (recorded as failed, for the next backfill) is a failed unit.
        Effect.map((outcomes) => {
          const failed = outcomes.flatMap((o) => (o.failure === undefined ? [] : [o.failure.error]))
          return failed.length === 0
            ? { state: "done" as const, error: undefined }
            : { state: "failed" as const, error: [...new Set(failed)].join("; ") }
        }),
        Effect.catchTag("ProviderError", (e) =>
          // Fatal (rejected credentials): this worker cannot do any unit of the job; record it and stop.
          queue.finish(unit.id, options.holder, "failed", e.message).pipe(Effect.andThen(Effect.fail(e)))
        )
      )
      yield* queue.finish(unit.id, options.holder, outcome.state, outcome.error)
      units++
      if (outcome.state !== "done") failedUnits++
      yield* options.onUnit?.(unit, outcome.state) ?? Effect.void
      yield* closeDrainedJobs
    }
  })

/**
 * `marketpipe jobs list|show|cancel|fail|retry|cleanup`: what ran, what it wrote and which partitions failed; stopping
 * a run at its next unit, closing one whose process is gone, redoing what a job left undone, and removing old jobs.
 * The decisions are the pipeline's (`pipeline/job-control.ts`); here flags are checked and results printed.
 */
import { Clock, Effect, Option } from "effect"
import { ageCutoff, parseAge } from "../../domain/age.ts"
import { shown, UsageError } from "../../domain/errors.ts"
import { tradingDayOf } from "../../domain/partition.ts"
import { enqueueJob } from "../../pipeline/backfill-plan.ts"
import { readStorageLayer } from "../../pipeline/context.ts"
import { cancelJob, failJob, isOwnerGone, ownerOf, retryRequest, retryTarget } from "../../pipeline/job-control.ts"
import { connectProvider } from "../../pipeline/provider-choice.ts"
import { pruneJobs } from "../../pipeline/prune.ts"
import { Jobs } from "../../repository/jobs.ts"
import { type JobKind, type JobRecord, type JobState, jobKinds, jobStates } from "../../repository/model.ts"
import { WorkQueue } from "../../repository/work-queue.ts"
import { type CommonFlags, checkInput, currentEnvironment, type Environment, loadApp } from "../app.ts"
import { finishRun } from "../job-summary.ts"
import { makeOutput, table } from "../output.ts"

type FinishedState = Exclude<JobState, "running">
const finishedStates = jobStates.filter((s): s is FinishedState => s !== "running")

/** Values of a repeatable flag that also takes comma lists, each one of `allowed`, in order and once each. */
function choices<A extends string>(field: string, given: ReadonlyArray<string>, allowed: ReadonlyArray<A>): Array<A> {
  const out: Array<A> = []
  for (const part of given.flatMap((g) => g.split(",")).map((p) => p.trim())) {
    if (part === "") continue
    if (!(allowed as ReadonlyArray<string>).includes(part)) {
      throw new UsageError({ field, reason: `${shown(part)} is not one of ${allowed.join(", ")}` })
    }
    if (!out.includes(part as A)) out.push(part as A)
  }
  return out
}

/** A job's state as `jobs list` and `jobs show` print it: a running job says what can be told of its process. */
export function stateText(job: JobRecord): string {
  if (job.state !== "running") return job.state
  const owner = ownerOf(job)
  const marks = [
    ...(owner?.state === "gone" ? ["owner gone"] : owner?.state === "elsewhere" ? [`owner on ${owner.host}`] : []),
    ...(job.cancelRequestedAt === undefined ? [] : ["cancelling"])
  ]
  return marks.length === 0 ? "running" : `running (${marks.join(", ")})`
}

/** Partitions a finished job never ran (cancelled, interrupted, failed outright). */
const notRun = (job: JobRecord) =>
  job.state === "running" ? 0 : job.partitionsTotal - job.partitionsDone - job.partitionsFailed

export const jobsListMain = (
  flags: CommonFlags & {
    readonly limit: number
    readonly states?: ReadonlyArray<string>
    readonly kinds?: ReadonlyArray<string>
  },
  environment: Environment = currentEnvironment()
) =>
  Effect.gen(function* () {
    const filter = yield* checkInput(() => {
      if (!Number.isInteger(flags.limit) || flags.limit < 1) {
        throw new UsageError({ field: "--limit", reason: `${flags.limit} is not a number of jobs; use 1 or more` })
      }
      return {
        states: choices<JobState>("--state", flags.states ?? [], jobStates),
        kinds: choices<JobKind>("--kind", flags.kinds ?? [], jobKinds)
      }
    })
    const app = yield* loadApp(flags, environment)
    const out = makeOutput({ json: flags.json, tty: false })
    const jobs = yield* Jobs.use((r) => r.list(flags.limit, filter)).pipe(Effect.provide(readStorageLayer(app)))
    if (flags.json) return out.result(JSON.stringify(jobs.map((j) => ({ ...j, ownerGone: isOwnerGone(j) }))))
    if (jobs.length === 0) {
      const filtered = filter.states.length + filter.kinds.length > 0
      return out.result(filtered ? "no jobs match" : "no jobs yet")
    }
    out.result(
      table(
        ["id", "kind", "state", "provider", "frame", "symbols", "range", "done", "failed", "bars", "created"],
        jobs.map((j) => [
          j.id,
          j.kind,
          stateText(j),
          `${j.provider}/${j.feed}`,
          j.frame,
          j.symbols.length,
          `${j.startDay}..${j.endDay}`,
          j.partitionsDone,
          j.partitionsFailed,
          j.barsWritten,
          j.createdAt
        ])
      )
    )
  })

export const jobsShowMain = (
  flags: CommonFlags & { readonly id: number },
  environment: Environment = currentEnvironment()
) =>
  Effect.gen(function* () {
    const app = yield* loadApp(flags, environment)
    const out = makeOutput({ json: flags.json, tty: false })
    const found = yield* Effect.gen(function* () {
      const job = yield* Jobs.use((r) => r.get(flags.id))
      if (job === undefined) return undefined
      const partitions = yield* Jobs.use((r) => r.partitions(job.id))
      const status = yield* WorkQueue.use((q) => q.status(job.id))
      const units = status.pending + status.running + status.expired + status.done + status.failed
      return { job, partitions, ownerGone: isOwnerGone(job), queue: units > 0 ? status : null }
    }).pipe(Effect.provide(readStorageLayer(app)))
    if (found === undefined)
      return yield* new UsageError({ field: "ID", reason: `no job with id ${flags.id}; see \`marketpipe jobs list\`` })
    if (flags.json) return out.result(JSON.stringify(found))
    const { job, partitions, ownerGone, queue } = found
    const failed = partitions.filter((p) => p.state === "failed")
    const unrun = notRun(job)
    out.result(
      [
        `job ${job.id}: ${job.kind} ${stateText(job)}`,
        `  provider ${job.provider}/${job.feed}, frame ${job.frame}, session ${job.session}`,
        `  symbols ${job.symbols.join(",")}`,
        `  range ${job.startDay}..${job.endDay}`,
        `  created ${job.createdAt}, finished ${job.finishedAt ?? "-"}`,
        ...(job.owner === undefined
          ? []
          : [
              `  owner ${job.owner}${ownerGone ? ` (process gone: \`marketpipe jobs retry ${job.id}\` resumes it, \`jobs fail ${job.id}\` closes it)` : ""}`
            ]),
        ...(job.cancelRequestedAt === undefined ? [] : [`  cancel requested ${job.cancelRequestedAt}`]),
        `  partitions ${job.partitionsDone} done, ${job.partitionsFailed} failed${unrun > 0 ? `, ${unrun} not run` : ""} of ${job.partitionsTotal}; bars ${job.barsWritten} written, ${job.barsRejected} rejected`,
        ...(queue === null
          ? []
          : [
              `  queue: ${queue.pending} pending, ${queue.running} running, ${queue.expired} lease expired, ${queue.done} done, ${queue.failed} failed`
            ]),
        ...(job.error ? [`  error: ${job.error}`] : []),
        ...(failed.length > 0
          ? [
              "  failed partitions:",
              table(
                ["symbol", "day", "attempts", "error"],
                failed.map((p) => [p.symbol, p.day, p.attempts, p.error ?? ""])
              ).replace(/^/gmu, "    ")
            ]
          : [])
      ].join("\n")
    )
  })

type JobIdFlags = CommonFlags & { readonly id: number }

export const jobsCancelMain = (flags: JobIdFlags, environment: Environment = currentEnvironment()) =>
  Effect.gen(function* () {
    const app = yield* loadApp(flags, environment)
    const out = makeOutput({ json: flags.json, tty: false })
    const c = yield* cancelJob(flags.id).pipe(Effect.provide(readStorageLayer(app)))
    if (flags.json) return out.result(JSON.stringify(c))
    const id = c.job.id
    out.result(
      c.stops === "next-unit"
        ? `job ${id}: cancel requested; ${c.owner?.state === "alive" ? `pid ${c.owner.pid}` : `its run on ${c.owner?.host}`} stops it after the unit(s) in flight`
        : c.stops === "after-running-units"
          ? `job ${id}: cancel requested; ${c.unitsCancelled} queued unit(s) will not run, ${c.unitsRunning} unit(s) being worked on finish first, then the job ends cancelled`
          : `job ${id} ${c.job.state}: ${c.unitsCancelled} queued unit(s) will not run; ${c.job.partitionsDone} partition(s) done keep their ledger rows (\`marketpipe jobs retry ${id}\` runs the rest)`
    )
  })

export const jobsFailMain = (flags: JobIdFlags, environment: Environment = currentEnvironment()) =>
  Effect.gen(function* () {
    const app = yield* loadApp(flags, environment)
    const out = makeOutput({ json: flags.json, tty: false })
    const job = yield* failJob(flags.id).pipe(Effect.provide(readStorageLayer(app)))
    out.result(
      flags.json
        ? JSON.stringify({ job })
        : `job ${job.id} abandoned: its process ${job.owner ?? ""} is gone; its unfinished partitions are failed (\`marketpipe jobs retry ${job.id}\` redoes them)`
    )
  })

/**
 * `jobs retry ID`: a new job of the same kind and provider settings over the partitions job ID left undone, run here
 * now (`--enqueue`: planned into the queue for workers). Nothing left undone is not an error (exit 0).
 */
export const jobsRetryMain = (
  flags: JobIdFlags & { readonly enqueue?: boolean },
  environment: Environment = currentEnvironment()
) =>
  Effect.gen(function* () {
    const app = yield* loadApp(flags, environment)
    const out = makeOutput({ json: flags.json, tty: process.stderr.isTTY === true })
    const target = yield* retryTarget(flags.id, app).pipe(Effect.provide(readStorageLayer(app)))
    const { job, partitions } = target
    if (target.resumed) out.notice(`notice: job ${job.id} was running with its process gone; it is now abandoned`)
    if (partitions.length === 0) {
      return out.result(
        flags.json
          ? JSON.stringify({ retried: job.id, partitions: 0 })
          : `job ${job.id} (${job.state}) has no failed or unrun partitions: nothing to retry`
      )
    }
    const { request, toFetch } = yield* retryRequest(app, target)
    if (toFetch === 0) {
      return out.result(
        flags.json
          ? JSON.stringify({ retried: job.id, partitions: 0 })
          : `job ${job.id} left ${partitions.length} partition(s) undone, and the ledger has had them all since: nothing to retry`
      )
    }
    out.notice(
      `retrying ${toFetch} partition(s) job ${job.id} left undone: ${request.symbols.length} symbol(s), ${request.from}..${request.to}`
    )
    if (flags.enqueue === true) {
      const queued = yield* enqueueJob(app, request)
      return out.result(
        flags.json
          ? JSON.stringify({ queued: true, retried: job.id, job: queued.job, units: queued.units, plan: queued.plan })
          : `job ${queued.job.id} queued (retry of job ${job.id}): ${queued.units} unit(s), ${queued.plan.partitions} partition(s) (${queued.plan.covered} in the ledger since); run \`marketpipe worker\` to process it`
      )
    }
    const client = yield* connectProvider(target.resolved, app)
    return yield* finishRun({ ...request, client }, app, out, flags.json)
  })

export const jobsCleanupMain = (
  flags: CommonFlags & {
    readonly olderThan: Option.Option<string>
    readonly states: ReadonlyArray<string>
    readonly dryRun: boolean
  },
  environment: Environment = currentEnvironment()
) =>
  Effect.gen(function* () {
    const { age, states } = yield* checkInput(() => {
      const given = Option.getOrUndefined(flags.olderThan)
      const age = given === undefined ? undefined : parseAge(given)
      if (age === undefined || age === "never") {
        throw new UsageError({
          field: "--older-than",
          reason: `${given === undefined ? "missing" : `${shown(given)} is not an age`}: give how old a job must be to go, e.g. 30d, 18m or 2y (days, months, years)`
        })
      }
      const states = choices<JobState>("--state", flags.states, jobStates)
      if (states.includes("running")) {
        throw new UsageError({
          field: "--state",
          reason: `running jobs are never removed (stop one with \`marketpipe jobs cancel ID\`, or close one whose process is gone with \`jobs fail ID\`); use ${finishedStates.join(", ")}`
        })
      }
      if (states.length === 0) {
        throw new UsageError({
          field: "--state",
          reason: `give the states of the jobs to remove (repeat it, or a comma list): ${finishedStates.join(", ")}`
        })
      }
      return { age, states: states as Array<FinishedState> }
    })
    const app = yield* loadApp(flags, environment)
    const cutoff = ageCutoff(age, tradingDayOf(yield* Clock.currentTimeMillis)) as string
    const removed = yield* pruneJobs(cutoff, states, flags.dryRun).pipe(Effect.provide(readStorageLayer(app)))
    const out = makeOutput({ json: flags.json, tty: false })
    if (flags.json) return out.result(JSON.stringify({ dryRun: flags.dryRun, cutoff, states, removed }))
    out.result(
      `${flags.dryRun ? "would remove (dry run: nothing removed)" : "removed"}: ${removed.jobs} ${states.join("/")} job(s) finished before ${cutoff}, ${removed.partitions} partitions, ${removed.validationRuns} validation runs, ${removed.workUnits} work units; the ledger is kept`
    )
  })

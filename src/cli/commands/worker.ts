/**
 * `marketpipe worker`: claims units from the shared queue (`ohlcv backfill --enqueue`) and processes them until the
 * queue is drained (`--follow` keeps waiting). Run as many as you like, on as many machines as share the database
 * (Postgres) and the lake.
 */
import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { runAggregation } from "../../aggregation/run.ts"
import { UsageError } from "../../domain/errors.ts"
import type { Symbol } from "../../domain/symbol.ts"
import type { Timeframe } from "../../domain/timeframe.ts"
import { persistRun } from "../../observability/history.ts"
import { currentMetrics } from "../../observability/metrics.ts"
import { runWorker, workerHolder } from "../../pipeline/queue.ts"
import { recover } from "../../pipeline/recovery.ts"
import type { JobRecord } from "../../repository/model.ts"
import { ruleSettings } from "../../validation/settings.ts"
import { type App, type CommonFlags, currentEnvironment, type Environment, loadApp, storageLayer } from "../app.ts"
import { makeOutput } from "../output.ts"
import { aggregationFrames, connectProvider, requestFor, resolveProvider } from "../run-setup.ts"
import { commonFlags } from "./common.ts"
import { metricsPortFlag, withMetricsPort } from "./metrics.ts"

export interface WorkerFlags extends CommonFlags {
  readonly follow: boolean
  readonly leaseSeconds: number
  readonly pollSeconds: number
  /** Serve Prometheus metrics on this loopback port while the worker runs (absent: none). */
  readonly metricsPort?: Option.Option<number>
}

/** What a queued job's units need, from the job record and this worker's config (keys, base URLs). */
const requestForJob = (app: App) => (job: JobRecord) =>
  Effect.gen(function* () {
    const resolved = yield* resolveProvider(
      {
        provider: Option.some(job.provider),
        frame: Option.some(job.frame as Timeframe),
        feed: Option.some(job.feed),
        session: Option.some(job.session),
        concurrency: Option.none()
      },
      app
    )
    const client = yield* connectProvider(resolved, app)
    return {
      ...requestFor(resolved, app),
      kind: job.kind,
      client,
      symbols: job.symbols as ReadonlyArray<Symbol>,
      from: job.startDay as never,
      to: job.endDay as never,
      rules: ruleSettings(app.loaded.config)
    }
  })

export const workerMain = (flags: WorkerFlags, environment: Environment = currentEnvironment()) =>
  Effect.gen(function* () {
    const app = yield* loadApp(flags, environment)
    const out = makeOutput({ json: flags.json, tty: false })
    if (flags.leaseSeconds < 1 || flags.pollSeconds <= 0) {
      return yield* new UsageError({
        field: "--lease-seconds",
        reason: "the lease must be at least 1 s and the poll interval above 0"
      })
    }
    const holder = workerHolder()
    out.notice(`worker ${holder} started`)
    const summary = yield* Effect.gen(function* () {
      yield* recover(app.loaded.dataDir)
      return yield* runWorker({
        holder,
        leaseMs: flags.leaseSeconds * 1000,
        pollMs: flags.pollSeconds * 1000,
        follow: flags.follow,
        requestFor: requestForJob(app),
        // Like a local run, a queued 1m job gets its higher frames once its last unit is done.
        afterJob: (job) =>
          job.frame !== "1m" || app.loaded.config.aggregation?.after_ingest === false
            ? Effect.void
            : Effect.asVoid(
                runAggregation({
                  calendar: app.calendar,
                  frames: aggregationFrames(app),
                  session: app.loaded.config.aggregation?.session ?? job.session,
                  symbols: job.symbols,
                  from: job.startDay,
                  to: job.endDay,
                  owner: holder
                })
              ),
        onClaim: (unit) =>
          Effect.sync(() => out.notice(`unit ${unit.id} (job ${unit.jobId}) claimed, attempt ${unit.attempts}`)),
        onUnit: (unit, outcome) =>
          Effect.sync(() =>
            out.notice(
              `unit ${unit.id} (job ${unit.jobId}, ${unit.symbols.join(",")} ${unit.days[0]}..${unit.days.at(-1)}): ${outcome}`
            )
          )
      }).pipe(Effect.tap(() => persistRun(currentMetrics(), `worker-${holder}`)))
    }).pipe(Effect.provide(storageLayer(app)), withMetricsPort(flags.metricsPort, app, out))
    out.result(flags.json ? JSON.stringify(summary) : `worker ${holder}: ${summary.units} unit(s) done, queue drained`)
    return summary
  })

export const workerCommand = Command.make(
  "worker",
  {
    follow: Flag.Boolean("follow").pipe(
      Flag.withDescription("keep waiting for new work when the queue is empty"),
      Flag.withDefault(false)
    ),
    leaseSeconds: Flag.Int("lease-seconds").pipe(
      Flag.withDescription(
        "how long a claim lasts without renewal; a dead worker's units return after this (default 60)"
      ),
      Flag.withDefault(60)
    ),
    pollSeconds: Flag.Int("poll-seconds").pipe(
      Flag.withDescription("wait between looks at an empty queue (default 2)"),
      Flag.withDefault(2)
    ),
    metricsPort: metricsPortFlag,
    ...commonFlags
  },
  (flags) => Effect.asVoid(workerMain(flags))
).pipe(Command.withDescription("Process queued work (ohlcv backfill --enqueue) until the queue is drained"))

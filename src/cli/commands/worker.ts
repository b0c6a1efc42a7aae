/**
 * `marketpipe worker`: claims units from the shared queue (`ohlcv backfill --enqueue`) and processes them until the
 * queue is drained (`--follow` keeps waiting). Run as many as you like, on as many machines as share the database
 * (Postgres) and the lake.
 */
import { Effect, type Option } from "effect"
import { UsageError } from "../../domain/errors.ts"
import { runQueuedWork, workerHolder } from "../../pipeline/worker-job.ts"
import { type CommonFlags, currentEnvironment, type Environment, loadApp } from "../app.ts"
import { makeOutput } from "../output.ts"
import { withMetricsPort } from "./metrics.ts"

export interface WorkerFlags extends CommonFlags {
  readonly follow: boolean
  readonly leaseSeconds: number
  readonly pollSeconds: number
  /** Serve Prometheus metrics on this loopback port while the worker runs (absent: none). */
  readonly metricsPort?: Option.Option<number>
}

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
    const summary = yield* runQueuedWork(app, {
      holder,
      leaseMs: flags.leaseSeconds * 1000,
      pollMs: flags.pollSeconds * 1000,
      follow: flags.follow,
      onClaim: (unit) => out.notice(`unit ${unit.id} (job ${unit.jobId}) claimed, attempt ${unit.attempts}`),
      onUnit: (unit, outcome) =>
        out.notice(
          `unit ${unit.id} (job ${unit.jobId}, ${unit.symbols.join(",")} ${unit.days[0]}..${unit.days.at(-1)}): ${outcome}`
        )
    }).pipe(withMetricsPort(flags.metricsPort, app, out))
    out.result(flags.json ? JSON.stringify(summary) : `worker ${holder}: ${summary.units} unit(s) done, queue drained`)
    return summary
  })

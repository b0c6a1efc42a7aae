/**
 * Queued work run by `marketpipe worker`: recover, then claim and process units of the shared queue with the same
 * unit runner as a local run (which builds the higher frames of the days each unit writes), and the worker's metrics
 * left in the repository at the end.
 */
import { Effect } from "effect"
import { persistRun } from "../observability/history.ts"
import { Metrics } from "../observability/metrics.ts"
import { RateLimiters } from "../providers/kit/rate-limiter.ts"
import type { JobRecord, QueuedUnit } from "../repository/model.ts"
import { ruleSettings } from "../validation/settings.ts"
import { type RunContext, storageLayer } from "./context.ts"
import { derivationFor } from "./job.ts"
import { connectProvider, requestFor, resolveJobProvider } from "./provider-choice.ts"
import { runWorker } from "./queue.ts"
import { recover } from "./recovery.ts"

export { workerHolder } from "./queue.ts"

/** What a queued job's units need, from the job record and this worker's config (keys, base URLs). */
const requestForJob = (ctx: RunContext) => (job: JobRecord) =>
  Effect.gen(function* () {
    const resolved = yield* resolveJobProvider(job, ctx)
    const client = yield* connectProvider(resolved, ctx)
    // Like a local run, a queued 1m job's units build the higher frames of the days they write.
    const aggregation = derivationFor(ctx.loaded.config, { frame: job.frame, session: job.session })
    return {
      ...(aggregation === undefined ? {} : { aggregation }),
      ...requestFor(resolved, ctx),
      kind: job.kind,
      client,
      symbols: job.symbols,
      from: job.startDay,
      to: job.endDay,
      rules: ruleSettings(ctx.loaded.config)
    }
  })

export interface QueuedWorkOptions {
  /** Unique per worker process (`workerHolder()`). */
  readonly holder: string
  readonly leaseMs: number
  readonly pollMs: number
  /** Keep waiting for new work when the queue is empty. */
  readonly follow: boolean
  readonly onClaim: (unit: QueuedUnit) => void
  readonly onUnit: (unit: QueuedUnit, outcome: "done" | "failed") => void
}

export const runQueuedWork = (ctx: RunContext, options: QueuedWorkOptions) =>
  Effect.gen(function* () {
    yield* recover(ctx.loaded.dataDir)
    const metrics = yield* Metrics
    const limiters = yield* RateLimiters
    const summary = yield* runWorker({
      holder: options.holder,
      leaseMs: options.leaseMs,
      pollMs: options.pollMs,
      follow: options.follow,
      requestFor: (job) =>
        requestForJob(ctx)(job).pipe(
          Effect.provideService(Metrics, metrics),
          Effect.provideService(RateLimiters, limiters)
        ),
      onClaim: (unit) => Effect.sync(() => options.onClaim(unit)),
      onUnit: (unit, outcome) => Effect.sync(() => options.onUnit(unit, outcome))
    })
    yield* persistRun(metrics, `worker-${options.holder}`)
    return summary
  }).pipe(Effect.provide(storageLayer(ctx)))

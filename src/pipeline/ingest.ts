/**
 * The ingest stream: plan (calendar × symbols × range − ledger) → provider pages → column batches → core validation
 * → split by trading day → Parquet sink → repository. Units run with bounded concurrency; a unit that fails is
 * recorded as failed partitions and the job goes on, so one bad symbol never costs the others their data. A
 * partition reaches the ledger only after its file has been atomically replaced. `jobs cancel` is heeded between
 * units: the units in flight finish, the rest are left unrun and the job ends `cancelled`.
 */
import { Effect, Stream } from "effect"
import type { Finding } from "../domain/validation.ts"
import { Metrics } from "../observability/metrics.ts"
import { mask } from "../providers/kit/secrets.ts"
import { Jobs } from "../repository/jobs.ts"
import {
  FINDINGS_KEPT,
  type IngestProgress,
  type IngestRequest,
  type IngestSummary,
  type UnitFailure
} from "./ingest-types.ts"
import { planWork, type WorkUnit } from "./plan.ts"
import { makeUnitRunner, partitionRefs, type SymbolOutcome } from "./unit-runner.ts"

export * from "./ingest-types.ts"

/**
 * Plans a request (calendar × symbols × range − ledger) and records the job with its partitions. A job run here
 * carries its process as owner; a queued job (`owner` undefined) belongs to whichever workers take its units.
 */
export const planJob = (request: Omit<IngestRequest, "client">, owner: string | undefined) =>
  Effect.gen(function* () {
    const { units, ...plan } = planWork({
      calendar: request.calendar,
      symbols: request.symbols,
      from: request.from,
      to: request.to,
      frame: request.frame,
      session: request.session,
      maxBarsPerRequest: request.maxBarsPerRequest ?? 1_000_000,
      maxSymbolsPerRequest: request.maxSymbolsPerRequest ?? 1,
      ...(request.covered === undefined ? {} : { covered: request.covered }),
      ...(request.listed === undefined ? {} : { listed: request.listed }),
      ...(request.now === undefined ? {} : { now: request.now })
    })
    const job = yield* Jobs.use((jobs) =>
      jobs.create(
        {
          kind: request.kind,
          provider: request.provider,
          feed: request.feed,
          frame: request.frame,
          session: request.session,
          symbols: request.symbols,
          startDay: request.from,
          endDay: request.to,
          ...(owner === undefined ? {} : { owner })
        },
        units.flatMap((u) => partitionRefs(u))
      )
    )
    return { job, units, plan }
  })

export const runIngest = (
  request: IngestRequest,
  onProgress: (p: IngestProgress) => Effect.Effect<void> = () => Effect.void
) =>
  Effect.gen(function* () {
    const jobs = yield* Jobs
    const { job, units, plan } = yield* planJob(request, request.owner)
    yield* Effect.annotateCurrentSpan({ "marketpipe.job_id": job.id, "marketpipe.partitions": plan.partitions })
    const progress = {
      partitionsTotal: plan.partitions,
      partitionsDone: 0,
      partitionsFailed: 0,
      barsWritten: 0,
      barsRejected: 0
    }
    const runUnit = yield* makeUnitRunner(request, job.id)
    // Asked before each unit starts; once cancelled, the units left are skipped without asking again.
    let cancelled = false
    const processUnit = (u: WorkUnit) =>
      Effect.flatMap(cancelled ? Effect.succeed(true) : jobs.cancelRequested(job.id), (stop) => {
        cancelled = stop
        return stop ? Effect.succeed<ReadonlyArray<SymbolOutcome>>([]) : runUnit(u)
      })
    const metrics = yield* Metrics
    if (request.kind === "backfill") {
      metrics.gapsFound.inc({ provider: request.provider, feed: request.feed, frame: request.frame }, plan.partitions)
    }
    const failures: Array<UnitFailure> = []
    const rejectedByRule: Record<string, number> = {}
    const warningsByRule: Record<string, number> = {}
    let findingsKept = 0
    const derived = { days: {} as Record<string, number>, bars: 0 }
    const revalidated = { revised: 0, unchanged: 0 }

    yield* Stream.fromIterable(units).pipe(
      Stream.mapEffect(processUnit, { concurrency: request.concurrency, unordered: true }),
      Stream.runForEach((outcomes) => {
        const kept: Array<Finding> = []
        for (const o of outcomes) {
          progress.partitionsDone += o.results.length + (o.unchanged ?? 0)
          revalidated.revised += o.revised ?? 0
          revalidated.unchanged += o.unchanged ?? 0
          progress.barsWritten += o.bars
          progress.barsRejected += o.rejected
          for (const [frame, days] of Object.entries(o.derived ?? {}))
            derived.days[frame] = (derived.days[frame] ?? 0) + days
          derived.bars += o.derivedBars ?? 0
          for (const f of o.findings) {
            const counts = f.severity === "error" ? rejectedByRule : warningsByRule
            counts[f.rule] = (counts[f.rule] ?? 0) + 1
            if (findingsKept + kept.length < FINDINGS_KEPT) kept.push(f)
          }
          if (o.failure !== undefined) {
            progress.partitionsFailed += o.failure.days.length
            failures.push(o.failure)
          }
        }
        findingsKept += kept.length
        // Kept findings go to the report's spool as they come, not into memory until the run ends.
        const report = kept.length === 0 || request.findings === undefined ? Effect.void : request.findings.add(kept)
        return Effect.andThen(report, onProgress({ ...progress }))
      }),
      Effect.onInterrupt(() => jobs.finish(job.id, progress, "interrupted").pipe(Effect.ignore)),
      Effect.tapError((e) => jobs.finish(job.id, progress, mask(e.message)).pipe(Effect.ignore))
    )
    const finished = yield* jobs.finish(job.id, progress)
    metrics.jobs.inc({ kind: finished.kind, state: finished.state })
    yield* Effect.annotateCurrentSpan({
      "marketpipe.job_state": finished.state,
      "marketpipe.bars_written": progress.barsWritten,
      "marketpipe.bars_rejected": progress.barsRejected,
      "marketpipe.partitions_failed": progress.partitionsFailed
    })
    return {
      job: finished,
      plan,
      tradingDays: plan.tradingDays,
      failures,
      rejectedByRule,
      warningsByRule,
      findingsKept,
      derived,
      ...(request.revalidate === undefined ? {} : { revalidated })
    } satisfies IngestSummary
  }).pipe(
    Effect.withSpan("marketpipe.job", {
      attributes: {
        "marketpipe.job_kind": request.kind,
        "marketpipe.provider": request.provider,
        "marketpipe.feed": request.feed,
        "marketpipe.frame": request.frame,
        "marketpipe.session": request.session,
        "marketpipe.symbols_count": request.symbols.length,
        "marketpipe.first_day": request.from,
        "marketpipe.last_day": request.to
      }
    })
  )

/**
 * A run end to end, the one path for `ohlcv ingest`, `ohlcv backfill` and queued work: recover from a crashed run,
 * plan and ingest, write the validation report, build the higher frames, and leave the run's metrics in the
 * repository. Callers parse their input, call in here, and print what comes back.
 */
import { Effect } from "effect"
import type { DerivationPlan } from "../aggregation/derive.ts"
import type { ConfigV1 } from "../config/schema.ts"
import type { SessionKind } from "../domain/calendar.ts"
import { aggregatedFrames } from "../domain/timeframe.ts"
import { checkAdjustment } from "../lake/adjustment-guard.ts"
import { persistRun } from "../observability/history.ts"
import { Metrics } from "../observability/metrics.ts"
import { CorporateActions, splitsBySymbol } from "../repository/corporate-actions.ts"
import { findingsSpool } from "../validation/findings-spool.ts"
import { writeValidationReport } from "../validation/report.ts"
import { ruleSettings } from "../validation/settings.ts"
import { type RunContext, storageLayer } from "./context.ts"
import { type IngestProgress, type IngestRequest, type IngestSummary, runIngest } from "./ingest.ts"
import { processOwner, recover } from "./recovery.ts"

type AggregatedFrame = (typeof aggregatedFrames)[number]

/** Frames built from 1m after an ingest or backfill (config `aggregation`); none for other frames or when off. */
export const aggregationFrames = (config: ConfigV1): ReadonlyArray<AggregatedFrame> =>
  config.aggregation?.frames ?? aggregatedFrames

/**
 * The session aggregation buckets are anchored to: the one asked for, else config `aggregation.session`, else the
 * session of the bars being aggregated, else config `ingest.session`.
 */
export const aggregationSession = (
  config: ConfigV1,
  asked: SessionKind | undefined,
  ofRun: SessionKind | undefined
): SessionKind => asked ?? config.aggregation?.session ?? ofRun ?? config.ingest?.session ?? "regular"

/**
 * The higher frames a run builds from the 1m days each unit writes (config `aggregation`): none for other frames,
 * with `after_ingest: false`, or when the run's session cannot fill the aggregation session's buckets (regular
 * 1m bars for extended-session buckets; `ohlcv aggregate` says the same by finding no source days).
 */
export const derivationFor = (
  config: ConfigV1,
  run: { readonly frame: string; readonly session: SessionKind }
): DerivationPlan | undefined => {
  if (run.frame !== "1m" || config.aggregation?.after_ingest === false) return undefined
  const session = aggregationSession(config, undefined, run.session)
  return session === run.session || run.session === "extended"
    ? { frames: aggregationFrames(config), session }
    : undefined
}

export interface RunHooks {
  /** A line worth telling the user about before the run (a crashed run recovered). */
  readonly notice: (line: string) => void
  /** After every finished unit, with the milliseconds since fetching began. */
  readonly progress: (p: IngestProgress, elapsedMs: number) => void
  /** Fetching is over (the report and the higher frames follow). */
  readonly fetched: () => void
}

export interface RunOutcome {
  readonly summary: IngestSummary
  /** Higher-frame days the run built from its 1m days, per frame (absent for other frames, or with aggregation off). */
  readonly aggregation: { readonly rebuilt: Readonly<Record<string, number>>; readonly barsWritten: number } | undefined
}

/** Tells the user what recovery found and cleaned up. */
export const recoverAndTell = (dataDir: string, notice: (line: string) => void) =>
  recover(dataDir).pipe(
    Effect.tap((recovered) =>
      Effect.sync(() => {
        if (recovered.abandonedJobs.length > 0)
          notice(
            `notice: job(s) ${recovered.abandonedJobs.join(", ")} were left running by a stopped process; their partitions will be redone`
          )
        if (recovered.removedTemps.length > 0)
          notice(`notice: removed ${recovered.removedTemps.length} temp file(s) a stopped writer left`)
      })
    )
  )

/**
 * Runs an ingest or backfill job in this process. Failed partitions do not fail the run: they are recorded (the
 * next backfill retries them) and listed in the summary.
 */
export const runJob = (request: Omit<IngestRequest, "owner" | "rules">, ctx: RunContext, hooks: RunHooks) =>
  Effect.gen(function* () {
    // Raw and adjusted bars never share a lake: refused before anything is fetched.
    yield* checkAdjustment(ctx.loaded.dataDir, request.adjustment)
    yield* recoverAndTell(ctx.loaded.dataDir, hooks.notice)
    const started = Date.now()
    const owner = processOwner()
    const aggregation = derivationFor(ctx.loaded.config, request)
    const findings = yield* findingsSpool(ctx.loaded.dataDir, owner)
    const splits = splitsBySymbol(yield* CorporateActions.use((c) => c.list(request.symbols)))
    const summary = yield* runIngest(
      {
        ...request,
        owner,
        splits,
        rules: ruleSettings(ctx.loaded.config),
        findings,
        ...(aggregation === undefined ? {} : { aggregation })
      },
      (p) => Effect.sync(() => hooks.progress(p, Date.now() - started))
    )
    hooks.fetched()
    yield* writeValidationReport(ctx.loaded.dataDir, {
      jobId: summary.job.id,
      kind: summary.job.kind,
      findings,
      errorsByRule: summary.rejectedByRule,
      warningsByRule: summary.warningsByRule
    })
    // Short runs leave their counters in the repository, so `metrics serve` shows totals, not per-process zeros.
    yield* persistRun(yield* Metrics, `${summary.job.kind}-${summary.job.id}-${owner}`)
    return {
      summary,
      aggregation:
        aggregation === undefined ? undefined : { rebuilt: summary.derived.days, barsWritten: summary.derived.bars }
    } satisfies RunOutcome
  }).pipe(Effect.scoped, Effect.provide(storageLayer(ctx)))

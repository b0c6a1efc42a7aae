/** `ohlcv aggregate` as a run: recover, then build the higher frames over the 1m lake (incremental unless forced). */
import { Effect } from "effect"
import { runAggregation } from "../aggregation/run.ts"
import type { SessionKind } from "../domain/calendar.ts"
import type { Timeframe } from "../domain/timeframe.ts"
import { type RunContext, storageLayer } from "./context.ts"
import { aggregationSession } from "./job.ts"
import { processOwner, recover } from "./recovery.ts"

export interface AggregateJob {
  /** Empty: every symbol the 1m ledger has in the range. */
  readonly symbols: ReadonlyArray<string>
  readonly from: string
  readonly to: string
  readonly frames: ReadonlyArray<Exclude<Timeframe, "1m">>
  /** Absent: config `aggregation.session`, else `ingest.session`. */
  readonly session: SessionKind | undefined
  readonly force: boolean
}

export const runAggregateJob = (ctx: RunContext, job: AggregateJob) =>
  Effect.gen(function* () {
    yield* recover(ctx.loaded.dataDir)
    return yield* runAggregation({
      calendar: ctx.calendar,
      frames: job.frames,
      session: aggregationSession(ctx.loaded.config, job.session, undefined),
      symbols: job.symbols,
      from: job.from,
      to: job.to,
      force: job.force,
      owner: processOwner()
    })
  }).pipe(Effect.provide(storageLayer(ctx)))

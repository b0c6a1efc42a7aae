/**
 * The ingest stream: provider pages → column batches → core validation → split by trading day → Parquet sink →
 * repository. Units run with bounded concurrency; a unit that fails is recorded as failed partitions and the job
 * goes on, so one bad symbol never costs the others their data.
 */
import { Effect, Schedule, Stream } from "effect"
import { type BarBatch, concatBatches, selectRows } from "../domain/bar.ts"
import type { SessionKind, TradingCalendar, TradingDay } from "../domain/calendar.ts"
import type { ProviderError, StorageError } from "../domain/errors.ts"
import { splitByDay } from "../domain/partition.ts"
import type { Symbol } from "../domain/symbol.ts"
import { type Timeframe, timeframeMinutes } from "../domain/timeframe.ts"
import { type Rejection, validateBatch } from "../domain/validation.ts"
import type { ProviderClient } from "../providers/contract.ts"
import { mask } from "../providers/kit/secrets.ts"
import { JobRepository } from "../repository/job-repository.ts"
import { coverageStatus, type JobKind, type JobRecord, type PartitionResult } from "../repository/model.ts"
import { ParquetSink } from "../storage/parquet-sink.ts"
import { planUnits, type WorkUnit } from "./plan.ts"

export interface IngestRequest {
  readonly kind: JobKind
  readonly provider: string
  readonly client: ProviderClient
  readonly calendar: TradingCalendar
  readonly symbols: ReadonlyArray<Symbol>
  readonly from: TradingDay
  readonly to: TradingDay
  readonly frame: Timeframe
  readonly feed: string
  readonly session: SessionKind
  readonly adjustment: string
  readonly concurrency: number
  /** Retry policy for retryable provider errors (tests pass a fast one). */
  readonly retry?: Schedule.Schedule<unknown, ProviderError>
}

export interface IngestProgress {
  readonly unitsDone: number
  readonly unitsTotal: number
  readonly partitionsDone: number
  readonly partitionsFailed: number
  readonly barsWritten: number
  readonly barsRejected: number
}

export interface UnitFailure {
  readonly symbol: string
  readonly days: ReadonlyArray<string>
  readonly error: string
}

export interface IngestSummary {
  readonly job: JobRecord
  readonly tradingDays: number
  readonly failures: ReadonlyArray<UnitFailure>
  /** Rejected bars by rule, and the first few for the report. */
  readonly rejectedByRule: Readonly<Record<string, number>>
  readonly rejectedSample: ReadonlyArray<Rejection>
}

type UnitOutcome =
  | {
      readonly _tag: "Done"
      readonly partitions: number
      readonly bars: number
      readonly rejected: ReadonlyArray<Rejection>
    }
  | { readonly _tag: "Failed"; readonly failure: UnitFailure }

const defaultRetry = Schedule.exponential("250 millis", 2).pipe(Schedule.jittered, Schedule.upTo({ times: 4 }))

/** Bars must start on their frame's grid; session-anchored frames above 30m start on half hours (09:30, 13:30). */
const alignmentMs = (frame: Timeframe) => Math.min(timeframeMinutes(frame), frame === "1d" ? 1 : 30) * 60_000

/**
 * Keeps only bars whose interval [ts, ts + frame) overlaps a requested session of the unit's days: a provider may
 * send more than was asked for (pre- and post-market minutes between two regular sessions, days outside the unit).
 * Overlap, not containment, so a clock-aligned 09:00 hourly bar or a midnight-stamped daily bar is kept.
 */
function withinSessions(
  batch: BarBatch,
  calendar: TradingCalendar,
  days: ReadonlyArray<string>,
  session: SessionKind,
  frameMs: number
): BarBatch {
  const windows = new Map<string, { open: number; close: number }>()
  for (const day of days) {
    const s = calendar.session(day, session)
    if (s !== undefined) windows.set(day, s)
  }
  const rows: Array<number> = []
  for (const part of splitByDay(batch.ts)) {
    const w = windows.get(part.day)
    if (w === undefined) continue
    for (let i = part.from; i < part.to; i++) {
      const ts = batch.ts[i] as number
      if (ts < w.close && ts + frameMs > w.open) rows.push(i)
    }
  }
  return rows.length === batch.ts.length ? batch : selectRows(batch, rows)
}

export const runIngest = (
  request: IngestRequest,
  onProgress: (p: IngestProgress) => Effect.Effect<void> = () => Effect.void
) =>
  Effect.gen(function* () {
    const repo = yield* JobRepository
    const sink = yield* ParquetSink
    const days = request.calendar.tradingDays(request.from, request.to)
    const units = planUnits({ ...request, days })
    const refsOf = (u: WorkUnit) => u.days.map((day) => ({ frame: u.frame, symbol: u.symbol, day }))
    const job = yield* repo.createJob(
      {
        kind: request.kind,
        provider: request.provider,
        feed: request.feed,
        frame: request.frame,
        session: request.session,
        symbols: request.symbols,
        startDay: request.from,
        endDay: request.to
      },
      units.flatMap(refsOf)
    )
    const progress = {
      unitsDone: 0,
      unitsTotal: units.length,
      partitionsDone: 0,
      partitionsFailed: 0,
      barsWritten: 0,
      barsRejected: 0
    }
    const retry = request.retry ?? defaultRetry
    const frameMinutes = timeframeMinutes(request.frame)

    const fetchUnit = (u: WorkUnit) =>
      Stream.runCollect(
        request.client.bars({
          symbols: [u.symbol],
          frame: u.frame,
          start: u.start,
          end: u.end,
          feed: request.feed,
          adjustment: request.adjustment,
          session: request.session
        })
      ).pipe(Effect.retry({ schedule: retry, while: (e) => e.retryable }))

    const processUnit = (u: WorkUnit) =>
      Effect.gen(function* () {
        yield* repo.markRunning(job.id, refsOf(u))
        const batches = (yield* fetchUnit(u)).filter((b) => b.symbol === u.symbol)
        const fetched = withinSessions(
          concatBatches(u.symbol, batches),
          request.calendar,
          u.days,
          request.session,
          frameMinutes * 60_000
        )
        const { clean, rejected } = validateBatch(fetched, alignmentMs(request.frame))
        const byDay = new Map(splitByDay(clean.ts).map((p) => [p.day, p]))
        const slices = u.days.map((day) => {
          const part = byDay.get(day)
          const rows = part === undefined ? [] : Array.from({ length: part.to - part.from }, (_, i) => part.from + i)
          return { day, batch: selectRows(clean, rows), provider: request.provider, feed: request.feed }
        })
        const written = yield* sink.writeDays({ frame: u.frame, symbol: u.symbol, period: u.period }, slices, {
          "marketpipe.provider": request.provider,
          "marketpipe.feed": request.feed,
          "marketpipe.adjustment": request.adjustment,
          "marketpipe.session": request.session,
          "marketpipe.frame": request.frame,
          "marketpipe.job_id": String(job.id)
        })
        const rejectedPerDay = new Map<string, number>()
        for (const r of rejected) {
          const day = splitByDay(Float64Array.of(r.ts))[0]?.day ?? ""
          rejectedPerDay.set(day, (rejectedPerDay.get(day) ?? 0) + 1)
        }
        const results: Array<PartitionResult> = slices.map((s) => {
          const rows = s.batch.ts.length
          const dayRejected = rejectedPerDay.get(s.day) ?? 0
          const expected = request.calendar.expectedBars(s.day, request.session, frameMinutes)
          return {
            frame: u.frame,
            symbol: u.symbol,
            day: s.day,
            rows,
            rejected: dayRejected,
            expected,
            status: coverageStatus(rows, expected, dayRejected),
            hash: written.hashes.get(s.day) ?? "",
            file: written.file
          }
        })
        yield* repo.recordDone(
          job.id,
          { provider: request.provider, feed: request.feed, session: request.session },
          results
        )
        return { _tag: "Done", partitions: results.length, bars: clean.ts.length, rejected } as UnitOutcome
      }).pipe(
        Effect.catchTags({
          // A fatal error (rejected credentials) fails every unit alike: stop the job rather than repeat it.
          ProviderError: (e: ProviderError) => (e.fatal === true ? Effect.fail(e) : failUnit(u, e.message)),
          StorageError: (e: StorageError) => failUnit(u, e.message)
        })
      )

    const failUnit = (u: WorkUnit, reason: string) => {
      // Errors reach the database and the summary: never with a credential in them.
      const error = mask(reason)
      return repo
        .recordFailed(job.id, refsOf(u), error)
        .pipe(Effect.as({ _tag: "Failed", failure: { symbol: u.symbol, days: u.days, error } } as UnitOutcome))
    }

    const failures: Array<UnitFailure> = []
    const rejectedByRule: Record<string, number> = {}
    const rejectedSample: Array<Rejection> = []

    yield* Stream.fromIterable(units).pipe(
      Stream.mapEffect(processUnit, { concurrency: request.concurrency, unordered: true }),
      Stream.runForEach((outcome) => {
        progress.unitsDone++
        if (outcome._tag === "Done") {
          progress.partitionsDone += outcome.partitions
          progress.barsWritten += outcome.bars
          progress.barsRejected += outcome.rejected.length
          for (const r of outcome.rejected) {
            rejectedByRule[r.rule] = (rejectedByRule[r.rule] ?? 0) + 1
            if (rejectedSample.length < 20) rejectedSample.push(r)
          }
        } else {
          progress.partitionsFailed += outcome.failure.days.length
          failures.push(outcome.failure)
        }
        return onProgress({ ...progress })
      }),
      Effect.onInterrupt(() => repo.finishJob(job.id, progress, "interrupted").pipe(Effect.ignore))
    )
    const finished = yield* repo.finishJob(job.id, progress)
    return { job: finished, tradingDays: days.length, failures, rejectedByRule, rejectedSample } satisfies IngestSummary
  })

/**
 * The ingest stream: plan (calendar × symbols × range − ledger) → provider pages → column batches → core validation
 * → split by trading day → Parquet sink → repository. Units run with bounded concurrency; a unit that fails is
 * recorded as failed partitions and the job goes on, so one bad symbol never costs the others their data. A
 * partition reaches the ledger only after its file has been atomically replaced.
 */
import { Effect, Schedule, Stream } from "effect"
import { type BarBatch, concatBatches, selectRows } from "../domain/bar.ts"
import type { SessionKind, TradingCalendar, TradingDay } from "../domain/calendar.ts"
import type { ProviderError, RepositoryError, StorageError } from "../domain/errors.ts"
import { splitByDay } from "../domain/partition.ts"
import type { Symbol } from "../domain/symbol.ts"
import { type Timeframe, timeframeMinutes } from "../domain/timeframe.ts"
import { type Rejection, validateBatch } from "../domain/validation.ts"
import type { ProviderClient } from "../providers/contract.ts"
import { mask } from "../providers/kit/secrets.ts"
import { JobRepository } from "../repository/job-repository.ts"
import { coverageStatus, type JobKind, type JobRecord, type PartitionResult } from "../repository/model.ts"
import { ParquetSink } from "../storage/parquet-sink.ts"
import { type Plan, planWork, type WorkUnit } from "./plan.ts"

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
  /** The provider's request limits, for grouping symbols (defaults: one symbol per request). */
  readonly maxBarsPerRequest?: number
  readonly maxSymbolsPerRequest?: number
  /** Partitions the ledger already covers are not fetched (backfill); ingest fetches everything. */
  readonly covered?: (symbol: string, day: string) => boolean
  /** UTC ms; days whose session has not closed are left out. */
  readonly now?: number
  /** Retry policy for retryable provider errors (tests pass a fast one). */
  readonly retry?: Schedule.Schedule<unknown, ProviderError>
  /** `host:pid` of this process, recorded on the job so a restart can tell a crash from a live run. */
  readonly owner?: string
}

export interface IngestProgress {
  readonly partitionsTotal: number
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
  readonly plan: Omit<Plan, "units">
  readonly tradingDays: number
  readonly failures: ReadonlyArray<UnitFailure>
  /** Rejected bars by rule, and the first few for the report. */
  readonly rejectedByRule: Readonly<Record<string, number>>
  readonly rejectedSample: ReadonlyArray<Rejection>
}

interface SymbolOutcome {
  readonly results: ReadonlyArray<PartitionResult>
  readonly bars: number
  readonly rejected: ReadonlyArray<Rejection>
  readonly failure?: UnitFailure
}

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

/**
 * Two smaller units covering `u`: by symbols first, then by days (unless the error is about the symbol itself);
 * `undefined` when there is nothing left to split.
 */
function splitUnit(
  u: WorkUnit,
  calendar: TradingCalendar,
  session: SessionKind,
  bySymbolOnly: boolean
): ReadonlyArray<WorkUnit> | undefined {
  const share = (symbols: ReadonlyArray<Symbol>, days: ReadonlyArray<TradingDay>) =>
    (u.expectedBars * symbols.length * days.length) / (u.symbols.length * u.days.length)
  if (u.symbols.length > 1) {
    const mid = Math.ceil(u.symbols.length / 2)
    return [u.symbols.slice(0, mid), u.symbols.slice(mid)].map((symbols) => ({
      ...u,
      symbols,
      expectedBars: share(symbols, u.days)
    }))
  }
  if (u.days.length > 1 && !bySymbolOnly) {
    const mid = Math.ceil(u.days.length / 2)
    return [u.days.slice(0, mid), u.days.slice(mid)].map((days) => ({
      ...u,
      days,
      start: calendar.session(days[0] as string, session)?.open ?? u.start,
      end: calendar.session(days[days.length - 1] as string, session)?.close ?? u.end,
      expectedBars: share(u.symbols, days)
    }))
  }
  return undefined
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)

export const runIngest = (
  request: IngestRequest,
  onProgress: (p: IngestProgress) => Effect.Effect<void> = () => Effect.void
) =>
  Effect.gen(function* () {
    const repo = yield* JobRepository
    const sink = yield* ParquetSink
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
      ...(request.now === undefined ? {} : { now: request.now })
    })
    const refsOf = (u: WorkUnit, symbols: ReadonlyArray<Symbol> = u.symbols) =>
      symbols.flatMap((symbol) => u.days.map((day) => ({ frame: u.frame, symbol, day })))
    const job = yield* repo.createJob(
      {
        kind: request.kind,
        provider: request.provider,
        feed: request.feed,
        frame: request.frame,
        session: request.session,
        symbols: request.symbols,
        startDay: request.from,
        endDay: request.to,
        ...(request.owner === undefined ? {} : { owner: request.owner })
      },
      units.flatMap((u) => refsOf(u))
    )
    const progress = {
      partitionsTotal: plan.partitions,
      partitionsDone: 0,
      partitionsFailed: 0,
      barsWritten: 0,
      barsRejected: 0
    }
    const retry = request.retry ?? defaultRetry
    const frameMinutes = timeframeMinutes(request.frame)
    const source = { provider: request.provider, feed: request.feed, session: request.session }
    const metadata = (jobId: number) => ({
      "marketpipe.provider": request.provider,
      "marketpipe.feed": request.feed,
      "marketpipe.adjustment": request.adjustment,
      "marketpipe.session": request.session,
      "marketpipe.frame": request.frame,
      "marketpipe.job_id": String(jobId)
    })

    const fetchUnit = (u: WorkUnit) =>
      Stream.runCollect(
        request.client.bars({
          symbols: u.symbols,
          frame: u.frame,
          start: u.start,
          end: u.end,
          feed: request.feed,
          adjustment: request.adjustment,
          session: request.session
        })
      ).pipe(Effect.retry({ schedule: retry, while: (e) => e.retryable }))

    const failure = (symbol: string, days: ReadonlyArray<string>, reason: string): UnitFailure => ({
      symbol,
      days,
      // Errors reach the database and the summary: never with a credential in them.
      error: mask(reason)
    })

    /** Validates one symbol's bars and replaces its days in the file; the ledger rows are returned, not written. */
    const writeSymbol = (u: WorkUnit, symbol: Symbol, batches: ReadonlyArray<BarBatch>) =>
      Effect.gen(function* () {
        const fetched = withinSessions(
          concatBatches(symbol, batches),
          request.calendar,
          u.days,
          request.session,
          frameMinutes * 60_000
        )
        const { clean, rejected } = validateBatch(fetched, alignmentMs(request.frame))
        const byDay = new Map(splitByDay(clean.ts).map((p) => [p.day as string, p]))
        const slices = u.days.map((day) => {
          const part = byDay.get(day)
          return {
            day,
            batch: selectRows(clean, part === undefined ? [] : range(part.from, part.to)),
            provider: request.provider,
            feed: request.feed
          }
        })
        const written = yield* sink.writeDays({ frame: u.frame, symbol, period: u.period }, slices, metadata(job.id))
        const rejectedPerDay = new Map<string, number>()
        for (const r of rejected) {
          const day = splitByDay(Float64Array.of(r.ts))[0]?.day ?? ""
          rejectedPerDay.set(day, (rejectedPerDay.get(day) ?? 0) + 1)
        }
        const results = slices.map((s): PartitionResult => {
          const rows = s.batch.ts.length
          const dayRejected = rejectedPerDay.get(s.day) ?? 0
          const expected = request.calendar.expectedBars(s.day, request.session, frameMinutes)
          return {
            frame: u.frame,
            symbol,
            day: s.day,
            rows,
            rejected: dayRejected,
            expected,
            status: coverageStatus(rows, expected, dayRejected),
            hash: written.hashes.get(s.day) ?? "",
            file: written.file
          }
        })
        return { results, bars: clean.ts.length, rejected } satisfies SymbolOutcome as SymbolOutcome
      }).pipe(
        Effect.catchTag("StorageError", (e: StorageError) =>
          Effect.succeed<SymbolOutcome>({
            results: [],
            bars: 0,
            rejected: [],
            failure: failure(symbol, u.days, e.message)
          })
        )
      )

    const processUnit = (u: WorkUnit): Effect.Effect<Array<SymbolOutcome>, ProviderError | RepositoryError> =>
      Effect.gen(function* () {
        yield* repo.markRunning(job.id, refsOf(u))
        const batches = yield* fetchUnit(u)
        const bySymbol = new Map<string, Array<BarBatch>>()
        for (const b of batches) bySymbol.set(b.symbol, [...(bySymbol.get(b.symbol) ?? []), b])
        const outcomes = yield* Effect.forEach(u.symbols, (symbol) =>
          writeSymbol(u, symbol, bySymbol.get(symbol) ?? [])
        )
        const results = outcomes.flatMap((o) => o.results)
        if (results.length > 0) yield* repo.recordDone(job.id, source, results)
        for (const o of outcomes) {
          if (o.failure !== undefined)
            yield* repo.recordFailed(job.id, source, refsOf(u, [o.failure.symbol as Symbol]), o.failure.error)
        }
        return outcomes
      }).pipe(
        Effect.catchTag("ProviderError", (e: ProviderError) => {
          // A fatal error (rejected credentials) fails every unit alike: stop the job rather than repeat it.
          if (e.fatal === true) return Effect.fail(e)
          // One bad symbol or day must not sink the rest of a request: ask for halves until the failure is
          // pinned down. Not when the provider is simply down (retries exhausted): that would only add load.
          const halves =
            e.exhausted === true ? undefined : splitUnit(u, request.calendar, request.session, e.aboutSymbol === true)
          if (halves !== undefined) {
            return Effect.map(Effect.forEach(halves, processUnit), (all) => all.flat())
          }
          return Effect.gen(function* () {
            const f = failure(u.symbols.join(","), u.days, e.message)
            yield* repo.recordFailed(job.id, source, refsOf(u), f.error)
            return [{ results: [], bars: 0, rejected: [], failure: f }]
          })
        })
      )

    const failures: Array<UnitFailure> = []
    const rejectedByRule: Record<string, number> = {}
    const rejectedSample: Array<Rejection> = []

    yield* Stream.fromIterable(units).pipe(
      Stream.mapEffect(processUnit, { concurrency: request.concurrency, unordered: true }),
      Stream.runForEach((outcomes) => {
        for (const o of outcomes) {
          progress.partitionsDone += o.results.length
          progress.barsWritten += o.bars
          progress.barsRejected += o.rejected.length
          for (const r of o.rejected) {
            rejectedByRule[r.rule] = (rejectedByRule[r.rule] ?? 0) + 1
            if (rejectedSample.length < 20) rejectedSample.push(r)
          }
          if (o.failure !== undefined) {
            progress.partitionsFailed += o.failure.days.length
            failures.push(o.failure)
          }
        }
        return onProgress({ ...progress })
      }),
      Effect.onInterrupt(() => repo.finishJob(job.id, progress, "interrupted").pipe(Effect.ignore)),
      Effect.tapError((e) => repo.finishJob(job.id, progress, mask(e.message)).pipe(Effect.ignore))
    )
    const finished = yield* repo.finishJob(job.id, progress)
    return {
      job: finished,
      plan,
      tradingDays: plan.tradingDays,
      failures,
      rejectedByRule,
      rejectedSample
    } satisfies IngestSummary
  })

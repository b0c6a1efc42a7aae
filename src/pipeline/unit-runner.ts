/**
 * The work of one unit, shared by a local run and the queue worker: fetch (retried on one schedule), keep the unit's
 * days, validate, write the lake and quarantine under the file's lock with the ledger rows, and split a failed
 * request in halves until the failing symbol or day is pinned down.
 */
import { Effect, Stream } from "effect"
import { derivedGroups, deriveFiles, writeDerived } from "../aggregation/derive.ts"
import { type BarBatch, emptyBatch, rowsView } from "../domain/bar.ts"
import { previousTradingDay, type TradingDay } from "../domain/calendar.ts"
import type { ProviderError, RepositoryError, StorageError } from "../domain/errors.ts"
import { groupBy } from "../domain/group.ts"
import { splitByDay, tradingDayOf } from "../domain/partition.ts"
import { checkSplits } from "../domain/split-check.ts"
import type { Symbol } from "../domain/symbol.ts"
import { timeframeMinutes } from "../domain/timeframe.ts"
import { type Finding, validateBars } from "../domain/validation.ts"
import { filePeriod } from "../lake/layout.ts"
import { ParquetSink, type WrittenFile } from "../lake/parquet-sink.ts"
import { Metrics } from "../observability/metrics.ts"
import { retrySchedule } from "../providers/kit/retry.ts"
import { mask } from "../providers/kit/secrets.ts"
import { Jobs } from "../repository/jobs.ts"
import { Ledger } from "../repository/ledger.ts"
import { coverageStatus, type PartitionResult } from "../repository/model.ts"
import { Revisions } from "../repository/revisions.ts"
import type { IngestRequest, UnitFailure } from "./ingest-types.ts"
import type { WorkUnit } from "./plan.ts"
import { letSignalsIn } from "./responsive.ts"
import { sortRevalidated } from "./revalidation.ts"
import { alignmentMs, barsBySymbol, splitUnit, withinRequest } from "./unit-shape.ts"

export interface SymbolOutcome {
  readonly results: ReadonlyArray<PartitionResult>
  /** `--revalidate`: days found rewritten by the provider (and rewritten here), and days found as the ledger has them. */
  readonly revised?: number
  readonly unchanged?: number
  /** Higher-frame days built from this symbol's 1m days, per frame, and their bars. */
  readonly derived?: Readonly<Record<string, number>>
  readonly derivedBars?: number
  readonly bars: number
  readonly rejected: number
  readonly findings: ReadonlyArray<Finding>
  readonly failure?: UnitFailure
}

/** A unit whose plugin failed with a retryable error is fetched again under the kit's policy (Effect's 0.8-1.2 spread). */
const defaultRetry = retrySchedule({ baseMs: 250, retries: 4, jitter: { min: 0.8, max: 1.2 } })

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)

/** The partitions (frame, symbol, day) a unit covers, for all its symbols or some. */
export const partitionRefs = (u: WorkUnit, symbols: ReadonlyArray<Symbol> = u.symbols) =>
  symbols.flatMap((symbol) => u.days.map((day) => ({ frame: u.frame, symbol, day })))

/**
 * The work of one unit: fetch, validate, write the lake and quarantine, record the ledger. Shared by `runIngest`
 * (units of one process) and the queue worker (units claimed from the repository).
 */
export const makeUnitRunner = (request: IngestRequest, jobId: number) =>
  Effect.gen(function* () {
    const jobs = yield* Jobs
    const ledger = yield* Ledger
    const revisions = yield* Revisions
    const sink = yield* ParquetSink
    const job = { id: jobId }
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
    const writeSymbol = (u: WorkUnit, symbol: Symbol, bars: BarBatch) =>
      Effect.gen(function* () {
        const fetched = withinRequest(bars, request.calendar, u, request.session, frameMinutes * 60_000)
        const validated = validateBars(fetched, {
          alignMs: alignmentMs(request.frame),
          frameMs: frameMinutes * 60_000,
          sessionOf: (ts) => request.calendar.session(tradingDayOf(ts), request.session),
          ...(request.rules === undefined ? {} : { settings: request.rules })
        })
        const { clean, quarantined, quarantineRules } = validated
        // Day over day inside the unit: a jump a split would explain, or a recorded split the bars do not show.
        const findings =
          request.splits === undefined || request.frame !== "1m"
            ? validated.findings
            : [
                ...validated.findings,
                ...checkSplits(clean, request.splits(symbol), previousTradingDay(request.calendar))
              ]
        const daySlices = (batch: BarBatch, rules?: ReadonlyArray<string>) => {
          const byDay = new Map(splitByDay(batch.ts).map((p) => [p.day as string, p]))
          return [...new Set([...u.days, ...byDay.keys()])].sort().map((day) => {
            const { from, to } = byDay.get(day) ?? { from: 0, to: 0 }
            return {
              day: day as TradingDay,
              // A view, not a copy: the slice is only read (encoded and hashed) before the batch is dropped.
              batch: rowsView(batch, from, to),
              provider: request.provider,
              feed: request.feed,
              ...(rules === undefined ? {} : { rules: range(from, to).map((i) => rules[i] ?? "") })
            }
          })
        }
        const sorted = yield* sortRevalidated(
          request,
          u,
          symbol,
          daySlices(clean).filter((s) => u.days.includes(s.day)),
          ledger,
          sink
        )
        const slices = sorted.write
        const kept = new Set<string>(sorted.unchanged)
        // Quarantine first and mirroring the lake: the same days are replaced, so a re-run never duplicates a
        // rejected bar, and the ledger below is written only once both trees hold the days.
        const rejectedSlices = daySlices(quarantined, quarantineRules).filter((s) => !kept.has(s.day))
        for (const [period, group] of groupBy(rejectedSlices, (s) => filePeriod(u.frame, s.day))) {
          yield* sink.writeQuarantine({ frame: u.frame, symbol, period }, group, metadata(job.id))
        }
        const rejectedPerDay = new Map(rejectedSlices.map((s) => [s.day as string, s.batch.ts.length]))
        const resultsOf = (written: WrittenFile) =>
          slices.map((s): PartitionResult => {
            const rows = s.batch.ts.length
            const dayRejected = rejectedPerDay.get(s.day) ?? 0
            const expected = request.calendar.expectedBars(s.day, request.session, frameMinutes)
            const hash = written.hashes.get(s.day) ?? ""
            return {
              frame: u.frame,
              symbol,
              day: s.day,
              rows,
              rejected: dayRejected,
              expected,
              status: coverageStatus(rows, expected, dayRejected),
              hash,
              contentHash: hash,
              file: written.file,
              // A fill along providers_chain says why, in the same transaction as the day itself.
              ...(rows > 0 && request.filling !== undefined ? { filledFor: request.filling(symbol, s.day) } : {})
            }
          })
        const derived: Record<string, number> = {}
        let derivedBars = 0
        /**
         * The higher frames of the days just written, from the bars in hand, each file under its own lock taken while
         * the 1m file's is held; then the 1m rows and every derived row in one transaction.
         */
        const deriveAndRecord = (w: WrittenFile) => {
          const results = resultsOf(w)
          const plan = request.aggregation
          const files =
            plan === undefined
              ? []
              : deriveFiles(
                  symbol,
                  slices.map((s) => ({ ...s, hash: w.hashes.get(s.day) ?? "" })),
                  plan,
                  request.calendar
                )
          // A rewritten day's audit record goes with its ledger row.
          const audited = <E, R>(record: Effect.Effect<void, E, R>) =>
            sorted.revisions.length === 0 ? record : Effect.andThen(record, revisions.record(job.id, sorted.revisions))
          if (files.length === 0)
            return results.length > 0 ? audited(ledger.recordDone(job.id, source, results)) : Effect.void
          return writeDerived(sink, files, plan?.session ?? request.session, job.id, (done) => {
            for (const [file] of done) {
              derived[file.key.frame] = (derived[file.key.frame] ?? 0) + file.results.length
              derivedBars += file.slices.reduce((n, s) => n + s.batch.ts.length, 0)
            }
            return audited(
              ledger.recordDoneGroups(job.id, [
                { source, results },
                ...derivedGroups(done, plan?.session ?? request.session)
              ])
            )
          })
        }
        // The ledger rows are written under the file's lock, so they describe exactly what the file holds. A
        // revalidation that found every day unchanged writes nothing.
        const written =
          slices.length === 0 && sorted.unchanged.length > 0
            ? { file: "", rows: 0, hashes: new Map<string, string>() }
            : yield* sink.writeDays(
                { frame: u.frame, symbol, period: u.period },
                slices,
                metadata(job.id),
                deriveAndRecord
              )
        if (sorted.unchanged.length > 0) {
          yield* jobs.markUnchanged(
            job.id,
            sorted.unchanged.map((day) => ({ frame: u.frame, symbol, day }))
          )
        }
        const results = resultsOf(written)
        const barsWritten = slices.reduce((n, s) => n + s.batch.ts.length, 0)
        yield* Effect.annotateCurrentSpan({
          "marketpipe.rows": barsWritten,
          "marketpipe.rejected": quarantined.ts.length,
          "marketpipe.file": written.file
        })
        return {
          results,
          derived,
          derivedBars,
          bars: barsWritten,
          rejected: quarantined.ts.length,
          findings,
          revised: sorted.revisions.length,
          unchanged: sorted.unchanged.length
        } satisfies SymbolOutcome as SymbolOutcome
      }).pipe(
        Effect.withSpan("marketpipe.partition", {
          attributes: {
            "marketpipe.job_id": job.id,
            "marketpipe.frame": u.frame,
            "marketpipe.symbol": symbol,
            "marketpipe.first_day": u.days[0],
            "marketpipe.last_day": u.days[u.days.length - 1]
          }
        }),
        Effect.catchTag("StorageError", (e: StorageError) =>
          Effect.succeed<SymbolOutcome>({
            results: [],
            bars: 0,
            rejected: 0,
            findings: [],
            failure: failure(symbol, u.days, e.message)
          })
        )
      )

    const metrics = yield* Metrics
    const labels = { provider: request.provider, feed: request.feed, frame: request.frame }
    /** Counts what a unit did: bars, rules fired, partitions by state (and, for a backfill, the gaps it filled). */
    const count = (outcomes: ReadonlyArray<SymbolOutcome>) => {
      for (const o of outcomes) {
        metrics.barsIngested.inc(labels, o.bars)
        for (const f of o.findings)
          (f.severity === "error" ? metrics.barsQuarantined : metrics.barsWarned).inc({ ...labels, rule: f.rule })
        const done = o.results.length + (o.unchanged ?? 0)
        if (done > 0) metrics.partitions.inc({ ...labels, state: "done" }, done)
        if ((o.revised ?? 0) > 0) metrics.revisions.inc(labels, o.revised)
        if (o.results.length > 0 && request.kind === "backfill") metrics.gapsFilled.inc(labels, o.results.length)
        if (o.failure !== undefined) metrics.partitions.inc({ ...labels, state: "failed" }, o.failure.days.length)
      }
      return outcomes
    }
    const processUnit = (u: WorkUnit): Effect.Effect<Array<SymbolOutcome>, ProviderError | RepositoryError> =>
      Effect.gen(function* () {
        yield* letSignalsIn
        yield* jobs.markRunning(job.id, partitionRefs(u))
        // Not `barsBySymbol(…, yield* fetchUnit(u))`: what a `yield*` returned stays reachable from the generator
        // while the next `yield*` runs (Effect's SingleShotGen holds it), and that one writes every symbol: the
        // provider's pieces would outlive the unit's writes. The map lets each symbol's bars go once it is written.
        const bySymbol = yield* Effect.map(fetchUnit(u), (batches) => barsBySymbol(u.symbols, batches))
        const outcomes = yield* Effect.forEach(u.symbols, (symbol) =>
          Effect.suspend(() => {
            const bars = bySymbol.get(symbol) ?? emptyBatch(symbol)
            bySymbol.delete(symbol)
            return writeSymbol(u, symbol, bars)
          })
        )
        for (const o of outcomes) {
          if (o.failure !== undefined)
            yield* ledger.recordFailed(job.id, source, partitionRefs(u, [o.failure.symbol as Symbol]), o.failure.error)
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
            yield* ledger.recordFailed(job.id, source, partitionRefs(u), mask(e.message))
            // One failure per symbol: the summary and the metrics count every partition (symbols x days) that failed.
            return u.symbols.map(
              (symbol): SymbolOutcome => ({
                results: [],
                bars: 0,
                rejected: 0,
                findings: [],
                failure: failure(symbol, u.days, e.message)
              })
            )
          })
        })
      )

    return (u: WorkUnit) =>
      Effect.map(processUnit(u), (outcomes) => count(outcomes)).pipe(
        Effect.withSpan("marketpipe.unit", {
          attributes: {
            "marketpipe.job_id": job.id,
            "marketpipe.provider": request.provider,
            "marketpipe.feed": request.feed,
            "marketpipe.frame": u.frame,
            "marketpipe.symbols": u.symbols.join(","),
            "marketpipe.symbols_count": u.symbols.length,
            "marketpipe.first_day": u.days[0],
            "marketpipe.last_day": u.days[u.days.length - 1],
            "marketpipe.days_count": u.days.length
          }
        })
      )
  })

/**
 * Aggregation: 1m days from the lake → 5m … 1d files, written through the same sink and recorded in the same
 * ledger. Incremental: a frame's ledger row keeps the content hash of the 1m day it was built from, so only days
 * whose 1m data changed (or were never aggregated) are done again.
 */
import { Effect } from "effect"
import { type BarBatch, rowsView } from "../domain/bar.ts"
import { dayNumber, newYorkToUtc, type SessionKind, type TradingCalendar } from "../domain/calendar.ts"
import { appendTo } from "../domain/group.ts"
import { splitByDay } from "../domain/partition.ts"
import type { Symbol } from "../domain/symbol.ts"
import type { Timeframe } from "../domain/timeframe.ts"
import type { DaySlice } from "../lake/file-format.ts"
import { fileGranularity, fileKeyId } from "../lake/layout.ts"
import { loadOhlcvEffect } from "../lake/load/load-ohlcv.ts"
import { ParquetSink } from "../lake/parquet-sink.ts"
import { letSignalsIn } from "../pipeline/responsive.ts"
import { Jobs } from "../repository/jobs.ts"
import { Ledger } from "../repository/ledger.ts"
import type { CoverageRecord, JobRecord } from "../repository/model.ts"
import { type DerivedFile, type DerivedFrame, derivedGroups, derivedMetadata, deriveFiles } from "./derive.ts"

export interface AggregateRequest {
  readonly calendar: TradingCalendar
  readonly frames: ReadonlyArray<Exclude<Timeframe, "1m">>
  readonly session: SessionKind
  /** Empty: every symbol the 1m ledger has in the range. */
  readonly symbols: ReadonlyArray<string>
  readonly from: string
  readonly to: string
  /** Rebuild even days whose 1m data did not change. */
  readonly force?: boolean
  readonly owner?: string
}

export interface AggregateSummary {
  readonly job: JobRecord | undefined
  /** Days rebuilt per frame. */
  readonly rebuilt: Readonly<Record<string, number>>
  /** Days left as they were because their 1m data did not change. */
  readonly unchanged: number
  readonly barsWritten: number
}

const key = (symbol: string, day: string) => `${symbol}|${day}`

/** What the run keeps of a 1m ledger row: the day to build and what its derived rows carry (not the whole record). */
interface SourceRow {
  readonly symbol: Symbol
  readonly day: string
  readonly provider: string
  readonly feed: string
  readonly hash: string | null
}

/**
 * A row maker that shares one string per distinct symbol, day, provider and feed: each decoded ledger row brings its
 * own copies, and a range's rows stay in memory for the whole run (two years of 100 symbols: 50,200 rows).
 */
const sourceRows = () => {
  const seen = new Map<string, string>()
  const shared = <S extends string>(s: S): S => {
    const known = seen.get(s)
    if (known !== undefined) return known as S
    seen.set(s, s)
    return s
  }
  return (r: CoverageRecord): SourceRow => ({
    symbol: shared(r.symbol),
    day: shared(r.day),
    provider: shared(r.provider),
    feed: shared(r.feed),
    hash: r.hash
  })
}

/** A symbol's wanted rows per frame, each frame's by 1m month (`2024-03`), days in order. */
type SymbolWork = Map<DerivedFrame, Map<string, Array<SourceRow>>>

export const runAggregation = (request: AggregateRequest) =>
  Effect.gen(function* () {
    const jobs = yield* Jobs
    const ledger = yield* Ledger
    const sink = yield* ParquetSink
    const scope = { symbols: request.symbols, from: request.from, to: request.to }
    // Of the ledger rows only what the run needs is kept, cut down inside `Effect.map`: what a `yield*` returned
    // stays reachable from the generator while the next `yield*` runs (Effect's SingleShotGen holds it).
    const source = yield* Effect.map(ledger.coverage({ frame: "1m", ...scope }), (records) =>
      records
        .filter(
          (r) =>
            (r.status === "complete" || r.status === "partial") &&
            (r.session === request.session || r.session === "extended")
        )
        .map(sourceRows())
    )
    // Which (frame, symbol, day) need building: new days and days whose 1m hash moved on.
    const todo = new Map<DerivedFrame, ReadonlyArray<SourceRow>>()
    let unchanged = 0
    for (const frame of request.frames) {
      const needed =
        request.force === true
          ? source
          : yield* Effect.map(ledger.coverage({ frame, ...scope }), (records) => {
              const built = new Map(records.map((r) => [key(r.symbol, r.day), r.hash]))
              return source.filter((r) => built.get(key(r.symbol, r.day)) !== r.hash)
            })
      unchanged += source.length - needed.length
      todo.set(frame, needed)
    }
    const total = [...todo.values()].reduce((n, list) => n + list.length, 0)
    if (total === 0) return { job: undefined, rebuilt: {}, unchanged, barsWritten: 0 } satisfies AggregateSummary
    const symbols = [...new Set(source.map((r) => r.symbol))].sort()
    const job = yield* jobs.create(
      {
        kind: "aggregate",
        provider: "marketpipe",
        feed: "derived",
        frame: request.frames.join(","),
        session: request.session,
        symbols,
        startDay: request.from,
        endDay: request.to,
        ...(request.owner === undefined ? {} : { owner: request.owner })
      },
      [...todo].flatMap(([frame, list]) => list.map((r) => ({ frame, symbol: r.symbol, day: r.day })))
    )
    // Days rebuilt per frame; reported in the order the frames were asked for, whichever file was written first.
    const rebuilt = new Map<string, number>(request.frames.map((f) => [f, 0]))
    let barsWritten = 0

    const bySymbol = new Map<Symbol, SymbolWork>()
    for (const [frame, list] of todo) {
      for (const r of list) {
        const frames: SymbolWork = bySymbol.get(r.symbol) ?? new Map()
        const months = frames.get(frame) ?? new Map<string, Array<SourceRow>>()
        appendTo(months, r.day.slice(0, 7), r)
        frames.set(frame, months)
        bySymbol.set(r.symbol, frames)
      }
    }
    const totals = () => ({
      partitionsDone: [...rebuilt.values()].reduce((a, b) => a + b, 0),
      partitionsFailed: 0,
      barsWritten,
      barsRejected: 0
    })
    const write = (file: DerivedFile) =>
      // A derived day's row carries its source's provider and feed, and the 1m hash it was built from.
      sink
        .writeDays(
          file.key,
          file.slices,
          derivedMetadata(file.key.frame as DerivedFrame, request.session, job.id),
          (w) => ledger.recordDoneGroups(job.id, derivedGroups([[file, w]], request.session))
        )
        .pipe(
          Effect.tap(() =>
            Effect.sync(() => {
              barsWritten += file.slices.reduce((n, s) => n + s.batch.ts.length, 0)
              rebuilt.set(file.key.frame, (rebuilt.get(file.key.frame) ?? 0) + file.results.length)
            })
          )
        )

    /**
     * One symbol, one 1m month at a time: a month's file is read once and its monthly frames written at once, while a
     * yearly frame's days wait (a few thousand bars a year) until the year is done, so each file is still written
     * once (a yearly 1h file takes all twelve months in one write instead of twelve rewrites).
     */
    const aggregateSymbol = (symbol: Symbol, work: SymbolWork) =>
      Effect.gen(function* () {
        const months = [...new Set([...work.values()].flatMap((m) => [...m.keys()]))].sort()
        const yearly = new Map<string, DerivedFile & { slices: Array<DaySlice>; results: Array<Result> }>()
        const flushYear = Effect.suspend(() => {
          const files = [...yearly.values()]
          yearly.clear()
          return Effect.forEach(files, write, { concurrency: "unbounded", discard: true })
        })
        for (const month of months) {
          yield* letSignalsIn
          if ([...yearly.values()].some((f) => f.key.period !== month.slice(0, 4))) yield* flushYear
          const wantedDays = new Set([...work.values()].flatMap((m) => (m.get(month) ?? []).map((r) => r.day)))
          const byDay = yield* Effect.map(loadMonth(symbol, wantedDays, sink.dataDir), (frame1m) =>
            daysOf(symbol, frame1m, wantedDays)
          )
          const monthly: Array<DerivedFile> = []
          for (const [frame, wantedByMonth] of work) {
            const days = (wantedByMonth.get(month) ?? []).flatMap((r) => {
              const batch = byDay.get(r.day)
              return batch === undefined
                ? []
                : [{ day: r.day, batch, provider: r.provider, feed: r.feed, hash: r.hash ?? "" }]
            })
            for (const file of deriveFiles(
              symbol,
              days,
              { frames: [frame], session: request.session },
              request.calendar
            )) {
              if (fileGranularity(frame) === "month") {
                monthly.push(file)
                continue
              }
              const id = fileKeyId(file.key)
              const waiting = yearly.get(id) ?? { key: file.key, slices: [], results: [] }
              waiting.slices.push(...file.slices)
              waiting.results.push(...file.results)
              yearly.set(id, waiting)
            }
          }
          yield* Effect.forEach(monthly, write, { concurrency: "unbounded", discard: true })
        }
        yield* flushYear
      })

    yield* Effect.gen(function* () {
      yield* Effect.forEach(bySymbol, ([symbol, work]) => aggregateSymbol(symbol, work), {
        concurrency: SYMBOLS_AT_ONCE,
        discard: true
      })
    }).pipe(
      // A stopped or failed aggregation closes its job: never left `running` for the next run to call abandoned.
      Effect.onInterrupt(() => jobs.finish(job.id, totals(), "interrupted").pipe(Effect.ignore)),
      Effect.tapError((e) => jobs.finish(job.id, totals(), e.message).pipe(Effect.ignore))
    )
    const finished = yield* jobs.finish(job.id, totals())
    return {
      job: finished,
      rebuilt: Object.fromEntries([...rebuilt].filter(([, days]) => days > 0)),
      unchanged,
      barsWritten
    } satisfies AggregateSummary
  })

type Result = DerivedFile["results"][number]

/**
 * Symbols aggregated at once. One at a time left both threads idle half the time, each write waiting on the one
 * before (read, encode, fsync, rename, ledger row); four kept them busy: 100 symbols × 12 months --force took
 * 69 s with one, 39 s with two, 27 s with four (BENCHMARKS.md, "aggregate"). Each holds one 1m month at most.
 */
const SYMBOLS_AT_ONCE = 4

/** The 1m bars of a symbol's wanted days of one month (the research read path decodes columns straight into arrays). */
const loadMonth = (symbol: Symbol, days: ReadonlySet<string>, dataDir: string) => {
  const sorted = [...days].sort()
  return loadOhlcvEffect({
    symbols: [symbol],
    start: newYorkToUtc(dayNumber(sorted[0] as string), 0, 0),
    end: newYorkToUtc(dayNumber(sorted[sorted.length - 1] as string) + 1, 0, 0),
    timeframe: "1m",
    columns: ["open", "high", "low", "close", "volume", "trade_count", "vwap"],
    dataDir
  })
}

/** The wanted days of a loaded frame, as views on its columns. */
function daysOf(
  symbol: Symbol,
  frame1m: Effect.Success<ReturnType<typeof loadMonth>>,
  wanted: ReadonlySet<string>
): Map<string, BarBatch> {
  const all: BarBatch = {
    symbol,
    ts: frame1m.ts,
    open: frame1m.open,
    high: frame1m.high,
    low: frame1m.low,
    close: frame1m.close,
    volume: frame1m.volume,
    tradeCount: frame1m.trade_count,
    vwap: frame1m.vwap
  }
  const byDay = new Map<string, BarBatch>()
  for (const part of splitByDay(all.ts)) {
    if (wanted.has(part.day)) byDay.set(part.day, rowsView(all, part.from, part.to))
  }
  return byDay
}

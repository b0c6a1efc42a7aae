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
import { loadOhlcvEffect } from "../lake/load/load-ohlcv.ts"
import { ParquetSink } from "../lake/parquet-sink.ts"
import { letSignalsIn } from "../pipeline/responsive.ts"
import { Jobs } from "../repository/jobs.ts"
import { Ledger } from "../repository/ledger.ts"
import type { CoverageRecord, JobRecord } from "../repository/model.ts"
import { type DerivedFrame, derivedGroups, derivedMetadata, deriveFiles } from "./derive.ts"

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

export const runAggregation = (request: AggregateRequest) =>
  Effect.gen(function* () {
    const jobs = yield* Jobs
    const ledger = yield* Ledger
    const sink = yield* ParquetSink
    const source = (yield* ledger.coverage({
      frame: "1m",
      symbols: request.symbols,
      from: request.from,
      to: request.to
    })).filter(
      (r) =>
        (r.status === "complete" || r.status === "partial") &&
        (r.session === request.session || r.session === "extended")
    )
    // Which (frame, symbol, day) need building: new days and days whose 1m hash moved on.
    const todo = new Map<string, Array<CoverageRecord>>()
    let unchanged = 0
    for (const frame of request.frames) {
      const built = new Map(
        (yield* ledger.coverage({ frame, symbols: request.symbols, from: request.from, to: request.to })).map((r) => [
          key(r.symbol, r.day),
          r.hash
        ])
      )
      const needed = source.filter((r) => request.force === true || built.get(key(r.symbol, r.day)) !== r.hash)
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
    const rebuilt: Record<string, number> = {}
    let barsWritten = 0

    // One symbol at a time: read each 1m month it needs once, then write every target file once (a yearly 1h file
    // takes all twelve months in one write instead of twelve rewrites).
    const bySymbol = new Map<Symbol, Map<string, Array<CoverageRecord>>>()
    for (const [frame, list] of todo) {
      for (const r of list) {
        const frames = bySymbol.get(r.symbol) ?? new Map<string, Array<CoverageRecord>>()
        appendTo(frames, frame, r)
        bySymbol.set(r.symbol, frames)
      }
    }
    const totals = () => ({
      partitionsDone: Object.values(rebuilt).reduce((a, b) => a + b, 0),
      partitionsFailed: 0,
      barsWritten,
      barsRejected: 0
    })
    yield* Effect.gen(function* () {
      for (const [symbol, frames] of bySymbol) {
        yield* letSignalsIn
        const wantedDays = new Set([...frames.values()].flatMap((list) => list.map((r) => r.day)))
        const sorted = [...wantedDays].sort()
        // The research read path is the fastest way through the 1m files (it decodes columns straight into arrays).
        const frame1m = yield* loadOhlcvEffect({
          symbols: [symbol],
          start: newYorkToUtc(dayNumber(sorted[0] as string), 0, 0),
          end: newYorkToUtc(dayNumber(sorted[sorted.length - 1] as string) + 1, 0, 0),
          timeframe: "1m",
          columns: ["open", "high", "low", "close", "volume", "trade_count", "vwap"],
          dataDir: sink.dataDir
        })
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
          if (wantedDays.has(part.day)) byDay.set(part.day, rowsView(all, part.from, part.to))
        }
        for (const [frameName, wanted] of frames) {
          const frame = frameName as DerivedFrame
          const days = wanted.flatMap((r) => {
            const batch = byDay.get(r.day)
            return batch === undefined
              ? []
              : [{ day: r.day, batch, provider: r.provider, feed: r.feed, hash: r.hash ?? "" }]
          })
          const files = deriveFiles(symbol, days, { frames: [frame], session: request.session }, request.calendar)
          for (const file of files) {
            // A derived day's row carries its source's provider and feed, and the 1m hash it was built from.
            yield* sink.writeDays(file.key, file.slices, derivedMetadata(frame, request.session, job.id), (w) =>
              ledger.recordDoneGroups(job.id, derivedGroups([[file, w]], request.session))
            )
            barsWritten += file.slices.reduce((n, s) => n + s.batch.ts.length, 0)
            rebuilt[frame] = (rebuilt[frame] ?? 0) + file.results.length
          }
        }
      }
    }).pipe(
      // A stopped or failed aggregation closes its job: never left `running` for the next run to call abandoned.
      Effect.onInterrupt(() => jobs.finish(job.id, totals(), "interrupted").pipe(Effect.ignore)),
      Effect.tapError((e) => jobs.finish(job.id, totals(), e.message).pipe(Effect.ignore))
    )
    const finished = yield* jobs.finish(job.id, totals())
    return { job: finished, rebuilt, unchanged, barsWritten } satisfies AggregateSummary
  })

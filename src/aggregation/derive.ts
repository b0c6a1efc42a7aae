/**
 * Higher frames from 1m days already in memory, and how they reach the lake and the ledger. Buckets are
 * session-anchored, so a bucket never spans two days: a frame's day is built from that 1m day alone and replaces the
 * same day in the frame's file. Used by the ingest (the days a unit has just written, before anything is read back)
 * and by `ohlcv aggregate` (days read back from the lake).
 */
import { Effect } from "effect"
import { aggregateSession } from "../domain/aggregate.ts"
import type { BarBatch } from "../domain/bar.ts"
import type { SessionKind, TradingCalendar } from "../domain/calendar.ts"
import { appendTo } from "../domain/group.ts"
import type { Symbol } from "../domain/symbol.ts"
import { type Timeframe, timeframeMinutes } from "../domain/timeframe.ts"
import type { DaySlice } from "../lake/file-format.ts"
import { type FileKey, filePeriod } from "../lake/layout.ts"
import type { ParquetSinkShape, WrittenFile } from "../lake/parquet-sink.ts"
import type { DoneGroup } from "../repository/ledger.ts"
import { coverageStatus, type PartitionResult } from "../repository/model.ts"

export type DerivedFrame = Exclude<Timeframe, "1m">

/** What higher frames to build and on which session's buckets. */
export interface DerivationPlan {
  readonly frames: ReadonlyArray<DerivedFrame>
  readonly session: SessionKind
}

/** A 1m day to build from: its bars, its source, and the content hash of its 1m rows. */
export interface SourceDay {
  readonly day: string
  readonly batch: BarBatch
  readonly provider: string
  readonly feed: string
  readonly hash: string
}

/** One target file of one frame: the days to replace in it and their ledger rows (file and content hash to come). */
export interface DerivedFile {
  readonly key: FileKey
  readonly slices: ReadonlyArray<DaySlice>
  readonly results: ReadonlyArray<PartitionResult & { readonly provider: string; readonly feed: string }>
}

/** Builds every frame's days from the source days, grouped by target file, frames in the order asked for. */
export function deriveFiles(
  symbol: Symbol,
  days: ReadonlyArray<SourceDay>,
  plan: DerivationPlan,
  calendar: TradingCalendar
): Array<DerivedFile> {
  const files: Array<DerivedFile> = []
  for (const frame of plan.frames) {
    const minutes = timeframeMinutes(frame)
    const byPeriod = new Map<string, Array<{ slice: DaySlice; result: DerivedFile["results"][number] }>>()
    for (const source of days) {
      const session = calendar.session(source.day, plan.session)
      if (session === undefined || source.batch.ts.length === 0) continue
      const batch = aggregateSession(source.batch, session, plan.session, minutes)
      const expected = calendar.expectedBars(source.day, plan.session, minutes)
      appendTo(byPeriod, filePeriod(frame, source.day), {
        slice: { day: source.day, batch, provider: source.provider, feed: source.feed },
        result: {
          frame,
          symbol,
          day: source.day,
          rows: batch.ts.length,
          rejected: 0,
          expected,
          status: coverageStatus(batch.ts.length, expected, 0),
          hash: source.hash,
          contentHash: "",
          file: "",
          provider: source.provider,
          feed: source.feed
        }
      })
    }
    for (const period of [...byPeriod.keys()].sort()) {
      const entries = byPeriod.get(period) ?? []
      files.push({
        key: { frame, symbol, period },
        slices: entries.map((e) => e.slice),
        results: entries.map((e) => e.result)
      })
    }
  }
  return files
}

/** The ledger rows of derived files as written: one group per source (provider, feed). */
export function derivedGroups(
  written: ReadonlyArray<readonly [DerivedFile, WrittenFile]>,
  session: SessionKind
): Array<DoneGroup> {
  const groups = new Map<string, Array<PartitionResult>>()
  for (const [file, w] of written) {
    for (const { provider, feed, ...r } of file.results) {
      appendTo(groups, `${provider}|${feed}`, { ...r, file: w.file, contentHash: w.hashes.get(r.day) ?? "" })
    }
  }
  return [...groups].map(([id, results]) => {
    const [provider = "", feed = ""] = id.split("|")
    return { source: { provider, feed, session }, results }
  })
}

export const derivedMetadata = (frame: DerivedFrame, session: SessionKind, jobId: number) => ({
  "marketpipe.frame": frame,
  "marketpipe.session": session,
  "marketpipe.aggregated_from": "1m",
  "marketpipe.job_id": String(jobId)
})

/**
 * Writes the derived files side by side, holding every file's lock (taken in the order `deriveFiles` returns: frame,
 * then period, so two writers never wait on each other in a cycle); `record` runs once every file is in place, with
 * all the locks held, so one transaction can record them. Side by side, not one after another: each write waits on a
 * writer thread and on the disk, and six in a row kept both threads of an ingest idle half the time.
 */
export const writeDerived = <E, R>(
  sink: ParquetSinkShape,
  files: ReadonlyArray<DerivedFile>,
  session: SessionKind,
  jobId: number,
  record: (written: ReadonlyArray<readonly [DerivedFile, WrittenFile]>) => Effect.Effect<void, E, R>
) =>
  Effect.asVoid(
    sink.writeFilesTogether(
      files.map((file) => ({
        key: file.key,
        days: file.slices,
        metadata: derivedMetadata(file.key.frame as DerivedFrame, session, jobId)
      })),
      (written) => record(files.map((file, i) => [file, written[i] as WrittenFile] as const))
    )
  )

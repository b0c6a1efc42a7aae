/**
 * The heavy half of a lake write, as one function every thread runs: read and decode the current file, merge the new
 * days over it (whole days replace whole days), encode, write the temp file and fsync it, hash each new day. The
 * caller holds the file's lock and does the half others can see (rename or removal, directory fsync, ledger rows).
 * The lake's writer threads (`write-worker.ts`, started by `write-pool.ts`) and the same-thread path both run
 * `runWriteJob`, so the file logic has one code path; this file also holds the messages between the two sides.
 */
import { Effect, Schema } from "effect"
import { type BarBatch, rowsView } from "../domain/bar.ts"
import { StorageError } from "../domain/errors.ts"
import { splitByDay } from "../domain/partition.ts"
import type { Symbol } from "../domain/symbol.ts"
import { writeTempFile } from "./atomic-file.ts"
import { batchHash } from "./content-hash.ts"
import { type DaySlice, encodeBars } from "./file-format.ts"
import { type DecodedFile, readLakeFile } from "./read/decode-file.ts"

export interface WriteJob {
  /** The lake file, absolute. */
  readonly path: string
  /** Where the new file goes before the rename. The caller names it, so it can remove it whatever happens. */
  readonly temp: string
  readonly symbol: Symbol
  readonly days: ReadonlyArray<DaySlice>
  readonly metadata: Readonly<Record<string, string>>
}

export const WriteOutcome = Schema.Struct({
  /** Rows of the merged file; 0 when no day is left, and then no temp file was written. */
  rows: Schema.Number,
  /** Size of the temp file. */
  bytes: Schema.Number,
  /** A file was there before: with `rows` 0 the caller removes it. */
  existed: Schema.Boolean,
  /** Content hash of each day of the job, in the job's order. */
  hashes: Schema.Array(Schema.Tuple([Schema.String, Schema.String])),
  /** The thread that did the work: `main`, or a writer thread's name. */
  thread: Schema.String,
  /** The days the file held before, and holds after, the write (sorted). */
  daysBefore: Schema.Array(Schema.String),
  daysAfter: Schema.Array(Schema.String),
  /**
   * The write changed or removed a day the file held (its bars or their provider): the old version is not a part of
   * the new one, so the sink keeps its bytes for as-of reads.
   */
  revised: Schema.Boolean
})
export type WriteOutcome = typeof WriteOutcome.Type

/** Days already in a decoded file, as slices, keeping their own provenance. */
function existingSlices(file: DecodedFile): Array<DaySlice> {
  return splitByDay(file.batch.ts).map(({ day, from, to }) => ({
    day,
    // Views on the decoded file's columns: they are only read again, by the encoder of the merged file.
    batch: rowsView(file.batch, from, to),
    provider: file.provider[from] ?? "",
    feed: file.feed[from] ?? "",
    ...(file.rules === undefined ? {} : { rules: file.rules.slice(from, to) })
  }))
}

/** Whether writing `days` over a file holding `before` changes or removes one of its days (bars or provenance). */
function revises(
  before: ReadonlyArray<DaySlice>,
  days: ReadonlyArray<DaySlice>,
  hashes: ReadonlyMap<string, string>
): boolean {
  const incoming = new Map(days.map((d) => [d.day as string, d]))
  return before.some((old) => {
    const next = incoming.get(old.day)
    if (next === undefined) return false
    return (
      next.batch.ts.length === 0 ||
      next.provider !== old.provider ||
      next.feed !== old.feed ||
      hashes.get(old.day) !== batchHash(old.batch)
    )
  })
}

export const runWriteJob = (job: WriteJob, thread: string): Effect.Effect<WriteOutcome, StorageError> =>
  Effect.gen(function* () {
    const fail = (cause: unknown) =>
      new StorageError({ path: job.path, reason: cause instanceof Error ? cause.message : String(cause) })
    const current = yield* readLakeFile(job.path, job.symbol)
    const replaced = new Set(job.days.map((d) => d.day))
    const kept = current === undefined ? [] : existingSlices(current).filter((s) => !replaced.has(s.day))
    const merged = [...kept, ...job.days.filter((d) => d.batch.ts.length > 0)].sort((a, b) => (a.day < b.day ? -1 : 1))
    const hashes = job.days.map((d) => [d.day, batchHash(d.batch)] as const)
    const existed = current !== undefined
    const before = current === undefined ? [] : existingSlices(current)
    const versions = {
      daysBefore: before.map((s) => s.day as string),
      daysAfter: merged.map((s) => s.day as string),
      revised: revises(before, job.days, new Map(hashes))
    }
    if (merged.length === 0) return { rows: 0, bytes: 0, existed, hashes, thread, ...versions }
    const bytes = yield* Effect.try({ try: () => encodeBars(job.symbol, merged, job.metadata), catch: fail })
    yield* Effect.try({ try: () => writeTempFile(job.temp, bytes), catch: fail })
    const rows = merged.reduce((n, s) => n + s.batch.ts.length, 0)
    return { rows, bytes: bytes.length, existed, hashes, thread, ...versions }
  })

/** A job as the pool posts it to a writer thread. */
export interface WriteRequest {
  readonly id: number
  readonly job: WriteJob
}

/** What a writer thread posts back: once `ready` when it has loaded, then one reply per request. */
export const WriterMessage = Schema.Union([
  Schema.Struct({ ready: Schema.Literal(true) }),
  Schema.Struct({ id: Schema.Number, ok: Schema.Literal(true), outcome: WriteOutcome }),
  Schema.Struct({ id: Schema.Number, ok: Schema.Literal(false), path: Schema.String, reason: Schema.String })
])
export type WriterMessage = typeof WriterMessage.Type

/** A writer thread's answer to one request; never rejects (a defect becomes a failed reply naming the file). */
export const answer = (request: WriteRequest, thread: string): Promise<WriterMessage> =>
  Effect.runPromise(
    Effect.match(runWriteJob(request.job, thread), {
      onFailure: (e) => ({ id: request.id, ok: false as const, path: e.path, reason: e.reason }),
      onSuccess: (outcome) => ({ id: request.id, ok: true as const, outcome })
    })
  ).catch((defect: unknown) => ({
    id: request.id,
    ok: false as const,
    path: request.job.path,
    reason: defect instanceof Error ? defect.message : String(defect)
  }))

const FLOAT_COLUMNS = ["ts", "open", "high", "low", "close", "volume", "tradeCount", "vwap"] as const

/**
 * The job with its columns copied into one buffer of numbers (and one of `partial` flags), the day batches as views
 * on them, and those two buffers to transfer. Day slices are often views on a batch the caller keeps using after the
 * write: transferring a view's buffer would detach the whole batch under it. One copy into two buffers, not one
 * array per column per day: a month of a derived frame is a few hundred small columns, and each transferred
 * buffer costs the message more than its bytes do.
 */
export function transferable(job: WriteJob): { readonly job: WriteJob; readonly transfer: Array<ArrayBuffer> } {
  const rows = job.days.reduce((n, d) => n + d.batch.ts.length, 0)
  const flagged = job.days.reduce((n, d) => n + (d.batch.partial?.length ?? 0), 0)
  const numbers = new Float64Array(rows * FLOAT_COLUMNS.length)
  const flags = new Uint8Array(flagged)
  let at = 0
  let flagAt = 0
  const copy = (column: Float64Array): Float64Array => {
    const view = numbers.subarray(at, at + column.length)
    view.set(column)
    at += column.length
    return view
  }
  const days = job.days.map((d): DaySlice => {
    const b = d.batch
    const [ts, open, high, low, close, volume, tradeCount, vwap] = FLOAT_COLUMNS.map((c) => copy(b[c])) as [
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array
    ]
    let partial: Uint8Array | undefined
    if (b.partial !== undefined) {
      partial = flags.subarray(flagAt, flagAt + b.partial.length)
      partial.set(b.partial)
      flagAt += b.partial.length
    }
    const batch: BarBatch = {
      symbol: b.symbol,
      ts,
      open,
      high,
      low,
      close,
      volume,
      tradeCount,
      vwap,
      ...(partial === undefined ? {} : { partial })
    }
    return { ...d, batch }
  })
  return { job: { ...job, days }, transfer: [numbers.buffer, flags.buffer] }
}

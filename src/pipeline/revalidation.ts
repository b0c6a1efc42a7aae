/**
 * Revision detection: a backfill with `--revalidate` fetches its trailing window again, days the ledger already
 * has included, and sorts each fetched day of that window against the ledger's content hash. An equal day is not
 * written at all (no file touched, no version kept); a changed one is rewritten like any other day, with an audit
 * record of what changed, made in the same transaction as its ledger row. A day the provider now returns empty, or
 * that another provider filled, is left as it is: an empty answer is no evidence that history changed.
 */
import { Effect } from "effect"
import { rowsView } from "../domain/bar.ts"
import type { TradingDay } from "../domain/calendar.ts"
import type { RepositoryError, StorageError } from "../domain/errors.ts"
import { splitByDay } from "../domain/partition.ts"
import { diffDay } from "../domain/revision.ts"
import type { Symbol } from "../domain/symbol.ts"
import { batchHash } from "../lake/content-hash.ts"
import type { DaySlice } from "../lake/file-format.ts"
import type { ParquetSinkShape } from "../lake/parquet-sink.ts"
import type { LedgerShape } from "../repository/ledger.ts"
import type { NewRevision } from "../repository/revisions.ts"
import type { IngestRequest } from "./ingest-types.ts"
import type { WorkUnit } from "./plan.ts"

/** The days of a symbol's fetch sorted out: those to write, those found unchanged, and the revisions among them. */
export interface Revalidated<S extends DaySlice> {
  readonly write: ReadonlyArray<S>
  readonly unchanged: ReadonlyArray<TradingDay>
  readonly revisions: ReadonlyArray<NewRevision>
}

export const inWindow = (request: Pick<IngestRequest, "revalidate">, day: string): boolean =>
  request.revalidate !== undefined && day >= request.revalidate.from && day <= request.revalidate.to

/** Sorts the fetched `slices` of one symbol's unit; without `--revalidate`, or outside its window, all are written. */
export const sortRevalidated = <S extends DaySlice & { readonly day: TradingDay }>(
  request: IngestRequest,
  u: WorkUnit,
  symbol: Symbol,
  slices: ReadonlyArray<S>,
  ledger: LedgerShape,
  sink: ParquetSinkShape
): Effect.Effect<Revalidated<S>, RepositoryError | StorageError> =>
  Effect.gen(function* () {
    const window = slices.filter((s) => inWindow(request, s.day))
    const all: Revalidated<S> = { write: slices, unchanged: [], revisions: [] }
    if (window.length === 0) return all
    const records = yield* ledger.coverage({
      frame: u.frame,
      symbols: [symbol],
      from: window[0]?.day as string,
      to: window[window.length - 1]?.day as string
    })
    const held = new Map(
      records.filter((r) => r.status !== "missing" && r.session === request.session).map((r) => [r.day as string, r])
    )
    const write: Array<S> = []
    const unchanged: Array<TradingDay> = []
    const changed: Array<{ slice: S; oldHash: string | null }> = []
    for (const s of slices) {
      const record = inWindow(request, s.day) ? held.get(s.day) : undefined
      if (record === undefined) write.push(s)
      else if (record.provider !== request.provider || record.feed !== request.feed || s.batch.ts.length === 0) {
        unchanged.push(s.day)
      } else {
        const before = record.contentHash ?? record.hash
        if (before === batchHash(s.batch)) unchanged.push(s.day)
        else {
          write.push(s)
          changed.push({ slice: s, oldHash: before })
        }
      }
    }
    if (changed.length === 0) return { write, unchanged, revisions: [] }
    // What the lake holds for those days now, as the manifest records it (a killed rewrite's kept copy first).
    const file = yield* sink.readRecorded({ frame: u.frame, symbol, period: u.period })
    const heldDays = new Map(
      file === undefined
        ? []
        : splitByDay(file.batch.ts).map((p) => [p.day as string, rowsView(file.batch, p.from, p.to)])
    )
    const revisions = changed.map(({ slice, oldHash }): NewRevision => {
      const before = heldDays.get(slice.day)
      const diff =
        before === undefined
          ? { added: slice.batch.ts.length, removed: 0, changed: 0, sample: [] }
          : diffDay(before, slice.batch)
      return {
        frame: u.frame,
        symbol,
        day: slice.day,
        provider: request.provider,
        feed: request.feed,
        oldHash,
        newHash: batchHash(slice.batch),
        ...diff
      }
    })
    return { write, unchanged, revisions }
  })

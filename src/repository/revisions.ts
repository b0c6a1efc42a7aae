/**
 * The `Revisions` service: the audit trail of history a provider rewrote. A revalidating backfill appends one row per
 * changed day, in the transaction that records the rewritten day in the ledger; `revisions list` reads them.
 */
import { Context, Effect, Layer, Schema } from "effect"
import { SqlClient } from "effect/sql"
import type { RepositoryError } from "../domain/errors.ts"
import type { RevisionSample } from "../domain/revision.ts"
import { Symbol } from "../domain/symbol.ts"
import { Timeframe } from "../domain/timeframe.ts"
import { Count, Day, Instant, Json } from "./internal/columns.ts"
import { DatabaseName, decodeRows, finish, type Raw } from "./internal/database.ts"
import { nonEmpty, nowIso } from "./internal/statements.ts"

/** A changed day as the revalidation found it. */
export interface NewRevision {
  readonly frame: Timeframe
  readonly symbol: Symbol
  readonly day: string
  readonly provider: string
  readonly feed: string
  readonly oldHash: string | null
  readonly newHash: string
  readonly added: number
  readonly removed: number
  readonly changed: number
  readonly sample: ReadonlyArray<RevisionSample>
}

const Sample = Schema.Array(
  Schema.Struct({
    ts: Schema.String,
    change: Schema.Literals(["added", "removed", "changed"]),
    fields: Schema.optionalKey(
      Schema.Record(
        Schema.String,
        Schema.Struct({ old: Schema.NullOr(Schema.Number), new: Schema.NullOr(Schema.Number) })
      )
    )
  })
)

export const RevisionRecord = Schema.Struct({
  id: Count,
  jobId: Count,
  detectedAt: Instant,
  frame: Timeframe,
  symbol: Symbol,
  day: Day,
  provider: Schema.String,
  feed: Schema.String,
  oldHash: Schema.NullOr(Schema.String),
  newHash: Schema.String,
  barsAdded: Count,
  barsRemoved: Count,
  barsChanged: Count,
  sample: Json(Sample)
}).pipe(
  Schema.encodeKeys({
    jobId: "job_id",
    detectedAt: "detected_at",
    oldHash: "old_hash",
    newHash: "new_hash",
    barsAdded: "bars_added",
    barsRemoved: "bars_removed",
    barsChanged: "bars_changed"
  })
)
export type RevisionRecord = typeof RevisionRecord.Type

export interface RevisionFilter {
  readonly symbols?: ReadonlyArray<string> | undefined
  /** Detected at or after this instant (ISO). */
  readonly since?: string | undefined
  readonly limit: number
}

export interface RevisionsShape {
  /** Appends the changed days of one write (call it inside the write's ledger transaction). */
  readonly record: (jobId: number, revisions: ReadonlyArray<NewRevision>) => Effect.Effect<void, RepositoryError>
  /** Newest first. */
  readonly list: (filter: RevisionFilter) => Effect.Effect<ReadonlyArray<RevisionRecord>, RepositoryError>
}

export class Revisions extends Context.Service<Revisions, RevisionsShape>()("marketpipe/Revisions") {}

const revisionRows = decodeRows(RevisionRecord)

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const database = yield* DatabaseName
  const raw: Raw<RevisionsShape> = {
    record: (jobId, revisions) =>
      Effect.gen(function* () {
        const at = yield* nowIso
        const rows = nonEmpty(
          revisions.map((r) => ({
            job_id: jobId,
            detected_at: at,
            frame: r.frame,
            symbol: r.symbol,
            day: r.day,
            provider: r.provider,
            feed: r.feed,
            old_hash: r.oldHash,
            new_hash: r.newHash,
            bars_added: r.added,
            bars_removed: r.removed,
            bars_changed: r.changed,
            sample: JSON.stringify(r.sample)
          }))
        )
        if (rows !== undefined) yield* sql`INSERT INTO revisions ${sql.insert(rows)}`
      }),
    list: (f) =>
      Effect.flatMap(
        sql`SELECT * FROM revisions WHERE 1 = 1
          ${f.symbols !== undefined && f.symbols.length > 0 ? sql`AND symbol IN ${sql.in(f.symbols)}` : sql``}
          ${f.since === undefined ? sql`` : sql`AND detected_at >= ${f.since}`}
          ORDER BY detected_at DESC, id DESC ${f.limit > 0 ? sql`LIMIT ${f.limit}` : sql``}`,
        revisionRows
      )
  }
  return Revisions.of(finish(database, raw))
})

export const layer = Layer.effect(Revisions, make)

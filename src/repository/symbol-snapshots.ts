/**
 * The `SymbolSnapshots` service: what a source said about every symbol it listed on a date (`universe refresh`),
 * kept so a universe can be rebuilt as of any past date from what was known then. Recording a source's snapshot of
 * a date replaces that snapshot whole, in one transaction: a refresh that fails half-way stores nothing.
 */
import { Context, Effect, Layer, Schema } from "effect"
import { SqlClient } from "effect/sql"
import type { RepositoryError } from "../domain/errors.ts"
import type { SymbolMeta } from "../domain/symbol-meta.ts"
import { Count, Json } from "./internal/columns.ts"
import { chunks, DatabaseName, decodeRows, finish, type Raw } from "./internal/database.ts"
import { nonEmpty, nowIso, ROWS_PER_STATEMENT } from "./internal/statements.ts"
import { StoredMeta } from "./internal/stored-meta.ts"

export interface SnapshotSummary {
  readonly source: string
  readonly asOf: string
  readonly symbols: number
}

export interface SymbolSnapshotsShape {
  readonly record: (
    source: string,
    asOf: string,
    members: ReadonlyArray<SymbolMeta>
  ) => Effect.Effect<number, RepositoryError>
  /** The rows of each source's newest snapshot dated on or before `date` (`YYYY-MM-DD`): what it listed then. */
  readonly newestUpTo: (
    date: string
  ) => Effect.Effect<
    ReadonlyArray<{ readonly source: string; readonly asOf: string; readonly meta: SymbolMeta }>,
    RepositoryError
  >
  /** The snapshots kept, newest first. */
  readonly list: () => Effect.Effect<ReadonlyArray<SnapshotSummary>, RepositoryError>
}

export class SymbolSnapshots extends Context.Service<SymbolSnapshots, SymbolSnapshotsShape>()(
  "marketpipe/SymbolSnapshots"
) {}

const SnapshotRow = Schema.Struct({ source: Schema.String, asOf: Schema.String, meta: Json(StoredMeta) }).pipe(
  Schema.encodeKeys({ asOf: "as_of" })
)
const SummaryRow = Schema.Struct({ source: Schema.String, asOf: Schema.String, symbols: Count }).pipe(
  Schema.encodeKeys({ asOf: "as_of" })
)
const snapshotRows = decodeRows(SnapshotRow)
const summaryRows = decodeRows(SummaryRow)

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const database = yield* DatabaseName

  const raw: Raw<SymbolSnapshotsShape> = {
    record: (source, asOf, members) =>
      sql.withTransaction(
        Effect.gen(function* () {
          const at = yield* nowIso
          yield* sql`DELETE FROM symbol_snapshots WHERE source = ${source} AND as_of = ${asOf}`
          const rows = members.map((m) => ({
            source,
            as_of: asOf,
            symbol: m.symbol as string,
            meta: JSON.stringify(m),
            taken_at: at
          }))
          for (const part of chunks(rows, ROWS_PER_STATEMENT)) {
            const batch = nonEmpty(part)
            if (batch !== undefined) yield* sql`INSERT INTO symbol_snapshots ${sql.insert(batch)}`
          }
          return rows.length
        })
      ),
    newestUpTo: (date) =>
      Effect.map(
        Effect.flatMap(
          sql`SELECT s.source, s.as_of, s.meta FROM symbol_snapshots s
            JOIN (SELECT source, MAX(as_of) AS as_of FROM symbol_snapshots WHERE as_of <= ${date} GROUP BY source) n
              ON n.source = s.source AND n.as_of = s.as_of
            ORDER BY s.source, s.symbol`,
          snapshotRows
        ),
        (rows) => rows.map((r) => ({ source: r.source, asOf: r.asOf, meta: r.meta as SymbolMeta }))
      ),
    list: () =>
      Effect.flatMap(
        sql`SELECT source, as_of, COUNT(*) AS symbols FROM symbol_snapshots GROUP BY source, as_of
          ORDER BY as_of DESC, source`,
        summaryRows
      )
  }
  return SymbolSnapshots.of(finish(database, raw))
})

export const layer = Layer.effect(SymbolSnapshots, make)

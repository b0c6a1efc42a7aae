/**
 * The `FileVersions` service: the manifest of lake file versions (see `domain/file-version.ts`). The sink records
 * each write in the same transaction as the ledger rows for it, so the manifest, like the ledger, describes exactly
 * the files in place; as-of reads look versions up here; `prune versions` removes kept bytes past a retention.
 */
import { Context, Effect, Layer, Schema } from "effect"
import { SqlClient, SqlError } from "effect/sql"
import { RepositoryError } from "../domain/errors.ts"
import type { FileVersion, VersionChange } from "../domain/file-version.ts"
import { Count, Instant, OptionalInstant, OptionalText } from "./internal/columns.ts"
import { chunks, DatabaseName, decodeRows, finish, type Raw, retryingTransient } from "./internal/database.ts"
import { nowIso, ROWS_PER_STATEMENT } from "./internal/statements.ts"

const VersionRow = Schema.Struct({
  id: Count,
  file: Schema.String,
  jobId: Count,
  writtenAt: Instant,
  supersededAt: OptionalInstant,
  stored: OptionalText,
  days: Schema.String,
  rows: Count
}).pipe(Schema.encodeKeys({ jobId: "job_id", writtenAt: "written_at", supersededAt: "superseded_at" }))

const versionRows = decodeRows(VersionRow)
const toVersion = (r: typeof VersionRow.Type): FileVersion => ({ ...r, days: r.days === "" ? [] : r.days.split(",") })

export interface FileVersionsShape {
  /** The current version of each file that has one. */
  readonly current: (files: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, FileVersion>, RepositoryError>
  /** Every version of the files under `prefix` (a lake-relative directory such as `ohlcv/frame=1m/symbol=AAPL/`). */
  readonly under: (prefix: string) => Effect.Effect<ReadonlyArray<FileVersion>, RepositoryError>
  /**
   * Records the writes, then runs `alongside` (the ledger rows), in one transaction: neither is ever in the database
   * without the other.
   */
  readonly commit: <E, R>(
    changes: ReadonlyArray<VersionChange>,
    alongside: Effect.Effect<void, E, R>
  ) => Effect.Effect<void, RepositoryError | E, R>
  /** Superseded versions with kept bytes, replaced before `before` (ISO): what `prune versions` may remove. */
  readonly keptBefore: (before: string) => Effect.Effect<ReadonlyArray<FileVersion>, RepositoryError>
  /** Every kept path the manifest knows of (orphans are the kept files not in it). */
  readonly keptPaths: () => Effect.Effect<ReadonlySet<string>, RepositoryError>
}

export class FileVersions extends Context.Service<FileVersions, FileVersionsShape>()("marketpipe/FileVersions") {}

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const database = yield* DatabaseName

  const record = (changes: ReadonlyArray<VersionChange>) =>
    Effect.gen(function* () {
      const at = yield* nowIso
      const rows: Array<Record<string, unknown>> = []
      for (const c of changes) {
        if (c.replaced !== undefined) {
          yield* sql`UPDATE file_versions SET superseded_at = ${at}, stored = ${c.stored ?? null}
            WHERE id = ${c.replaced} AND superseded_at IS NULL`
        } else if (c.unrecordedSince !== undefined) {
          rows.push({
            file: c.file,
            job_id: 0,
            written_at: c.unrecordedSince,
            superseded_at: at,
            stored: c.stored ?? null,
            days: (c.replacedDays ?? []).join(","),
            rows: 0
          })
        }
        if (c.next !== undefined) {
          rows.push({
            file: c.file,
            job_id: c.jobId,
            written_at: at,
            superseded_at: null,
            stored: null,
            days: c.next.days.join(","),
            rows: c.next.rows
          })
        }
      }
      // The new versions of a unit's files (1m and its derived frames) in one statement.
      for (const part of chunks(rows, ROWS_PER_STATEMENT)) {
        const [first, ...rest] = part
        if (first !== undefined) yield* sql`INSERT INTO file_versions ${sql.insert([first, ...rest])}`
      }
    })

  const raw: Raw<Omit<FileVersionsShape, "commit">> = {
    current: (files) =>
      Effect.gen(function* () {
        const out = new Map<string, FileVersion>()
        for (const part of chunks(files, ROWS_PER_STATEMENT)) {
          const rows = yield* Effect.flatMap(
            sql`SELECT * FROM file_versions WHERE file IN ${sql.in(part)} AND superseded_at IS NULL`,
            versionRows
          )
          for (const r of rows) out.set(r.file, toVersion(r))
        }
        return out
      }),
    under: (prefix) =>
      Effect.map(
        Effect.flatMap(
          sql`SELECT * FROM file_versions WHERE substr(file, 1, ${prefix.length}) = ${prefix} ORDER BY file, id`,
          versionRows
        ),
        (rows) => rows.map(toVersion)
      ),
    keptBefore: (before) =>
      Effect.map(
        Effect.flatMap(
          sql`SELECT * FROM file_versions WHERE stored IS NOT NULL AND superseded_at < ${before} ORDER BY id`,
          versionRows
        ),
        (rows) => rows.map(toVersion)
      ),
    keptPaths: () =>
      Effect.map(
        sql<{ stored: string }>`SELECT stored FROM file_versions WHERE stored IS NOT NULL`,
        (rows) => new Set(rows.map((r) => r.stored))
      )
  }
  const finished = finish(database, raw)
  // Retried whole on a lock failure, as every repository method is; the ledger rows inside are upserts.
  const commit: FileVersionsShape["commit"] = (changes, alongside) =>
    retryingTransient(
      sql.withTransaction(
        // The manifest's rows first: the transaction's first statement is a write, so it never has to upgrade a read
        // lock (where SQLite would fail at once rather than wait); a lock failure retries it whole.
        Effect.andThen(record(changes), alongside)
      )
    ).pipe(
      Effect.mapError((e) =>
        SqlError.isSqlError(e) ? new RepositoryError({ reason: `${database}: ${e.message || e.reason._tag}` }) : e
      )
    )
  return FileVersions.of({ ...finished, commit })
})

export const layer = Layer.effect(FileVersions, make)

/**
 * An `effect/sql` client over `node:sqlite` (`DatabaseSync`). One adapter for Bun, Deno and Node ≥ 22.5, so the
 * repository runs the same SQL everywhere; Postgres gets its client from `@effect/sql-pg`.
 */
import { mkdirSync } from "node:fs"
import { dirname } from "node:path"
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite"
import { Effect, Layer, Schedule, Semaphore, Stream } from "effect"
import { Reactivity } from "effect/reactivity"
import { SqlClient, type SqlConnection, SqlError, Statement } from "effect/sql"

type Row = Record<string, unknown>

const toInput = (v: unknown): SQLInputValue => {
  if (typeof v === "boolean") return v ? 1 : 0
  if (v instanceof Date) return v.toISOString()
  if (v === undefined) return null
  return v as SQLInputValue
}
const args = (params: ReadonlyArray<unknown>): Array<SQLInputValue> => params.map(toInput)

// node:sqlite puts the SQLite result code in `errcode` and a generic string in `code`; the classifier reads `code`.
const withSqliteCode = (cause: unknown): unknown =>
  typeof cause === "object" && cause !== null && "errcode" in cause ? { ...cause, code: cause.errcode, cause } : cause

export interface SqliteOptions {
  /** How long a statement waits for another process's write lock before it fails (default 30 s). */
  readonly busyTimeoutMs?: number
}

/** SQLite's own "another connection holds the lock" failures: waiting and trying again can succeed. */
export const isLockedError = (e: unknown): boolean => SqlError.isSqlError(e) && e.reason._tag === "LockTimeoutError"

/** Retries what failed on a lock with jittered backoff (about 6 s in all on top of each try's busy wait). */
export const retryLocked = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.retry({
      while: isLockedError,
      schedule: Schedule.exponential("50 millis", 2).pipe(Schedule.jittered, Schedule.upTo({ times: 7 }))
    })
  )

const open = (filename: string, busyTimeoutMs: number) =>
  Effect.try({
    try: () => {
      if (filename !== ":memory:") mkdirSync(dirname(filename), { recursive: true })
      const handle = new DatabaseSync(filename)
      try {
        // The busy timeout comes first: switching a fresh file to WAL needs a lock another process may hold.
        handle.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`)
        // WAL lets readers (jobs list, metrics) work while an ingest writes. NORMAL syncs at checkpoints, not every
        // commit: a power cut can lose the last ledger rows, never keep one whose file is not there (files are
        // synced before their rows are written), so the loss is only a refetch.
        handle.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
      } catch (e) {
        handle.close()
        throw e
      }
      return handle
    },
    catch: (cause) =>
      new SqlError.SqlError({
        reason: SqlError.classifySqliteError(withSqliteCode(cause), {
          operation: "connect",
          message: `cannot open ${filename}: ${(cause as Error)?.message}`
        })
      })
  })

/** Statements kept per connection; past this the oldest is dropped (a statement's text names its row count). */
const CACHED_STATEMENTS = 256

/** Prepared statements by their text, most recently added last, each returning rows as objects or as arrays. */
const statementCache = (db: DatabaseSync, arrays: boolean) => {
  const cache = new Map<string, StatementSync>()
  return (sql: string): StatementSync => {
    const known = cache.get(sql)
    if (known !== undefined) return known
    const prepared = db.prepare(sql)
    if (arrays) prepared.setReturnArrays(true)
    if (cache.size >= CACHED_STATEMENTS) cache.delete(cache.keys().next().value as string)
    cache.set(sql, prepared)
    return prepared
  }
}

export const make = (filename: string, options: SqliteOptions = {}) =>
  Effect.gen(function* () {
    const db = yield* Effect.acquireRelease(retryLocked(open(filename, options.busyTimeoutMs ?? 30_000)), (handle) =>
      Effect.sync(() => handle.close())
    )

    const attempt = <A>(operation: string, f: () => A) =>
      Effect.try({
        try: f,
        catch: (cause) =>
          new SqlError.SqlError({
            reason: SqlError.classifySqliteError(withSqliteCode(cause), {
              operation,
              message: String((cause as Error)?.message)
            })
          })
      })

    // Preparing costs as much as running a ledger upsert: a run repeats a few dozen statement texts thousands of times.
    const asObjects = statementCache(db, false)
    const asArrays = statementCache(db, true)
    const rows = (sql: string, p: ReadonlyArray<unknown>, transform?: (r: ReadonlyArray<Row>) => ReadonlyArray<Row>) =>
      attempt("execute", () => {
        const out = asObjects(sql).all(...args(p)) as Array<Row>
        return transform ? transform(out) : out
      })
    const values = (sql: string, p: ReadonlyArray<unknown>) =>
      attempt("executeValues", () => asArrays(sql).all(...args(p)) as unknown as ReadonlyArray<ReadonlyArray<unknown>>)

    const connection: SqlConnection.Connection = {
      execute: rows,
      executeUnprepared: (sql, p, t) => (p.length === 0 ? attempt("exec", () => (db.exec(sql), [])) : rows(sql, p, t)),
      executeRaw: (sql, p) => attempt("executeRaw", () => asObjects(sql).run(...args(p))),
      executeValues: values,
      executeValuesUnprepared: values,
      executeStream: (sql, p, t) => Stream.fromIterableEffect(rows(sql, p, t))
    }
    const acquirers = SqlClient.makeSqliteAcquirers({
      connection: Effect.succeed(connection),
      semaphore: yield* Semaphore.make(1),
      isTransaction: () => db.isTransaction
    })
    return yield* SqlClient.make({
      ...acquirers,
      // A transaction takes the write lock when it begins: a deferred one that read first could not wait for a
      // writer that committed meanwhile (SQLite fails it at once, whatever the busy timeout).
      beginTransaction: "BEGIN IMMEDIATE",
      compiler: Statement.makeCompilerSqlite(),
      driver: "node-sqlite",
      spanAttributes: [["db.system.name", "sqlite"]]
    })
  })

export const layer = (filename: string, options?: SqliteOptions): Layer.Layer<SqlClient.SqlClient, SqlError.SqlError> =>
  Layer.effect(SqlClient.SqlClient, make(filename, options)).pipe(Layer.provide(Reactivity.layer))

/**
 * An `effect/sql` client over `node:sqlite` (`DatabaseSync`). One adapter for Bun, Deno and Node ≥ 22.5, so the
 * repository runs the same SQL everywhere; Postgres gets its client from `@effect/sql-pg`.
 */
import { mkdirSync } from "node:fs"
import { dirname } from "node:path"
import { DatabaseSync, type SQLInputValue } from "node:sqlite"
import { Effect, Layer, Semaphore, Stream } from "effect"
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

export const make = (filename: string) =>
  Effect.gen(function* () {
    const db = yield* Effect.acquireRelease(
      Effect.try({
        try: () => {
          if (filename !== ":memory:") mkdirSync(dirname(filename), { recursive: true })
          const handle = new DatabaseSync(filename)
          // WAL lets readers (jobs list, metrics) work while an ingest writes; busy_timeout covers a second writer.
          handle.exec("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;")
          return handle
        },
        catch: (cause) =>
          new SqlError.SqlError({
            reason: SqlError.classifySqliteError(cause, {
              operation: "connect",
              message: `cannot open ${filename}: ${(cause as Error)?.message}`
            })
          })
      }),
      (handle) => Effect.sync(() => handle.close())
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

    const rows = (sql: string, p: ReadonlyArray<unknown>, transform?: (r: ReadonlyArray<Row>) => ReadonlyArray<Row>) =>
      attempt("execute", () => {
        const out = db.prepare(sql).all(...args(p)) as Array<Row>
        return transform ? transform(out) : out
      })
    const values = (sql: string, p: ReadonlyArray<unknown>) =>
      attempt("executeValues", () => {
        const stmt = db.prepare(sql)
        stmt.setReturnArrays(true)
        return stmt.all(...args(p)) as unknown as ReadonlyArray<ReadonlyArray<unknown>>
      })

    const connection: SqlConnection.Connection = {
      execute: rows,
      executeUnprepared: (sql, p, t) => (p.length === 0 ? attempt("exec", () => (db.exec(sql), [])) : rows(sql, p, t)),
      executeRaw: (sql, p) => attempt("executeRaw", () => db.prepare(sql).run(...args(p))),
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
      compiler: Statement.makeCompilerSqlite(),
      driver: "node-sqlite",
      spanAttributes: [["db.system.name", "sqlite"]]
    })
  })

export const layer = (filename: string): Layer.Layer<SqlClient.SqlClient, SqlError.SqlError> =>
  Layer.effect(SqlClient.SqlClient, make(filename)).pipe(Layer.provide(Reactivity.layer))

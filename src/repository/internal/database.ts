/**
 * What every repository service shares: the database's name for error messages, and the one place where driver and
 * row-decoding errors become a `RepositoryError` (after retrying transient lock failures).
 */
import { Context, Effect, Schedule, Schema } from "effect"
import { SqlError } from "effect/sql"
import { RepositoryError } from "../../domain/errors.ts"

/** `SQLite database <path>` or `PostgreSQL at <masked url>`: how errors name the database. */
export class DatabaseName extends Context.Service<DatabaseName, string>()("marketpipe/repository/DatabaseName") {}

/** Another connection held a lock, or the database picked this transaction to abort: trying again can succeed. */
const transient = (e: SqlError.SqlError | Schema.SchemaError) =>
  !Schema.isSchemaError(e) &&
  (e.reason._tag === "LockTimeoutError" || e.reason._tag === "DeadlockError" || e.reason._tag === "SerializationError")

const retryTransient = Schedule.exponential("50 millis", 2).pipe(Schedule.jittered, Schedule.upTo({ times: 7 }))

const reasonOf = (e: SqlError.SqlError | Schema.SchemaError): string =>
  Schema.isSchemaError(e) ? `a stored row does not decode: ${e.message}` : e.message || e.reason._tag

/** `effect` tried again, whole, while it fails on a transient lock failure (`finish` does this for every method). */
export const retryingTransient = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  effect.pipe(
    Effect.retry({
      while: (e) => (SqlError.isSqlError(e) || Schema.isSchemaError(e)) && transient(e),
      schedule: retryTransient
    })
  )

/** A service's methods as written over SQL: the driver's own errors, or a row that does not decode. */
export type Raw<S> = {
  readonly [K in keyof S]: S[K] extends (...args: infer A) => Effect.Effect<infer X, RepositoryError>
    ? (...args: A) => Effect.Effect<X, SqlError.SqlError | Schema.SchemaError>
    : never
}

/**
 * Every method retried on transient lock failures (each whole: a failed transaction has rolled back) and its errors
 * worded with the database they came from, e.g. `SQLite database /data/marketpipe.db: database or disk is full`.
 */
export const finish = <S>(database: string, raw: Raw<S>): S => {
  const wrapped: Record<string, unknown> = {}
  for (const [name, method] of Object.entries(raw) as Array<
    [string, (...args: ReadonlyArray<unknown>) => Effect.Effect<unknown, SqlError.SqlError | Schema.SchemaError>]
  >) {
    wrapped[name] = (...args: ReadonlyArray<unknown>) =>
      method(...args).pipe(
        Effect.retry({ while: transient, schedule: retryTransient }),
        Effect.mapError((e) => new RepositoryError({ reason: `${database}: ${reasonOf(e)}` }))
      )
  }
  return wrapped as S
}

/** Decodes the rows a statement returned. */
export const decodeRows =
  <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S) =>
  (rows: ReadonlyArray<unknown>): Effect.Effect<ReadonlyArray<S["Type"]>, Schema.SchemaError> =>
    Schema.decodeUnknownEffect(Schema.Array(schema))(rows)

/** Keeps every statement under SQLite's and Postgres' bound-parameter limits. */
export const chunks = <A>(xs: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size))
  return out
}

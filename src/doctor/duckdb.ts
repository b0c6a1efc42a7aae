/**
 * The DuckDB check: the native binding `marketpipe query` needs loads the way that command loads it
 * (`query/duckdb.ts`: the package from source, the embedded library in the compiled binary) and answers a query.
 */
import { Effect } from "effect"
import type { Env } from "../config/load.ts"
import { duckCall } from "../query/call.ts"
import { type DuckDBModule, loadDuckDB, type QueryEngineError } from "../query/duckdb.ts"
import { type CheckResult, fail, pass } from "./check.ts"

const NAME = "duckdb"

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e))

/** `SELECT 42` on an in-memory database, closed afterwards. */
const answer = (duck: DuckDBModule) =>
  Effect.gen(function* () {
    const { connection } = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          const instance = await duck.DuckDBInstance.create(":memory:")
          return { instance, connection: await instance.connect() }
        },
        catch: messageOf
      }),
      (s) =>
        Effect.sync(() => {
          s.connection.closeSync()
          s.instance.closeSync()
        })
    )
    const reader = yield* duckCall(connection, () => connection.runAndReadAll("SELECT 42 AS answer"), messageOf)
    return reader.getRows()[0]?.[0]
  }).pipe(Effect.scoped)

export const duckdbCheck = (
  env: Env,
  load: (env: Env) => Effect.Effect<DuckDBModule, QueryEngineError> = loadDuckDB
): Effect.Effect<CheckResult> =>
  Effect.gen(function* () {
    const duck = yield* load(env).pipe(Effect.mapError((e) => e.message))
    const got = yield* answer(duck).pipe(Effect.mapError((reason) => `DuckDB ${duck.version()} loads, but ${reason}`))
    return got === 42
      ? pass(NAME, `DuckDB ${duck.version()} loads; SELECT 42 answers 42`)
      : fail(NAME, `DuckDB ${duck.version()} loads, but SELECT 42 answered ${String(got)}`)
  }).pipe(
    Effect.catch((reason) => Effect.succeed(fail(NAME, `${reason} (marketpipe query needs it; nothing else does)`)))
  )

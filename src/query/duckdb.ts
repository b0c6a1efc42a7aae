/**
 * DuckDB over the lake, loaded lazily: only `marketpipe query` pays for the native library (70 MB), and nothing here
 * imports `@duckdb/node-api` until a query runs. From source (Bun, Deno) the package loads as is; the compiled
 * binary first makes its embedded library loadable (`native.ts`).
 *
 * A session is an in-memory database with the lake's views and the read-only lock-down of `read-only.ts`.
 */

import { existsSync } from "node:fs"
import { join } from "node:path"
import type {
  DuckDBConnection,
  DuckDBInstance,
  DuckDBType,
  DuckDBValue,
  DuckDBValueConverter,
  Json
} from "@duckdb/node-api"
import { Data, Effect } from "effect"
import type { FactorSegment } from "../domain/corporate-action.ts"
import { type StorageError, UsageError } from "../domain/errors.ts"
import { type FileVersion, sourceAt } from "../domain/file-version.ts"
import { lakeRoots, versionsRoot } from "../lake/layout.ts"
import { adjustedViewsSql } from "./adjusted.ts"
import { badFilesError, createView, mayBeAboutAFile, skippedWarning, unreadableFiles } from "./bad-files.ts"
import { duckCall } from "./call.ts"
import type { QueryLimits } from "./limits.ts"
import { instanceOptions, lockConfiguration, prepareReadOnly, restrictAccess } from "./read-only.ts"
import { lakeViews, lakeViewsAsOf } from "./views.ts"

export type DuckDBModule = typeof import("@duckdb/node-api")

/** DuckDB could not be loaded or failed in a way that is not about the query (exit 1). */
export class QueryEngineError extends Data.TaggedError("QueryEngineError")<{ readonly reason: string }> {
  override get message(): string {
    return `duckdb: ${this.reason}`
  }
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e))

const isCompiledBinary = () => typeof Bun !== "undefined" && Bun.isStandaloneExecutable === true

let loading: Promise<DuckDBModule> | undefined

async function load(env: Readonly<Record<string, string | undefined>>): Promise<DuckDBModule> {
  if (isCompiledBinary()) {
    const { preloadEmbeddedDuckDB } = await import("./native.ts")
    await preloadEmbeddedDuckDB(env)
  }
  return await import("@duckdb/node-api")
}

/** Loads `@duckdb/node-api` once per process. */
export const loadDuckDB = (
  env: Readonly<Record<string, string | undefined>> = process.env
): Effect.Effect<DuckDBModule, QueryEngineError> =>
  Effect.tryPromise({
    try: () => {
      loading ??= load(env).catch((e: unknown) => {
        loading = undefined
        throw e
      })
      return loading
    },
    catch: (e) => {
      const reason = message(e)
      return new QueryEngineError({
        reason: /allow-ffi/u.test(reason)
          ? `DuckDB is a native library: under Deno run with --allow-ffi (${reason})`
          : `could not load DuckDB: ${reason}`
      })
    }
  })

/** A cell as printed: JSON-compatible, timestamps as ISO-8601 UTC, integers as numbers when exact. */
export type Cell = Json

export interface Column {
  readonly name: string
  readonly type: string
}

export interface LakeOptions {
  readonly limits: QueryLimits
  /** Leave unreadable files out of the views, each named through `warn`, instead of failing queries that read them. */
  readonly skipBadFiles: boolean
  readonly warn: (line: string) => void
  /** The factor segments the `bars_<frame>_adjusted` views apply (none: the views equal the raw ones). */
  readonly factors?: ReadonlyArray<FactorSegment> | undefined
  /** Read the lake as it was at `at` (UTC ms), from the manifest's versions of its files. */
  readonly asOf?: { readonly at: number; readonly versions: ReadonlyArray<FileVersion> } | undefined
}

/**
 * The bar views as of `asOf`. A file whose version of then is gone (pruned, or removed past its retention) is left
 * out, and `warn` says how many were.
 */
const asOfViews = (dataDir: string, asOf: NonNullable<LakeOptions["asOf"]>, warn: (line: string) => void) =>
  Effect.sync(() => {
    const byFile = new Map<string, Array<FileVersion>>()
    for (const v of asOf.versions) byFile.set(v.file, [...(byFile.get(v.file) ?? []), v])
    const gone: Array<string> = []
    const views = lakeViewsAsOf(
      dataDir,
      (frame) => [...byFile.keys()].filter((f) => f.startsWith(`ohlcv/frame=${frame}/`)),
      (file) => {
        const source = sourceAt(file, byFile.get(file) ?? [], asOf.at, (p) => existsSync(join(dataDir, p)))
        if (source.kind === "absent") return undefined
        if (source.kind === "pruned") {
          gone.push(file)
          return undefined
        }
        return { path: join(dataDir, source.path), days: source.days }
      }
    )
    if (gone.length > 0) {
      warn(
        `notice: ${gone.length} file(s) as of ${new Date(asOf.at).toISOString()} are no longer kept (pruned), e.g. ${gone[0]}; the views leave them out`
      )
    }
    return views
  })

export interface LakeSession {
  readonly duck: DuckDBModule
  readonly instance: DuckDBInstance
  readonly connection: DuckDBConnection
  readonly dataDir: string
  readonly limits: QueryLimits
  /** The views created, and the files each reads (none: the view is empty). */
  readonly views: ReadonlyArray<{ readonly name: string; readonly glob: string | undefined }>
  /** Every file the views may read, to find the unreadable ones when a query fails. */
  readonly files: ReadonlyArray<string>
}

const run = (connection: DuckDBConnection, sql: string) =>
  duckCall(
    connection,
    () => connection.run(sql),
    (e) => new QueryEngineError({ reason: message(e) })
  )

/**
 * Opens an in-memory DuckDB with the lake's views, locked down to read the lake only and capped by `limits`
 * (set when the database is created, so before the lock); closed with the scope.
 */
export const openLake = (duck: DuckDBModule, dataDir: string, options: LakeOptions) =>
  Effect.gen(function* () {
    const { instance, connection } = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          const instance = await duck.DuckDBInstance.create(":memory:", {
            ...instanceOptions,
            memory_limit: options.limits.memoryLimit,
            threads: String(options.limits.threads)
          })
          return { instance, connection: await instance.connect() }
        },
        catch: (e) => new QueryEngineError({ reason: message(e) })
      }),
      (s) =>
        Effect.sync(() => {
          s.connection.closeSync()
          s.instance.closeSync()
        })
    )
    const roots = lakeRoots(dataDir)
    for (const statement of restrictAccess([roots.ohlcv, roots.quarantine, versionsRoot(dataDir)]))
      yield* run(connection, statement)
    const views =
      options.asOf === undefined ? lakeViews(dataDir) : yield* asOfViews(dataDir, options.asOf, options.warn)
    const skip = new Set<string>()
    if (options.skipBadFiles)
      for (const bad of yield* unreadableFiles(
        connection,
        views.flatMap((v) => v.files)
      )) {
        skip.add(bad.file)
        options.warn(skippedWarning(dataDir, bad))
      }
    for (const view of views) yield* createView(connection, view, skip)
    for (const statement of adjustedViewsSql(options.factors ?? [])) yield* run(connection, statement)
    yield* run(connection, lockConfiguration)
    const session: LakeSession = {
      duck,
      instance,
      connection,
      dataDir,
      limits: options.limits,
      views: views.map((v) => ({ name: v.name, glob: v.files.some((f) => !skip.has(f)) ? v.glob : undefined })),
      files: views.flatMap((v) => v.files.filter((f) => !skip.has(f)))
    }
    return session
  })

const isoFrom = (epochMillis: bigint, subMillis: string): string | undefined => {
  const ms = Number(epochMillis)
  if (!Number.isSafeInteger(ms) || Math.abs(ms) > 8.64e15) return undefined
  const iso = new Date(ms).toISOString()
  return /^0*$/u.test(subMillis) ? iso : `${iso.slice(0, -1)}${subMillis}Z`
}

/** `epoch * unit` → ISO-8601 UTC with the precision the value has; `undefined` for ±infinity and out-of-range. */
const isoFromUnits = (value: bigint, perMilli: bigint, digits: number): string | undefined => {
  let millis = value / perMilli
  let rest = value % perMilli
  if (rest < 0n) {
    millis -= 1n
    rest += perMilli
  }
  return isoFrom(millis, digits === 0 ? "" : rest.toString().padStart(digits, "0"))
}

const exactNumber = (n: bigint): Json =>
  n >= Number.MIN_SAFE_INTEGER && n <= Number.MAX_SAFE_INTEGER ? Number(n) : n.toString()

/** DuckDB values → cells. Nested values (lists, structs) recurse through it, so their timestamps are ISO too. */
export function cellConverter(duck: DuckDBModule): DuckDBValueConverter<Json> {
  const convert = (value: DuckDBValue, type: DuckDBType, self: DuckDBValueConverter<Json>): Json | null => {
    if (value === null) return null
    if (typeof value === "bigint") return exactNumber(value)
    if (value instanceof duck.DuckDBTimestampTZValue || value instanceof duck.DuckDBTimestampValue)
      return isoFromUnits(value.micros, 1000n, 3) ?? value.toString()
    if (value instanceof duck.DuckDBTimestampMillisecondsValue)
      return isoFromUnits(value.millis, 1n, 0) ?? value.toString()
    if (value instanceof duck.DuckDBTimestampSecondsValue)
      return isoFromUnits(value.seconds * 1000n, 1n, 0) ?? value.toString()
    if (value instanceof duck.DuckDBTimestampNanosecondsValue)
      return isoFromUnits(value.nanos, 1_000_000n, 6) ?? value.toString()
    if (value instanceof duck.DuckDBDecimalValue) return value.width <= 15 ? value.toDouble() : value.toString()
    return duck.JsonDuckDBValueConverter(value, type, self)
  }
  return convert
}

/** DuckDB's error messages carry their class first ("Binder Error: …"); these are not about the query. */
const engineFailure = /^(?:Out of Memory|INTERNAL|FATAL|Fatal|Internal) Error/u

const sqlError = (limits: QueryLimits) => (e: unknown) => {
  const reason = message(e)
  // DuckDB's own advice (a temp_directory, a persistent database) is not open to a query here.
  if (/^Out of Memory Error/u.test(reason))
    return new QueryEngineError({
      reason: `${reason.split("\n")[0]}; a query may use at most ${limits.memoryLimit} and cannot spill to disk: raise it with --memory-limit or config query.memory_limit, or read fewer rows or columns`
    })
  return engineFailure.test(reason) ? new QueryEngineError({ reason }) : new UsageError({ field: "SQL", reason })
}

/** A failure that may come from an unreadable file becomes a `StorageError` naming the files, if there are any. */
const explained = <A>(
  session: LakeSession,
  effect: Effect.Effect<A, UsageError | QueryEngineError>
): Effect.Effect<A, UsageError | QueryEngineError | StorageError> =>
  Effect.catch(effect, (e) =>
    mayBeAboutAFile(e.reason)
      ? Effect.flatMap(unreadableFiles(session.connection, session.files), (bad) =>
          Effect.fail(bad.length > 0 ? badFilesError(session.dataDir, bad) : e)
        )
      : Effect.fail(e)
  )

/** Where rows go as they arrive, so large results never sit in memory whole (unless a table needs widths). */
export interface RowSink {
  readonly columns: (columns: ReadonlyArray<Column>) => void
  readonly rows: (rows: ReadonlyArray<ReadonlyArray<Cell>>) => void
}

export interface QueryOutcome {
  readonly columns: ReadonlyArray<Column>
  readonly rows: number
  /** More rows existed than `limit` allowed. */
  readonly truncated: boolean
}

const call = <A>(session: LakeSession, f: () => Promise<A>) =>
  explained(session, duckCall(session.connection, f, sqlError(session.limits)))

/**
 * Runs one read-only SELECT and streams at most `limit` rows (0 = all) into `sink`. Refused or failing SQL fails
 * with a `UsageError` (field `SQL`), an unreadable file it needs with a `StorageError` naming it.
 */
export const runQuery = (session: LakeSession, sql: string, limit: number, sink: RowSink) =>
  Effect.gen(function* () {
    const { connection, duck } = session
    const prepared = yield* explained(session, prepareReadOnly(connection, duck.StatementType.SELECT, sql))
    const result = yield* call(session, () => prepared.stream())
    const names = result.deduplicatedColumnNames()
    const columns = names.map((name, i) => ({ name, type: result.columnType(i).toString() }))
    sink.columns(columns)
    const converter = cellConverter(duck)
    let rows = 0
    let truncated = false
    while (true) {
      const chunk = yield* call(session, () => result.fetchChunk())
      if (chunk === null || chunk.rowCount === 0) break
      let batch: ReadonlyArray<ReadonlyArray<Cell>> = chunk.convertRows(converter)
      if (limit > 0 && rows + batch.length > limit) {
        batch = batch.slice(0, limit - rows)
        truncated = true
      }
      rows += batch.length
      if (batch.length > 0) sink.rows(batch)
      if (truncated) break
      // Exactly `limit` rows so far: one more chunk tells whether there were more.
      if (limit > 0 && rows === limit) {
        const next = yield* call(session, () => result.fetchChunk())
        truncated = next !== null && next.rowCount > 0
        break
      }
    }
    return { columns, rows, truncated } satisfies QueryOutcome
  })

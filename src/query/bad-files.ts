/**
 * Unreadable Parquet files in the lake (a truncated copy, a crashed writer outside MarketPipe, a bad disk): finding
 * them, keeping them from failing queries that do not read them, and naming them when a query does. DuckDB's
 * message quotes the file only sometimes ("No magic bytes found at end of file '…'"), not always ("don't know what
 * type"), so the footers are read again in batches to tell which files are at fault.
 */
import { relative, resolve } from "node:path"
import type { DuckDBConnection } from "@duckdb/node-api"
import { Effect } from "effect"
import { StorageError } from "../domain/errors.ts"
import { duckCall } from "./call.ts"
import { sqlString, type ViewDefinition, viewSql } from "./views.ts"

export interface BadFile {
  readonly file: string
  /** DuckDB's words. */
  readonly reason: string
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e))

/** The file of `files` a DuckDB message quotes, if any. */
export function quotedFile(reason: string, files: ReadonlySet<string>): string | undefined {
  for (const m of reason.matchAll(/'([^']+\.parquet)'|"([^"]+\.parquet)"/gu)) {
    const file = m[1] ?? m[2]
    if (file !== undefined && files.has(file)) return file
  }
  return undefined
}

/** Errors a broken file can raise; a binder or parser error is about the query, an out-of-memory about its size. */
const fileLike = /^(?:Invalid Input|Invalid|IO|Serialization|INTERNAL|Internal) Error/u

export const mayBeAboutAFile = (reason: string): boolean => fileLike.test(reason) || /\.parquet['"]/u.test(reason)

/** The failure reading the footers of `files` (all at once), or `undefined` when every one reads. */
const footerFailure = (connection: DuckDBConnection, files: ReadonlyArray<string>) =>
  duckCall(
    connection,
    () => connection.run(`SELECT count(*) FROM parquet_file_metadata([${files.map(sqlString).join(", ")}])`),
    message
  ).pipe(
    Effect.as(undefined),
    Effect.catch((reason) => Effect.succeed(reason))
  )

/**
 * The files whose footer DuckDB cannot read. One call when all are fine; a file the failure names is set aside and
 * the rest asked again; a failure naming none is narrowed down by halves.
 */
export const unreadableFiles = (connection: DuckDBConnection, files: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const bad: Array<BadFile> = []
    const search = (batch: ReadonlyArray<string>): Effect.Effect<void> =>
      Effect.gen(function* () {
        let rest = batch
        while (rest.length > 0) {
          const failure = yield* footerFailure(connection, rest)
          if (failure === undefined) return
          const named = quotedFile(failure, new Set(rest))
          if (named === undefined && rest.length > 1) {
            const half = Math.ceil(rest.length / 2)
            yield* search(rest.slice(0, half))
            return yield* search(rest.slice(half))
          }
          const file = named ?? rest[0] ?? ""
          bad.push({ file, reason: failure })
          rest = rest.filter((f) => f !== file)
        }
      })
    yield* search(files)
    return bad.sort((a, b) => (a.file < b.file ? -1 : 1))
  })

/** DuckDB's first line without the path it may quote (the lake-relative path is given separately). */
const short = (bad: BadFile) =>
  (bad.reason.split("\n")[0] ?? "")
    .replaceAll(` '${bad.file}'`, "")
    .replaceAll(`'${bad.file}'`, "the file")
    .replace(/[:\s]+$/u, "")

const lakePath = (dataDir: string, file: string) => relative(resolve(dataDir), file)

/** Unreadable files a query needed: exit 1, the data is at fault, not the SQL or the flags. */
export function badFilesError(dataDir: string, bad: ReadonlyArray<BadFile>): StorageError {
  const [first, ...more] = bad
  const it = more.length > 0 ? "them" : "it"
  const also = more.length > 0 ? `; also unreadable: ${more.map((b) => lakePath(dataDir, b.file)).join(", ")}` : ""
  return new StorageError({
    path: lakePath(dataDir, first?.file ?? ""),
    reason: `not a readable Parquet file (${first === undefined ? "" : short(first)})${also}; queries that do not read ${it} still work; fix or remove ${it}, or run with --skip-bad-files to leave ${it} out`
  })
}

export const skippedWarning = (dataDir: string, bad: BadFile) =>
  `warning: left out ${lakePath(dataDir, bad.file)} (--skip-bad-files): not a readable Parquet file (${short(bad)})`

/**
 * Creates `view`, leaving out `skip`. When binding opens an unreadable file (DuckDB binds a view to its first
 * file), the view is created again with the unreadable files last: a query that reads them fails naming them,
 * the others do not notice.
 */
export const createView = (connection: DuckDBConnection, view: ViewDefinition, skip: ReadonlySet<string>) =>
  Effect.gen(function* () {
    const run = (sql: string) => duckCall(connection, () => connection.run(sql), message)
    const failed = (reason: string) => new StorageError({ path: view.glob ?? view.name, reason })
    const first = yield* Effect.result(run(viewSql(view, { skip, last: new Set() })))
    if (first._tag === "Success") return
    const bad = yield* unreadableFiles(
      connection,
      view.files.filter((f) => !skip.has(f))
    )
    if (bad.length === 0) return yield* failed(first.failure)
    yield* run(viewSql(view, { skip, last: new Set(bad.map((b) => b.file)) })).pipe(Effect.mapError(failed))
  })

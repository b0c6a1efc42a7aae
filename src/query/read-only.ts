/**
 * What keeps `marketpipe query` read-only. Two independent layers:
 *
 * 1. DuckDB itself: an in-memory database whose file access is limited to the lake's two trees
 *    (`allowed_directories` + `enable_external_access = false`), no extension installs or loads, no spilling to
 *    disk, and a locked configuration, so no later statement can loosen any of it.
 * 2. The statement: it must parse as exactly one SELECT (DuckDB's own parser, via `json_serialize_sql`, before
 *    anything is bound) and prepare as a SELECT. COPY, EXPORT, ATTACH, INSTALL/LOAD, SET/PRAGMA, CREATE, INSERT, ...
 *    never reach execution. Layer 2 matters: `allowed_directories` lets a COPY write *into* the lake.
 */
import type { DuckDBConnection, DuckDBPreparedStatement } from "@duckdb/node-api"
import { Effect, Schema } from "effect"
import { UsageError } from "../domain/errors.ts"
import { sqlString } from "./views.ts"

/** Settings applied before the views are created (access limits) … */
export const restrictAccess = (readable: ReadonlyArray<string>): ReadonlyArray<string> => [
  // Timestamps are UTC whatever the machine's zone, so results do not depend on where the query runs.
  "SET TimeZone = 'UTC'",
  // No spill files: the query writes nothing anywhere.
  "SET temp_directory = ''",
  `SET allowed_directories = [${readable.map((d) => sqlString(d.endsWith("/") ? d : `${d}/`)).join(", ")}]`,
  "SET enable_external_access = false"
]

/** … and after them: nothing can change a setting any more. */
export const lockConfiguration = "SET lock_configuration = true"

/** Options fixed when the database is created (they cannot be set later). */
export const instanceOptions: Readonly<Record<string, string>> = {
  autoinstall_known_extensions: "false",
  autoload_known_extensions: "false",
  allow_community_extensions: "false",
  allow_persistent_secrets: "false"
}

const allowed =
  "query runs one read-only SELECT over the lake's views (COPY, EXPORT, ATTACH, INSTALL/LOAD, SET/RESET/PRAGMA, CREATE, INSERT, UPDATE, DELETE and other statements are refused)"

const refused = (what: string) => new UsageError({ field: "SQL", reason: `${what} is not allowed: ${allowed}` })

/** The statement's leading keyword, for the message only (the decision is DuckDB's parser's). */
export function leadingKeyword(sql: string): string {
  const m = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/|\()*([A-Za-z_]+)(?:\s+([A-Za-z_]+))?/u.exec(sql)
  const first = m?.[1]?.toUpperCase()
  if (first === undefined) return "this statement"
  return first === "FORCE" && m?.[2] !== undefined ? `FORCE ${m[2].toUpperCase()}` : first
}

const Serialized = Schema.Struct({
  error: Schema.Boolean,
  error_type: Schema.optional(Schema.String),
  error_message: Schema.optional(Schema.String)
})

const message = (e: unknown) => (e instanceof Error ? e.message : String(e))

/**
 * A syntax error, worded by DuckDB with the spot marked (LINE 1: … ^): preparing text that does not parse fails in
 * the parser, before anything is bound.
 */
const syntaxError = (connection: DuckDBConnection, sql: string, fallback: string) =>
  Effect.gen(function* () {
    const attempt = yield* Effect.result(Effect.tryPromise({ try: () => connection.prepare(sql), catch: message }))
    if (attempt._tag === "Success") attempt.success.destroySync()
    const reason =
      attempt._tag === "Failure" ? attempt.failure : fallback.replace(/^Failed to extract statements: /u, "")
    return yield* new UsageError({ field: "SQL", reason })
  })

/** DuckDB's parser's verdict on `sql`: syntax errors, several statements and non-SELECTs fail here, before binding. */
const parseOnly = (connection: DuckDBConnection, sql: string) =>
  Effect.gen(function* () {
    const extracted = yield* Effect.result(
      Effect.tryPromise({ try: () => connection.extractStatements(sql), catch: message })
    )
    if (extracted._tag === "Failure") return yield* syntaxError(connection, sql, extracted.failure)
    const count = extracted.success.count
    if (count === 0) return yield* new UsageError({ field: "SQL", reason: "the query is empty" })
    if (count > 1)
      return yield* new UsageError({ field: "SQL", reason: `${count} statements given; only one may run: ${allowed}` })
    // `json_serialize_sql` parses without binding and serialises SELECT statements only.
    const raw = yield* Effect.tryPromise({
      try: () => connection.runAndReadAll("SELECT json_serialize_sql($1::VARCHAR) AS parsed", [sql]),
      catch: (e) => new UsageError({ field: "SQL", reason: message(e) })
    })
    const parsed = yield* Effect.try({
      try: () => Schema.decodeUnknownSync(Serialized)(JSON.parse(String(raw.getRowObjectsJson()[0]?.parsed))),
      catch: () => new UsageError({ field: "SQL", reason: "DuckDB could not parse the query" })
    })
    if (!parsed.error) return
    if (parsed.error_type === "parser")
      return yield* syntaxError(connection, sql, `Parser Error: ${parsed.error_message ?? "syntax error"}`)
    return yield* refused(leadingKeyword(sql))
  })

/**
 * Checks that `sql` is one read-only SELECT and prepares it; fails with a `UsageError` naming what is refused, or
 * carrying DuckDB's message for a query that does not bind.
 */
export const prepareReadOnly = (
  connection: DuckDBConnection,
  selectType: number,
  sql: string
): Effect.Effect<DuckDBPreparedStatement, UsageError> =>
  Effect.gen(function* () {
    yield* parseOnly(connection, sql)
    const prepared = yield* Effect.tryPromise({
      try: () => connection.prepare(sql),
      catch: (e) => new UsageError({ field: "SQL", reason: message(e) })
    })
    if (prepared.statementType !== selectType) {
      prepared.destroySync()
      return yield* refused(leadingKeyword(sql))
    }
    return prepared
  })

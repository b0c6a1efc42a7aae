/**
 * What keeps `marketpipe query` read-only. Two independent layers:
 *
 * 1. DuckDB itself: an in-memory database whose file access is limited to the lake's two trees
 *    (`allowed_directories` + `enable_external_access = false`), no extension installs or loads, no spilling to
 *    disk, and a locked configuration, so no later statement can loosen any of it.
 * 2. The statement: it must parse as exactly one SELECT (DuckDB's own parser, via `json_serialize_sql`, before
 *    anything is bound) and prepare as a SELECT. COPY, EXPORT, ATTACH, INSTALL/LOAD, SET/PRAGMA, CREATE, INSERT, ...
 *    never reach execution. Layer 2 matters: `allowed_directories` lets a COPY write *into* the lake.
 *
 * DuckDB parses SUMMARIZE, DESCRIBE and SHOW as a SELECT over a "show" table reference, so they are looked for in
 * the parsed tree (anywhere, subqueries included). FROM-first, VALUES, TABLE, set operations and PIVOT/UNPIVOT with
 * an IN list are SELECTs to the parser and stay allowed; a PIVOT without an IN list is several statements.
 */
import type { DuckDBConnection, DuckDBPreparedStatement } from "@duckdb/node-api"
import { Effect, Schema } from "effect"
import { UsageError } from "../domain/errors.ts"
import { duckCall } from "./call.ts"
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
  "query runs one read-only SELECT over the lake's views (COPY, EXPORT, ATTACH, INSTALL/LOAD, SET/RESET/PRAGMA, CREATE, INSERT, UPDATE, DELETE, EXPLAIN, DESCRIBE, SUMMARIZE, SHOW and other statements are refused)"

const columnsHint =
  "; a view's columns: SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'bars_1m'"

const pivotHint =
  " (a PIVOT without an IN list runs as several: list the values, e.g. PIVOT bars_1d ON symbol IN ('AAPL', 'MSFT') USING first(close))"

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
  error_message: Schema.optional(Schema.String),
  statements: Schema.optional(Schema.Unknown)
})

const showKeywords: Readonly<Record<string, string>> = { SUMMARY: "SUMMARIZE", DESCRIBE: "DESCRIBE" }

/** The keyword of the first SUMMARIZE / DESCRIBE / SHOW in a parsed tree, if any. */
function showIn(tree: unknown): string | undefined {
  if (typeof tree !== "object" || tree === null) return undefined
  const node = tree as Record<string, unknown>
  if (node.type === "SHOW_REF") return showKeywords[String(node.show_type)] ?? "SHOW"
  for (const child of Object.values(node)) {
    const found = showIn(child)
    if (found !== undefined) return found
  }
  return undefined
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e))

/**
 * A syntax error, worded by DuckDB with the spot marked (LINE 1: … ^): preparing text that does not parse fails in
 * the parser, before anything is bound.
 */
const syntaxError = (connection: DuckDBConnection, sql: string, fallback: string) =>
  Effect.gen(function* () {
    const attempt = yield* Effect.result(duckCall(connection, () => connection.prepare(sql), message))
    if (attempt._tag === "Success") attempt.success.destroySync()
    const reason =
      attempt._tag === "Failure" ? attempt.failure : fallback.replace(/^Failed to extract statements: /u, "")
    return yield* new UsageError({ field: "SQL", reason })
  })

/** DuckDB's parser's verdict on `sql`: syntax errors, several statements and non-SELECTs fail here, before binding. */
const parseOnly = (connection: DuckDBConnection, sql: string) =>
  Effect.gen(function* () {
    const extracted = yield* Effect.result(duckCall(connection, () => connection.extractStatements(sql), message))
    if (extracted._tag === "Failure") return yield* syntaxError(connection, sql, extracted.failure)
    const count = extracted.success.count
    if (count === 0) return yield* new UsageError({ field: "SQL", reason: "the query is empty" })
    if (count > 1) {
      const hint = /\b(?:UN)?PIVOT\b/iu.test(sql) ? pivotHint : ""
      return yield* new UsageError({
        field: "SQL",
        reason: `${count} statements given${hint}; only one may run: ${allowed}`
      })
    }
    // `json_serialize_sql` parses without binding and serialises SELECT statements only.
    const raw = yield* duckCall(
      connection,
      () => connection.runAndReadAll("SELECT json_serialize_sql($1::VARCHAR) AS parsed", [sql]),
      (e) => new UsageError({ field: "SQL", reason: message(e) })
    )
    const parsed = yield* Effect.try({
      try: () => Schema.decodeUnknownSync(Serialized)(JSON.parse(String(raw.getRowObjectsJson()[0]?.parsed))),
      catch: () => new UsageError({ field: "SQL", reason: "DuckDB could not parse the query" })
    })
    if (!parsed.error) {
      const show = showIn(parsed.statements)
      if (show === undefined) return
      // The user's own word when the statement starts with it (SHOW t and DESC t parse as DESCRIBE).
      const lead = leadingKeyword(sql)
      const what = /^(?:SUMMARIZE|DESCRIBE|DESC|SHOW)$/u.test(lead) ? lead : show
      return yield* new UsageError({ field: "SQL", reason: `${what} is not allowed: ${allowed}${columnsHint}` })
    }
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
    const prepared = yield* duckCall(
      connection,
      () => connection.prepare(sql),
      (e) => new UsageError({ field: "SQL", reason: message(e) })
    )
    if (prepared.statementType !== selectType) {
      prepared.destroySync()
      return yield* refused(leadingKeyword(sql))
    }
    return prepared
  })

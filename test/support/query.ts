/** Runs `marketpipe query` in-process against a temp lake, as the CLI would, capturing its output. */
import { Effect, Exit, Option } from "effect"
import { type QueryFlags, queryMain } from "../../src/cli/commands/query.ts"
import { exitCodeOf } from "../../src/cli/main.ts"
import { capture } from "./capture.ts"

/** The flags as the CLI leaves them when only the SQL is given. */
export const queryFlags = (sql: string, over: Partial<QueryFlags> = {}): QueryFlags => ({
  sql,
  csv: false,
  json: false,
  limit: 1000,
  memoryLimit: Option.none(),
  threads: Option.none(),
  skipBadFiles: false,
  config: Option.none(),
  dataDir: Option.none(),
  ...over
})

export const queryIn = (cwd: string, sql: string, over: Partial<QueryFlags> = {}, env: Record<string, string> = {}) =>
  capture(() => Effect.runPromiseExit(queryMain(queryFlags(sql, over), { env, cwd })))

/** The rows of a query that must succeed (`--json`). */
export const rowsOf = async (cwd: string, sql: string, over: Partial<QueryFlags> = {}) => {
  const r = await queryIn(cwd, sql, { ...over, json: true })
  if (Exit.isFailure(r.value)) throw new Error(`query failed: ${String(r.value.cause)}`)
  return JSON.parse(r.stdout) as Array<Record<string, unknown>>
}

/** The exit code and the one-line error the CLI would print. */
export const verdict = (exit: Exit.Exit<unknown, unknown>): { code: number; error: string } => {
  const lines: Array<string> = []
  return { code: exitCodeOf(exit, (l) => lines.push(l)), error: lines.join("\n") }
}

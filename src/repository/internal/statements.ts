/** Small pieces the services' SQL shares: the clock's time as stored, composite keys, batch sizes. */
import { Clock, Effect } from "effect"
import type { SqlClient } from "effect/sql"

/** The injected clock's time as ISO text (tests fix it with `TestClock`). */
export const nowIso = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms).toISOString())

/**
 * Rows per multi-row statement: up to 15 columns x 500 rows stays well under SQLite's 32,766 and Postgres' 65,535
 * bound parameters.
 */
export const ROWS_PER_STATEMENT = 500

/**
 * Rows given as `(VALUES (frame, symbol, day, ...extra), ...) AS v`, for an `UPDATE ... FROM` that finds each through
 * its table's (frame, symbol, day) key: `matches(table)` is the join condition. Postgres types VALUES parameters as
 * text (`day` is a date there), so the parameters are cast to the column types, never the columns.
 */
export const keyedValues = (
  sql: SqlClient.SqlClient,
  rows: ReadonlyArray<readonly [frame: string, symbol: string, day: string, ...extra: Array<unknown>]>
) => {
  const values = sql.csv(rows.map((r) => sql`${sql.in(r)}`))
  const day = sql.onDialectOrElse({ pg: () => sql`CAST(v.column3 AS DATE)`, orElse: () => sql`v.column3` })
  return {
    from: sql`(VALUES ${values}) AS v`,
    matches: (table: string) =>
      sql`${sql(table)}.frame = CAST(v.column1 AS TEXT) AND ${sql(table)}.symbol = CAST(v.column2 AS TEXT)
        AND ${sql(table)}.day = ${day}`
  }
}

/** `sql.insert` takes only a non-empty list of rows. */
export const nonEmpty = <A>(rows: ReadonlyArray<A>): readonly [A, ...Array<A>] | undefined => {
  const [first, ...rest] = rows
  return first === undefined ? undefined : [first, ...rest]
}

/** `keyedValues` of partition keys alone: the rows of `partitions` or `coverage` a statement is about. */
export const partitionKeys = (
  sql: SqlClient.SqlClient,
  refs: ReadonlyArray<{ readonly frame: string; readonly symbol: string; readonly day: string }>
) =>
  keyedValues(
    sql,
    refs.map((r) => [r.frame, r.symbol, r.day] as const)
  )

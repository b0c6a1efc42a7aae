/**
 * The SQL views `marketpipe query` puts over the lake: `bars_1m` … `bars_1d` (one per frame) and `quarantine`. Each
 * reads its Hive tree with `read_parquet`, exposing the `frame` and `symbol` keys as VARCHAR columns. A tree with no
 * files yet still gets a view, a typed empty SELECT with the same columns, so queries over it count zero rows
 * instead of failing.
 */
import { existsSync, readdirSync } from "node:fs"
import { join, resolve } from "node:path"
import { type Timeframe, timeframes } from "../domain/timeframe.ts"

export interface ViewDefinition {
  readonly name: string
  /** The parquet files it reads (a glob); `undefined` when there are none yet. */
  readonly glob: string | undefined
  readonly sql: string
}

/** The directories a query may read: the bars and the quarantine trees, nothing else. */
export const lakeRoots = (dataDir: string) => ({
  ohlcv: resolve(dataDir, "ohlcv"),
  quarantine: resolve(dataDir, "quarantine")
})

export const barsView = (frame: Timeframe): string => `bars_${frame}`

type Column = readonly [name: string, type: string]

/** The bar columns as DuckDB reads them from our files (`ts` is TIMESTAMP(MILLIS, UTC) → TIMESTAMPTZ). */
const barColumns: ReadonlyArray<Column> = [
  ["symbol", "VARCHAR"],
  ["ts", "TIMESTAMPTZ"],
  ["open", "DOUBLE"],
  ["high", "DOUBLE"],
  ["low", "DOUBLE"],
  ["close", "DOUBLE"],
  ["volume", "DOUBLE"],
  ["trade_count", "BIGINT"],
  ["vwap", "DOUBLE"],
  ["provider", "VARCHAR"],
  ["feed", "VARCHAR"]
]
/** The Hive key DuckDB appends (`symbol` is a file column already). */
const frameKey: Column = ["frame", "VARCHAR"]

export const frameColumns = (frame: Timeframe): ReadonlyArray<Column> =>
  frame === "1m" ? [...barColumns, frameKey] : [...barColumns, ["is_partial", "BOOLEAN"], frameKey]

export const quarantineColumns: ReadonlyArray<Column> = [
  ...barColumns,
  ["rule", "VARCHAR"],
  ["severity", "VARCHAR"],
  frameKey
]

/** A SQL string literal. */
export const sqlString = (s: string): string => `'${s.replaceAll("'", "''")}'`

/**
 * Hive keys are pinned to VARCHAR: DuckDB would otherwise cast a numeric ticker such as `7203` (the key wins over
 * the file's own `symbol` column) to BIGINT.
 */
const readParquet = (glob: string) =>
  `SELECT * FROM read_parquet(${sqlString(glob)}, hive_partitioning = true, union_by_name = true, hive_types = {'frame': VARCHAR, 'symbol': VARCHAR})`

const emptySelect = (columns: ReadonlyArray<Column>) =>
  `SELECT ${columns.map(([name, type]) => `NULL::${type} AS ${name}`).join(", ")} WHERE false`

/** Whether some `*.parquet` file sits exactly `depth` directory levels below `dir` (the depth the glob reads). */
export function hasParquet(dir: string, depth: number): boolean {
  if (!existsSync(dir)) return false
  const entries = readdirSync(dir, { withFileTypes: true })
  if (depth === 0) return entries.some((e) => e.isFile() && e.name.endsWith(".parquet") && !e.name.startsWith("."))
  return entries.some((e) => e.isDirectory() && hasParquet(join(dir, e.name), depth - 1))
}

const view = (name: string, glob: string, present: boolean, columns: ReadonlyArray<Column>): ViewDefinition => ({
  name,
  glob: present ? glob : undefined,
  sql: `CREATE VIEW ${name} AS ${present ? readParquet(glob) : emptySelect(columns)}`
})

/** Every view over the lake under `dataDir`, looking at which trees hold files now. */
export function lakeViews(dataDir: string): ReadonlyArray<ViewDefinition> {
  const roots = lakeRoots(dataDir)
  return [
    ...timeframes.map((frame) => {
      const dir = join(roots.ohlcv, `frame=${frame}`)
      return view(barsView(frame), `${dir}/*/*.parquet`, hasParquet(dir, 1), frameColumns(frame))
    }),
    view("quarantine", `${roots.quarantine}/*/*/*.parquet`, hasParquet(roots.quarantine, 2), quarantineColumns)
  ]
}

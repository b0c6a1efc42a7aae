/**
 * The SQL views `marketpipe query` puts over the lake: `bars_1m` … `bars_1d` (one per frame) and `quarantine`. Each
 * reads its Hive tree with `read_parquet`, exposing the `frame` and `symbol` keys as VARCHAR columns. A tree with no
 * files yet still gets a view, a typed empty SELECT with the same columns, so queries over it count zero rows
 * instead of failing.
 *
 * No `union_by_name`: within a tree every file has the same columns (`lake/file-format.ts`), and with it DuckDB would
 * open every file's footer whenever a view is bound, so one unreadable file would fail every query. Without it,
 * binding reads the first file only, and a scan skips the files its `symbol`/`frame` filter rules out.
 */
import { dirname } from "node:path"
import { dayNumber, newYorkDayStart } from "../domain/calendar.ts"
import { type Timeframe, timeframes } from "../domain/timeframe.ts"
import { filesIn, frameFiles, lakeRoots, quarantineFiles, type TreeFiles } from "../lake/layout.ts"

export interface ViewDefinition {
  readonly name: string
  /** The parquet files it reads (a glob); `undefined` when there are none yet. */
  readonly glob: string | undefined
  /** The files the glob matches now, sorted. */
  readonly files: ReadonlyArray<string>
  readonly columns: ReadonlyArray<Column>
  /** As of a past time: the files to read instead of the glob, each restricted to some days when it says so. */
  readonly asOf?: ReadonlyArray<AsOfSource> | undefined
}

/** A file an as-of view reads: a current file or a kept version, and, read through a later version, its days. */
export interface AsOfSource {
  readonly path: string
  readonly days?: ReadonlySet<string> | undefined
}

/** Files to leave out (`--skip-bad-files`) and unreadable files kept, but put last so that binding never opens them. */
export interface FileChoice {
  readonly skip: ReadonlySet<string>
  readonly last: ReadonlySet<string>
}

export const barsView = (frame: Timeframe): string => `bars_${frame}`

export type Column = readonly [name: string, type: string]

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
const readParquet = (sources: ReadonlyArray<string>) =>
  `SELECT * FROM read_parquet(${sources.length === 1 ? sqlString(sources[0] ?? "") : `[${sources.map(sqlString).join(", ")}]`}, hive_partitioning = true, hive_types = {'frame': VARCHAR, 'symbol': VARCHAR})`

const emptySelect = (columns: ReadonlyArray<Column>, where = "false") =>
  `SELECT ${columns.map(([name, type]) => `NULL::${type} AS ${name}`).join(", ")} WHERE ${where}`

const view = (name: string, { glob, files }: TreeFiles, columns: ReadonlyArray<Column>) =>
  ({ name, glob: files.length > 0 ? glob : undefined, files, columns }) satisfies ViewDefinition

/** One glob per directory untouched by `choice`, the files one by one elsewhere, then the files put last. */
function sources(view: ViewDefinition, choice: FileChoice): Array<string> {
  const touched = new Set(view.files.filter((f) => choice.skip.has(f) || choice.last.has(f)).map((f) => dirname(f)))
  const out: Array<string> = []
  for (const f of view.files) {
    const dir = dirname(f)
    if (!touched.has(dir)) {
      if (out.at(-1) !== filesIn(dir)) out.push(filesIn(dir))
    } else if (!choice.skip.has(f) && !choice.last.has(f)) out.push(f)
  }
  return [...out, ...view.files.filter((f) => choice.last.has(f) && !choice.skip.has(f))]
}

/** Bars of the given New York trading days: one half-open range of bar starts per day. */
const onDays = (days: ReadonlySet<string>) =>
  [...days]
    .sort()
    .map((d) => {
      const n = dayNumber(d)
      return `(epoch_ms(ts) >= ${newYorkDayStart(n)} AND epoch_ms(ts) < ${newYorkDayStart(n + 1)})`
    })
    .join(" OR ")

/** An as-of view: whole files in one `read_parquet`, files read through a later version one by one with their days. */
function asOfSql(view: ViewDefinition, sources: ReadonlyArray<AsOfSource>, choice: FileChoice): string {
  const kept = sources.filter((s) => !choice.skip.has(s.path))
  const columns = view.columns.map(([name]) => name).join(", ")
  const whole = kept.filter((s) => s.days === undefined).map((s) => s.path)
  const parts = [
    ...(whole.length === 0 ? [] : [`SELECT ${columns} FROM (${readParquet(whole)})`]),
    ...kept.flatMap((s) =>
      s.days === undefined || s.days.size === 0
        ? []
        : [`SELECT ${columns} FROM (${readParquet([s.path])}) WHERE ${onDays(s.days)}`]
    )
  ]
  return `CREATE VIEW ${view.name} AS ${parts.length === 0 ? emptySelect(view.columns) : parts.join(" UNION ALL ")}`
}

/** `CREATE VIEW` for `view`, reading its files as `choice` says. */
export function viewSql(view: ViewDefinition, choice: FileChoice): string {
  if (view.asOf !== undefined) return asOfSql(view, view.asOf, choice)
  const create = `CREATE VIEW ${view.name} AS`
  if (view.glob !== undefined && !view.files.some((f) => choice.skip.has(f) || choice.last.has(f)))
    return `${create} ${readParquet([view.glob])}`
  const from = sources(view, choice)
  if (from.length === 0) return `${create} ${emptySelect(view.columns)}`
  // Nothing readable to bind to: the view is created all the same, and fails only when a query reads it.
  if (from.every((f) => choice.last.has(f)))
    return `${create} ${emptySelect(view.columns, `error(${sqlString(`unreadable Parquet file ${from[0]}`)})`)}`
  return `${create} ${readParquet(from)}`
}

/** Every view over the lake under `dataDir`, looking at which trees hold files now. */
export function lakeViews(dataDir: string): ReadonlyArray<ViewDefinition> {
  return [
    ...timeframes.map((frame) => view(barsView(frame), frameFiles(dataDir, frame), frameColumns(frame))),
    view("quarantine", quarantineFiles(dataDir), quarantineColumns)
  ]
}

/**
 * The bar views as of a past time: each frame's files (current ones and those the manifest records) as `resolve`
 * says they were then; `undefined` leaves a file out (it did not exist then). The quarantine view stays current.
 */
export function lakeViewsAsOf(
  dataDir: string,
  manifestFiles: (frame: Timeframe) => ReadonlyArray<string>,
  resolve: (file: string) => AsOfSource | undefined
): ReadonlyArray<ViewDefinition> {
  const root = lakeRoots(dataDir).ohlcv
  return [
    ...timeframes.map((frame) => {
      const current = frameFiles(dataDir, frame)
      const relative = current.files.map((f) => `ohlcv/${f.slice(root.length + 1)}`)
      const files = [...new Set([...relative, ...manifestFiles(frame)])].sort()
      const sources = files.flatMap((f) => {
        const s = resolve(f)
        return s === undefined ? [] : [s]
      })
      return {
        name: barsView(frame),
        glob: sources.length > 0 ? current.glob : undefined,
        files: sources.map((s) => s.path),
        columns: frameColumns(frame),
        asOf: sources
      } satisfies ViewDefinition
    }),
    view("quarantine", quarantineFiles(dataDir), quarantineColumns)
  ]
}

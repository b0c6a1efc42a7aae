/**
 * `marketpipe query "SQL"`: one read-only SELECT over the lake with DuckDB. Views `bars_1m` … `bars_1d` and
 * `quarantine` expose the Hive keys `frame` and `symbol`; output is a table, CSV (`--csv`) or JSON (`--json`), at
 * most `--limit` rows (0 = all). Nothing the query says can write a file or change a setting. DuckDB's memory and
 * threads are capped (`--memory-limit`, `--threads`, config `query`); `--skip-bad-files` leaves unreadable files out.
 */
import { stringify } from "csv-stringify/sync"
import { Effect, Option } from "effect"
import { type LoadedConfig, loadConfig } from "../../config/load.ts"
import { UsageError } from "../../domain/errors.ts"
import { resolveTime } from "../../lake/load/options.ts"
import { noDatabaseYet, readStorageLayer } from "../../pipeline/context.ts"
import { adjustmentFactors } from "../../query/adjusted.ts"
import { type Cell, type Column, loadDuckDB, openLake, type RowSink, runQuery } from "../../query/duckdb.ts"
import { checkLimitFlags, type LimitFlags, resolveLimits } from "../../query/limits.ts"
import { FileVersions } from "../../repository/file-versions.ts"
import { type CommonFlags, checkInput, currentEnvironment, type Environment } from "../app.ts"
import { makeOutput, table } from "../output.ts"

export interface QueryFlags extends CommonFlags, LimitFlags {
  readonly sql: string
  readonly csv: boolean
  readonly limit: number
  readonly skipBadFiles: boolean
  /** Read the lake as it was then (`loadOhlcv`'s time forms). */
  readonly asOf?: Option.Option<string>
  /** What `bars_<frame>_adjusted` applies: split ratios, or splits and dividends (the default). */
  readonly adjust?: Option.Option<"split" | "all">
}

/**
 * `--as-of`: the time, and every file version the repository's manifest records. With no database there is no
 * record of versions to read the past from.
 */
const asOfFor = (raw: string | undefined, loaded: LoadedConfig) =>
  Effect.gen(function* () {
    if (raw === undefined) return undefined
    const at = yield* checkInput(() => resolveTime("--as-of", raw))
    if (noDatabaseYet({ loaded })) {
      return yield* new UsageError({
        field: "--as-of",
        reason: `reading as of a time needs the repository's record of file versions, and ${loaded.databaseUrl} does not exist yet`
      })
    }
    const versions = yield* FileVersions.use((v) => v.under("ohlcv/")).pipe(
      Effect.provide(readStorageLayer({ loaded }))
    )
    return { at, versions }
  })

const text = (cell: Cell, nullAs: string): string =>
  cell === null ? nullAs : typeof cell === "object" ? JSON.stringify(cell) : String(cell)

const csv = (rows: ReadonlyArray<ReadonlyArray<string>>) => stringify(rows as Array<Array<string>>)

const write = (s: string) => {
  process.stdout.write(s)
}

/** CSV and JSON stream as chunks arrive; a table needs every row for its column widths. */
function makeSink(format: "table" | "csv" | "json", print: (s: string) => void) {
  let names: ReadonlyArray<string> = []
  let first = true
  const tableRows: Array<ReadonlyArray<string>> = []
  const sink: RowSink = {
    columns: (columns: ReadonlyArray<Column>) => {
      names = columns.map((c) => c.name)
      if (format === "csv") write(csv([names]))
      if (format === "json") write("[")
    },
    rows: (rows) => {
      if (format === "table") for (const r of rows) tableRows.push(r.map((c) => text(c, "NULL")))
      else if (format === "csv") write(csv(rows.map((r) => r.map((c) => text(c, "")))))
      else {
        const objects = rows.map((r) => JSON.stringify(Object.fromEntries(names.map((n, i) => [n, r[i] ?? null]))))
        write(`${first ? "" : ","}${objects.join(",")}`)
        first = false
      }
    }
  }
  const finish = () => {
    if (format === "json") write("]\n")
    if (format === "table") print(table(names, tableRows))
  }
  return { sink, finish }
}

export const queryMain = (flags: QueryFlags, environment: Environment = currentEnvironment()) =>
  Effect.gen(function* () {
    if (flags.csv && flags.json)
      return yield* new UsageError({ field: "--csv", reason: "choose one of --csv and --json (default: a table)" })
    if (flags.limit < 0)
      return yield* new UsageError({ field: "--limit", reason: `${flags.limit} is negative; 0 prints every row` })
    if (flags.sql.trim() === "") return yield* new UsageError({ field: "SQL", reason: "the query is empty" })
    yield* checkLimitFlags(flags)
    const loaded = yield* loadConfig({
      path: Option.getOrUndefined(flags.config),
      dataDir: Option.getOrUndefined(flags.dataDir),
      dataset: Option.getOrUndefined(flags.dataset ?? Option.none()),
      env: environment.env,
      cwd: environment.cwd
    })
    yield* checkInput(() => {
      if (/[*?[]/u.test(loaded.dataDir))
        throw new UsageError({
          field: "data_dir",
          reason: `'${loaded.dataDir}' contains a glob character (* ? [), which DuckDB would expand`
        })
    })
    const out = makeOutput({ json: flags.json, tty: false })
    for (const n of loaded.notices) out.notice(`notice: ${n}`)
    const asOf = yield* asOfFor(Option.getOrUndefined(flags.asOf ?? Option.none()), loaded)
    // The factors cost a repository read and, for dividends, lake reads: only a query of an adjusted view pays them.
    const factors = /_adjusted\b/iu.test(flags.sql)
      ? yield* adjustmentFactors(
          loaded,
          Option.getOrElse(flags.adjust ?? Option.none(), () => "all" as const),
          asOf?.at,
          out.notice
        )
      : []
    const duck = yield* loadDuckDB(environment.env)
    const format = flags.csv ? "csv" : flags.json ? "json" : "table"
    const outcome = yield* Effect.scoped(
      Effect.gen(function* () {
        const session = yield* openLake(duck, loaded.dataDir, {
          limits: resolveLimits(flags, loaded.config.query),
          skipBadFiles: flags.skipBadFiles,
          warn: out.notice,
          asOf,
          factors
        })
        if (session.views.every((v) => v.glob === undefined))
          out.notice(
            asOf === undefined
              ? `notice: no Parquet files under ${loaded.dataDir} yet; every view is empty`
              : `notice: the lake under ${loaded.dataDir} held no bars as of ${new Date(asOf.at).toISOString()}; every bars view is empty`
          )
        const { sink, finish } = makeSink(format, out.result)
        const outcome = yield* runQuery(session, flags.sql, flags.limit, sink)
        finish()
        return outcome
      })
    )
    if (outcome.truncated)
      out.notice(`notice: showing the first ${flags.limit} rows; --limit N shows more, --limit 0 shows every row`)
    return outcome
  })

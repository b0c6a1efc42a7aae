/**
 * Which files a load reads, and how much of each: the candidate files of each symbol follow from the layout (a range
 * of more than 36 periods lists the symbol's own directory instead), and each file's footer says which row groups
 * can hold the range (by their `ts` statistics) and so how many rows it gets in the output. Reads nothing else.
 */
import { readdir } from "node:fs/promises"
import { sep } from "node:path"
import { Data, Effect } from "effect"
import { type FileMetaData, parquetSchema, type SchemaTree } from "hyparquet"
import { StorageError, UsageError } from "../../domain/errors.ts"
import type { Symbol } from "../../domain/symbol.ts"
import { periodFile, periodOfFileName, periodSpan, periodsFrom, symbolDir } from "../layout.ts"
import { badRowCount } from "../read/file-checks.ts"
import { absent, footerOf, type LakeFile, NotALakeFile, reason, usingLakeFile } from "../read/lake-file.ts"
import type { OhlcvColumn, Resolved } from "./options.ts"

/** A file was replaced by a bigger one between planning and reading: the load starts over. */
export class LakeChanged extends Data.TaggedError("LakeChanged") {}

/** Up to this many candidate periods per symbol are opened by path; beyond that the symbol's directory is read. */
const MAX_PROBED_PERIODS = 36

/** The lake files of one symbol that may hold the range, in time order (paths checked to stay inside the lake). */
export const candidateFiles = (
  r: Resolved<OhlcvColumn>,
  symbol: Symbol
): Effect.Effect<Array<string>, UsageError | StorageError> => {
  const { first, last, count } = periodSpan(r.timeframe, r.start, r.end)
  if (count === 0) return Effect.succeed([])
  const dir = symbolDir(r.lake, r.timeframe, symbol)
  if (!dir.startsWith(r.lake + sep)) {
    return Effect.fail(new UsageError({ field: "symbols", reason: `${symbol} leaves the lake` }))
  }
  if (count <= MAX_PROBED_PERIODS) {
    return Effect.succeed(periodsFrom(r.timeframe, first, count).map((p) => periodFile(dir, p)))
  }
  // A very wide range: list this symbol's directory (never the whole lake) instead of probing every period.
  return Effect.tryPromise({
    try: () => readdir(dir).catch((e) => (absent(e) ? [] : Promise.reject(e))),
    catch: (e) => new StorageError({ path: dir, reason: reason(e) })
  }).pipe(
    Effect.map((names) =>
      names
        .map((n) => periodOfFileName(r.timeframe, n))
        .filter((p): p is string => p !== undefined && p >= first && p <= last)
        .sort()
        .map((p) => periodFile(dir, p))
    )
  )
}

/**
 * One step on the open file at `path` as one Effect (`usingLakeFile`: opened, used and closed in one promise);
 * `undefined` when there is no such file. Whatever `use` throws means the file is not a lake file, a `StorageError`
 * naming it; `LakeChanged` passes through.
 */
export const onLakeFile = <A>(
  path: string,
  use: (lake: LakeFile) => Promise<A>
): Effect.Effect<A | undefined, StorageError | LakeChanged> =>
  Effect.tryPromise({
    try: () => usingLakeFile(path, use),
    catch: (e) =>
      e instanceof StorageError || e instanceof LakeChanged
        ? e
        : new StorageError({
            path,
            reason: `cannot read it as a lake file: ${e instanceof NotALakeFile ? e.reason : reason(e)}`
          })
  })

/** Row groups whose `ts` statistics overlap `[start, end)` (all of them when a group has no statistics). */
export function selectGroups(
  r: Resolved<OhlcvColumn>,
  metadata: FileMetaData
): { groups: Array<number>; rows: number } {
  const groups: Array<number> = []
  let rows = 0
  for (const [index, g] of metadata.row_groups.entries()) {
    const n = Number(g.num_rows)
    const bad = badRowCount(n)
    if (bad !== undefined) throw new NotALakeFile({ reason: `its footer claims a row group of ${bad}` })
    const stats = g.columns.find((c) => c.meta_data?.path_in_schema[0] === "ts")?.meta_data?.statistics
    const min = stats?.min_value ?? stats?.min
    const max = stats?.max_value ?? stats?.max
    const outside = typeof min === "number" && typeof max === "number" && (max < r.start || min >= r.end)
    if (n > 0 && !outside) {
      groups.push(index)
      rows += n
    }
  }
  const bad = badRowCount(rows)
  if (bad !== undefined) throw new NotALakeFile({ reason: `its footer claims ${bad}` })
  return { groups, rows }
}

export interface FilePlan {
  readonly symbol: Symbol
  readonly path: string
  readonly identity: string
  readonly metadata: FileMetaData
  readonly groups: ReadonlyArray<number>
  /** Rows of the selected row groups: the room this file gets in the output. */
  readonly rows: number
  /** As-of reads through a later version: only these days of the file. */
  readonly days?: ReadonlySet<string> | undefined
}

/** The footer only. `undefined` when the file is missing or no row group can hold the range. */
export const planFile = (
  r: Resolved<OhlcvColumn>,
  symbol: Symbol,
  path: string,
  days?: ReadonlySet<string>
): Effect.Effect<FilePlan | undefined, StorageError | LakeChanged> =>
  onLakeFile(path, async ({ file, identity }) => {
    const metadata = await footerOf(file)
    const { groups, rows } = selectGroups(r, metadata)
    return rows === 0 ? undefined : { symbol, path, identity, metadata, groups, rows, days }
  })

/** The file's top-level columns by name (hyparquet's schema tree). */
export const columnsOf = (metadata: FileMetaData): Map<string, SchemaTree> => {
  try {
    return new Map(parquetSchema(metadata).children.map((c) => [c.element.name, c]))
  } catch (e) {
    throw new NotALakeFile({ reason: reason(e) })
  }
}

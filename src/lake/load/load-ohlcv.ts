/**
 * `loadOhlcv()`: bars from the lake into typed-array columns, for notebooks, scripts and research code.
 *
 * The time range is half-open, `[start, end)`, on bar starts (`ts`). `start` and `end` are a `Date`, epoch
 * milliseconds, or a string: `YYYY-MM-DD` means midnight in New York at the start of that date (so
 * `start: "2024-03-01", end: "2024-04-01"` is March 2024 in New York), `YYYY-MM-DDTHH:mm[:ss[.SSS]]` without an offset is
 * a New York wall-clock time, and an ISO date-time with `Z` or an offset is that instant.
 *
 * Only the files whose period (month for 1m–30m, year for 1h–1d) overlaps the range are opened: their paths follow
 * from the layout (a range of more than 36 periods lists the symbol's own directory instead). First every file's
 * footer is read; row groups whose `ts` statistics fall outside the range are not read at all. The rows of the
 * remaining row groups get their place in the result's typed arrays, and each file's requested column chunks are
 * read and decoded straight into that place; the exact boundaries are cut by binary search on the sorted `ts`, and
 * the kept rows are moved together at the end. Decoding handles the layouts the lake's writers produce and leaves
 * anything else to hyparquet.
 *
 * Rows come sorted by symbol (in code-unit order, as SQL `ORDER BY symbol` over ASCII tickers), then by `ts`. A symbol
 * with no files, or a range without data, gives an empty result (`length` 0), never an error. Symbols are validated
 * with the lake's rules before any path is built from them, so nothing passed in can point outside the data dir.
 */
import type { FileHandle } from "node:fs/promises"
import { open, readdir } from "node:fs/promises"
import { resolve, sep } from "node:path"
import process from "node:process"
import { Effect } from "effect"
import {
  type AsyncBuffer,
  type ColumnData,
  type FileMetaData,
  parquetMetadataAsync,
  parquetRead,
  parquetSchema,
  type RowGroup,
  type SchemaTree
} from "hyparquet"
import { dayFromNumber, dayNumber, makeCalendar, newYorkDayOf, newYorkOffsetMinutes } from "../../domain/calendar.ts"
import { StorageError, UsageError } from "../../domain/errors.ts"
import { parseSymbol, type Symbol } from "../../domain/symbol.ts"
import { type Timeframe, timeframes } from "../../domain/timeframe.ts"
import { periodFile, periodOfFileName, periodSpan, periodsFrom, symbolDir } from "../layout.ts"
import { badRowCount, chunkProblem, runsProblem } from "../read/file-checks.ts"
import { compressors, decodable, decodePages, pagesOf, Unsupported } from "../read/page-decoder.ts"

/** The value columns `loadOhlcv` can return; `symbol` and `ts` always come. */
export const ohlcvColumns = ["open", "high", "low", "close", "volume", "trade_count", "vwap", "is_partial"] as const
export type OhlcvColumn = (typeof ohlcvColumns)[number]

/**
 * A column's array: `Float64Array` for prices, volume, `trade_count` and `vwap` (NaN where the provider reported
 * nothing), `Uint8Array` for `is_partial` (1 = the bucket was cut short; 0 where a file has no such column, as 1m
 * bars never are).
 */
export type OhlcvColumnData<K extends OhlcvColumn> = K extends "is_partial" ? Uint8Array : Float64Array

/** A row's value: `null` for a missing `trade_count` / `vwap`, a boolean for `is_partial`. */
export type OhlcvRowValue<K extends OhlcvColumn> = K extends "trade_count" | "vwap"
  ? number | null
  : K extends "is_partial"
    ? boolean
    : number

/** A point in time: a `Date`, UTC epoch milliseconds, `YYYY-MM-DD` (New York midnight) or an ISO date-time. */
export type TimeInput = Date | number | string

/** Which bars to keep: everything stored (`all`), or only those starting inside the NYSE session of their day. */
export type SessionFilter = "regular" | "extended" | "all"

export interface LoadOhlcvOptions<C extends OhlcvColumn = OhlcvColumn> {
  /** One ticker or several (`BRK/B` is read as `BRK.B`); duplicates are dropped. */
  readonly symbols: string | ReadonlyArray<string>
  /** First bar start included. */
  readonly start: TimeInput
  /** First bar start excluded: the range is `[start, end)`. */
  readonly end: TimeInput
  /** Default `1m`. */
  readonly timeframe?: Timeframe | undefined
  /** Value columns to read (default: all of {@link ohlcvColumns}); `symbol` and `ts` always come. */
  readonly columns?: ReadonlyArray<C> | undefined
  /**
   * Default `all` (whatever is stored). `regular` keeps bars starting in 09:30–16:00 New York (13:00 on early
   * closes) on NYSE trading days; `extended` keeps 04:00–20:00 (17:00 on early closes).
   */
  readonly session?: SessionFilter | undefined
  /** Default `$MARKETPIPE_DATA_DIR`, else `./data`, relative to the working directory. */
  readonly dataDir?: string | undefined
}

/** The rows of one symbol inside a frame: indexes `[from, to)`. */
export interface OhlcvSegment {
  readonly symbol: string
  readonly from: number
  readonly to: number
}

export type OhlcvRow<C extends OhlcvColumn = OhlcvColumn> = { readonly symbol: string; readonly ts: Date } & {
  readonly [K in C]: OhlcvRowValue<K>
}

/** Bars in columns: index `i` of every array is one bar. */
export type OhlcvFrame<C extends OhlcvColumn = OhlcvColumn> = {
  readonly timeframe: Timeframe
  /** The range asked for, resolved: `[start, end)`. */
  readonly start: Date
  readonly end: Date
  /** The value columns present in this frame. */
  readonly columns: ReadonlyArray<C>
  /** Number of bars. */
  readonly length: number
  /** The symbol of each bar (one entry per row). */
  readonly symbols: Array<string>
  /** Bar start of each bar, UTC epoch milliseconds. */
  readonly ts: Float64Array
  /** Where each symbol's rows are, in order. */
  readonly segments: ReadonlyArray<OhlcvSegment>
  /** The same bars as objects (`ts` as a `Date`); built on each call, so prefer the columns for large frames. */
  readonly rows: () => Array<OhlcvRow<C>>
} & { readonly [K in C]: OhlcvColumnData<K> }

const DAY_MS = 86_400_000
/** The first read of a file's footer; a bigger footer takes a second read. */
const FOOTER_BYTES = 16 * 1024
const PLAN_CONCURRENCY = 16
const READ_CONCURRENCY = 4
/** Up to this many candidate periods per symbol are opened by path; beyond that the symbol's directory is read. */
const MAX_PROBED_PERIODS = 36

const parsers = { timestampFromMilliseconds: (ms: bigint) => Number(ms) }

const calendar = makeCalendar()

// ---------------------------------------------------------------------------------------------------------------
// Options

const isoDate = /^(\d{4})-(\d{2})-(\d{2})$/u
const wallClock = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?$/u
const withZone = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/iu

const realDate = (day: string): boolean => {
  const n = Date.parse(`${day}T00:00:00Z`)
  return Number.isFinite(n) && new Date(n).toISOString().slice(0, 10) === day
}

/** UTC ms of a New York wall-clock time. Before 02:00 the previous day's offset holds (DST switches at 02:00). */
const newYorkWallClock = (day: string, hour: number, minute: number, second: number, ms: number): number => {
  const n = dayNumber(day)
  const offset = newYorkOffsetMinutes(hour < 2 ? n - 1 : n)
  return n * DAY_MS + ((hour * 60 + minute + offset) * 60 + second) * 1000 + ms
}

/** Resolves a {@link TimeInput} to UTC epoch milliseconds. */
export function resolveTime(field: string, value: TimeInput): number {
  const bad = (what: string) =>
    new UsageError({
      field,
      reason: `${what} is not a time: use a Date, epoch milliseconds, YYYY-MM-DD (New York midnight), a New York wall-clock time YYYY-MM-DDTHH:mm, or an ISO date-time with Z or an offset`
    })
  if (value instanceof Date) {
    const t = value.getTime()
    if (!Number.isFinite(t)) throw bad("an invalid Date")
    return t
  }
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw bad(String(value))
    return value
  }
  if (typeof value !== "string") throw bad(`a ${typeof value}`)
  const s = value.trim()
  if (isoDate.test(s)) {
    if (!realDate(s)) throw bad(JSON.stringify(value))
    return newYorkWallClock(s, 0, 0, 0, 0)
  }
  const wall = wallClock.exec(s)
  if (wall !== null) {
    const [, day = "", h = "0", m = "0", sec = "0", frac = "0"] = wall
    const [hour, minute, second] = [Number(h), Number(m), Number(sec)]
    if (!realDate(day) || hour > 23 || minute > 59 || second > 59) throw bad(JSON.stringify(value))
    return newYorkWallClock(day, hour, minute, second, Number(frac.padEnd(3, "0")))
  }
  if (withZone.test(s)) {
    const t = Date.parse(s)
    if (Number.isFinite(t)) return t
  }
  throw bad(JSON.stringify(value))
}

const symbolRule = "a ticker of 1-15 characters: A-Z, 0-9, '.', '-' (share classes as BRK.B, BRK-B or BRK/B)"

function resolveSymbols(raw: string | ReadonlyArray<string>): Array<Symbol> {
  const list = typeof raw === "string" ? [raw] : raw
  if (!Array.isArray(list))
    throw new UsageError({ field: "symbols", reason: "expected a string or an array of strings" })
  const out = new Set<Symbol>()
  for (const s of list as ReadonlyArray<unknown>) {
    const symbol = typeof s === "string" ? parseSymbol(s) : undefined
    if (symbol === undefined) {
      throw new UsageError({ field: "symbols", reason: `${JSON.stringify(s)} is not a valid symbol (${symbolRule})` })
    }
    out.add(symbol)
  }
  return [...out].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}

function resolveColumns<C extends OhlcvColumn>(raw: ReadonlyArray<C> | undefined): Array<C> {
  if (raw === undefined) return [...ohlcvColumns] as Array<C>
  if (!Array.isArray(raw)) throw new UsageError({ field: "columns", reason: "expected an array of column names" })
  const known: ReadonlyArray<string> = ohlcvColumns
  const out: Array<C> = []
  for (const c of raw as ReadonlyArray<unknown>) {
    if (c === "ts" || c === "symbol") continue
    if (typeof c !== "string" || !known.includes(c)) {
      throw new UsageError({
        field: "columns",
        reason: `unknown column ${JSON.stringify(c)} (choose from ${ohlcvColumns.join(", ")}; ts and symbol always come)`
      })
    }
    if (!out.includes(c as C)) out.push(c as C)
  }
  return out
}

interface Resolved<C extends OhlcvColumn> {
  readonly symbols: ReadonlyArray<Symbol>
  readonly start: number
  readonly end: number
  readonly timeframe: Timeframe
  readonly columns: ReadonlyArray<C>
  readonly session: SessionFilter
  readonly lake: string
}

function resolveOptions<C extends OhlcvColumn>(options: LoadOhlcvOptions<C>): Resolved<C> {
  if (typeof options !== "object" || options === null) {
    throw new UsageError({ field: "options", reason: "expected { symbols, start, end, ... }" })
  }
  const timeframe = options.timeframe ?? "1m"
  if (!(timeframes as ReadonlyArray<string>).includes(timeframe)) {
    throw new UsageError({
      field: "timeframe",
      reason: `${JSON.stringify(timeframe)} is not a timeframe (choose from ${timeframes.join(", ")})`
    })
  }
  const session = options.session ?? "all"
  if (session !== "all" && session !== "regular" && session !== "extended") {
    throw new UsageError({ field: "session", reason: `${JSON.stringify(session)}: choose regular, extended or all` })
  }
  const env = process.env.MARKETPIPE_DATA_DIR
  const dataDir = options.dataDir ?? (env !== undefined && env !== "" ? env : "data")
  return {
    symbols: resolveSymbols(options.symbols),
    start: resolveTime("start", options.start),
    end: resolveTime("end", options.end),
    timeframe,
    columns: resolveColumns(options.columns),
    session,
    lake: resolve(process.cwd(), dataDir, "ohlcv")
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Which files

const errorCode = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : undefined

const absent = (e: unknown): boolean => {
  const code = errorCode(e)
  return code === "ENOENT" || code === "ENOTDIR"
}

const reason = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** The lake files of one symbol that may hold the range, in time order (paths checked to stay inside the lake). */
async function candidateFiles(r: Resolved<OhlcvColumn>, symbol: Symbol): Promise<Array<string>> {
  const { first, last, count } = periodSpan(r.timeframe, r.start, r.end)
  if (count === 0) return []
  const dir = symbolDir(r.lake, r.timeframe, symbol)
  if (!dir.startsWith(r.lake + sep)) throw new UsageError({ field: "symbols", reason: `${symbol} leaves the lake` })
  if (count <= MAX_PROBED_PERIODS) return periodsFrom(r.timeframe, first, count).map((p) => periodFile(dir, p))
  // A very wide range: list this symbol's directory (never the whole lake) instead of probing every period.
  let names: Array<string>
  try {
    names = await readdir(dir)
  } catch (e) {
    if (absent(e)) return []
    throw new StorageError({ path: dir, reason: reason(e) })
  }
  return names
    .map((n) => periodOfFileName(r.timeframe, n))
    .filter((p): p is string => p !== undefined && p >= first && p <= last)
    .sort()
    .map((p) => periodFile(dir, p))
}

// ---------------------------------------------------------------------------------------------------------------
// Reading: plan every file from its footer, reserve the output, decode each file into its place, then compact.

/** An open lake file as hyparquet's `AsyncBuffer`; the footer read (the file's tail) serves later slices it covers. */
interface OpenFile {
  readonly handle: FileHandle
  readonly file: AsyncBuffer
  /** Changes when the file is replaced (writes are atomic renames) or rewritten. */
  readonly identity: string
}

async function openFile(path: string): Promise<OpenFile | undefined> {
  let handle: FileHandle
  try {
    handle = await open(path, "r")
  } catch (e) {
    if (absent(e)) return undefined
    throw new StorageError({ path, reason: reason(e) })
  }
  try {
    const stat = await handle.stat()
    const size = stat.size
    let tail: { start: number; bytes: ArrayBuffer } | undefined
    const read = async (from: number, to: number): Promise<ArrayBuffer> => {
      // Offsets come from the footer: a range past the file is corruption, not a size to allocate. It is cut to the
      // file (the decoders then fail on the short bytes) rather than rejected: hyparquet prefetches ranges it may
      // never await, and a rejection there would be unhandled.
      const start = Math.min(Math.max(0, from || 0), size)
      const end = Math.min(Math.max(start, to || 0), size)
      const bytes = new Uint8Array(end - start)
      let done = 0
      while (done < bytes.length) {
        const { bytesRead } = await handle.read(bytes, done, bytes.length - done, start + done)
        if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${start + done} of ${size}`)
        done += bytesRead
      }
      return bytes.buffer
    }
    const slice = async (start: number, end = size): Promise<ArrayBuffer> => {
      if (tail !== undefined && start >= tail.start) return tail.bytes.slice(start - tail.start, end - tail.start)
      const bytes = await read(start, end)
      if (end === size && tail === undefined) tail = { start, bytes }
      return bytes
    }
    const file: AsyncBuffer = {
      byteLength: size,
      slice: (start, end) => {
        // hyparquet prefetches ranges it may never await (it stops at a decode error): a failed read must not
        // become an unhandled rejection. Whoever awaits the read still gets its error.
        const bytes = slice(start, end)
        bytes.catch(() => {})
        return bytes
      }
    }
    return { handle, file, identity: `${stat.dev}:${stat.ino}:${size}:${stat.mtimeMs}` }
  } catch (e) {
    await handle.close()
    throw new StorageError({ path, reason: reason(e) })
  }
}

/** Runs `f` on an open file and closes it; read and format failures become a `StorageError` naming the file. */
async function withFile<A>(path: string, f: (file: OpenFile) => Promise<A>): Promise<A | undefined> {
  const opened = await openFile(path)
  if (opened === undefined) return undefined
  try {
    return await f(opened)
  } catch (e) {
    if (e instanceof UsageError || e instanceof StorageError || e instanceof LakeChanged) throw e
    throw new StorageError({ path, reason: `cannot read it as a lake file: ${reason(e)}` })
  } finally {
    await opened.handle.close()
  }
}

/** A file was replaced by a bigger one between planning and reading: the load starts over. */
class LakeChanged extends Error {}

// Lake files are never GeoParquet; hyparquet's GeoParquet pass also loops forever on a negative `num_children`.
const readMetadata = (file: AsyncBuffer): Promise<FileMetaData> =>
  parquetMetadataAsync(file, { parsers, initialFetchSize: FOOTER_BYTES, geoparquet: false })

/** Row groups whose `ts` statistics overlap `[start, end)` (all of them when a group has no statistics). */
function selectGroups(r: Resolved<OhlcvColumn>, metadata: FileMetaData): { groups: Array<number>; rows: number } {
  const groups: Array<number> = []
  let rows = 0
  metadata.row_groups.forEach((g, index) => {
    const n = Number(g.num_rows)
    const bad = badRowCount(n)
    if (bad !== undefined) throw new Error(`its footer claims a row group of ${bad}`)
    const stats = g.columns.find((c) => c.meta_data?.path_in_schema[0] === "ts")?.meta_data?.statistics
    const min = stats?.min_value ?? stats?.min
    const max = stats?.max_value ?? stats?.max
    const outside = typeof min === "number" && typeof max === "number" && (max < r.start || min >= r.end)
    if (n > 0 && !outside) {
      groups.push(index)
      rows += n
    }
  })
  const bad = badRowCount(rows)
  if (bad !== undefined) throw new Error(`its footer claims ${bad}`)
  return { groups, rows }
}

interface FilePlan {
  readonly symbol: Symbol
  readonly path: string
  readonly identity: string
  readonly metadata: FileMetaData
  readonly groups: ReadonlyArray<number>
  /** Rows of the selected row groups: the room this file gets in the output. */
  readonly rows: number
}

/** Phase 1: the footer only. `undefined` when the file is missing or no row group can hold the range. */
const planFile = (r: Resolved<OhlcvColumn>, symbol: Symbol, path: string): Promise<FilePlan | undefined> =>
  withFile(path, async ({ file, identity }) => {
    const metadata = await readMetadata(file)
    const { groups, rows } = selectGroups(r, metadata)
    return rows === 0 ? undefined : { symbol, path, identity, metadata, groups, rows }
  })

interface Output {
  readonly ts: Float64Array
  readonly columns: ReadonlyMap<OhlcvColumn, Float64Array | Uint8Array>
}

/** Where one column of a row group goes. */
interface Target {
  readonly name: string
  readonly dest: Float64Array | Uint8Array
}

/**
 * Phase 2: decodes the planned row groups of a file into `out` from `offset` (at most `plan.rows` rows) and returns
 * the output ranges `[from, to)` to keep: inside `[start, end)` and, when asked, inside the sessions.
 */
async function decodeFile(
  r: Resolved<OhlcvColumn>,
  plan: FilePlan,
  out: Output,
  offset: number
): Promise<Array<readonly [number, number]>> {
  const kept = await withFile(plan.path, async ({ file, identity }) => {
    let { metadata, groups, rows } = plan
    if (identity !== plan.identity) {
      // Replaced since phase 1 (a writer renamed a new version in): plan it again; it must still fit.
      metadata = await readMetadata(file)
      ;({ groups, rows } = selectGroups(r, metadata))
      if (rows > plan.rows) throw new LakeChanged()
    }
    const elements = new Map(parquetSchema(metadata).children.map((c) => [c.element.name, c]))
    if (!elements.has("ts") || (elements.get("ts")?.children.length ?? 0) > 0) throw new Error("it has no ts column")
    const targets: Array<Target> = [{ name: "ts", dest: out.ts }]
    for (const [c, dest] of out.columns) {
      // Lake columns are flat: a group in their place is not one (and its leaves would go unchecked to hyparquet).
      if ((elements.get(c)?.children.length ?? 0) > 0) throw new Error(`its ${c} column is not a flat column`)
      if (elements.has(c)) targets.push({ name: c, dest })
      // A column this file does not have: "not reported" (NaN), or not partial (0, as allocated).
      else if (dest instanceof Float64Array) dest.fill(Number.NaN, offset, offset + rows)
    }
    const starts: Array<number> = []
    metadata.row_groups.reduce((at, g) => (starts.push(at), at + Number(g.num_rows)), 0)
    let at = offset
    for (const index of groups) {
      const group = metadata.row_groups[index]
      if (group === undefined) continue
      const n = Number(group.num_rows)
      await readGroup(file, metadata, group, elements, targets, at, starts[index] ?? 0, n)
      at += n
    }
    return keep(r, out.ts, offset, at)
  })
  return kept ?? []
}

/** Reads byte ranges, merging neighbours less than 64 KiB apart into one read. */
async function readRanges(
  file: AsyncBuffer,
  ranges: ReadonlyArray<{ readonly start: number; readonly end: number }>
): Promise<Array<Uint8Array>> {
  const order = ranges.map((_, i) => i).sort((x, y) => (ranges[x]?.start ?? 0) - (ranges[y]?.start ?? 0))
  const out = new Array<Uint8Array>(ranges.length)
  const reads: Array<Promise<void>> = []
  for (let i = 0; i < order.length; ) {
    const start = ranges[order[i] as number]?.start ?? 0
    let end = ranges[order[i] as number]?.end ?? 0
    let j = i + 1
    while (j < order.length && (ranges[order[j] as number]?.start ?? 0) - end < 65_536) {
      end = Math.max(end, ranges[order[j] as number]?.end ?? 0)
      j++
    }
    const members = order.slice(i, j)
    reads.push(
      Promise.resolve(file.slice(start, end)).then((buffer) => {
        for (const m of members) {
          const range = ranges[m]
          if (range !== undefined) out[m] = new Uint8Array(buffer, range.start - start, range.end - range.start)
        }
      })
    )
    i = j
  }
  await Promise.all(reads)
  return out
}

/** Decodes the target columns of one row group into `dest[at, at + rows)`; hyparquet decodes what we do not. */
async function readGroup(
  file: AsyncBuffer,
  metadata: FileMetaData,
  group: RowGroup,
  elements: ReadonlyMap<string, SchemaTree>,
  targets: ReadonlyArray<Target>,
  at: number,
  fileRow: number,
  rows: number
): Promise<void> {
  const chunks = targets.map((target) => {
    const meta = group.columns.find(
      (c) => c.meta_data?.path_in_schema.length === 1 && c.meta_data.path_in_schema[0] === target.name
    )?.meta_data
    // As hyparquet locates a chunk: some writers put 0 for "no dictionary page".
    const start = meta === undefined ? 0 : Number(meta.dictionary_page_offset || meta.data_page_offset)
    return { target, meta, start, end: meta === undefined ? 0 : start + Number(meta.total_compressed_size) }
  })
  const located = chunks.filter((c) => c.meta !== undefined && c.end > c.start)
  const bytes = await readRanges(file, located)
  const fallback = chunks.filter((c) => !located.includes(c)).map((c) => c.target)
  // Every located chunk's page headers are checked before either decoder trusts a size or count in them.
  located.forEach((c, i) => {
    const problem = chunkProblem(bytes[i] ?? new Uint8Array(0), rows)
    if (problem !== undefined) throw new Error(`column ${c.target.name}: ${problem}`)
  })
  const decoded = await Promise.all(
    located.map(async (c, i) => {
      const element = elements.get(c.target.name)?.element
      const data = bytes[i]
      if (c.meta === undefined || element === undefined || data === undefined) return false
      let pages: Awaited<ReturnType<typeof pagesOf>>
      try {
        pages = await pagesOf(data, c.meta.codec)
      } catch (e) {
        if (e instanceof Unsupported) return false
        throw e
      }
      // Also when hyparquet decodes this chunk below: its RLE reader trusts run lengths.
      const problem = runsProblem(pages, element, metadata.schema[0])
      if (problem !== undefined) throw new Error(`column ${c.target.name}: ${problem}`)
      if (!decodable(element, c.target.dest)) return false
      return decodePages(pages, element, c.target.dest, at, rows)
    })
  )
  located.forEach((c, i) => {
    if (decoded[i] !== true) fallback.push(c.target)
  })
  for (const t of fallback) {
    await parquetRead({
      file,
      metadata,
      columns: [t.name],
      rowStart: fileRow,
      rowEnd: fileRow + rows,
      compressors,
      parsers,
      onChunk: (chunk: ColumnData) => {
        if (chunk.rowStart >= fileRow) place(t.dest, chunk.columnData, at + chunk.rowStart - fileRow, at + rows)
      }
    })
  }
}

/** Copies values hyparquet decoded into `target[offset, limit)`; nulls become NaN (numbers) or 0 (flags). */
function place(target: Float64Array | Uint8Array, data: ArrayLike<unknown>, offset: number, limit: number): void {
  const n = Math.min(data.length, limit - offset)
  if (target instanceof Uint8Array) {
    for (let i = 0; i < n; i++) target[offset + i] = data[i] === true ? 1 : 0
    return
  }
  for (let i = 0; i < n; i++) {
    const v = data[i]
    target[offset + i] = v === null || v === undefined ? Number.NaN : Number(v)
  }
}

/** First index in `[lo, hi)` whose value is ≥ `x` (`hi` when none). */
function lowerBound(a: Float64Array, x: number, lo: number, hi: number): number {
  let l = lo
  let h = hi
  while (l < h) {
    const m = (l + h) >>> 1
    if ((a[m] as number) < x) l = m + 1
    else h = m
  }
  return l
}

/** The ranges of sorted `ts[from, to)` inside `[start, end)` and, when asked, inside the sessions of their days. */
function keep(r: Resolved<OhlcvColumn>, ts: Float64Array, from: number, to: number): Array<readonly [number, number]> {
  const lo = lowerBound(ts, r.start, from, to)
  const hi = lowerBound(ts, r.end, lo, to)
  if (hi <= lo) return []
  if (r.session === "all") return [[lo, hi]]
  const out: Array<readonly [number, number]> = []
  for (let d = newYorkDayOf(ts[lo] as number), last = newYorkDayOf(ts[hi - 1] as number); d <= last; d++) {
    const s = calendar.session(dayFromNumber(d), r.session)
    if (s === undefined) continue
    const a = lowerBound(ts, s.open, lo, hi)
    const b = lowerBound(ts, s.close, a, hi)
    if (b > a) out.push([a, b])
  }
  return out
}

/** Runs `f` over `items` with at most `limit` in flight; results keep the input order. */
async function mapLimited<A, B>(items: ReadonlyArray<A>, limit: number, f: (a: A) => Promise<B>): Promise<Array<B>> {
  const out = new Array<B>(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await f(items[i] as A)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}

// ---------------------------------------------------------------------------------------------------------------
// The frame

/** One pass over the files: plan, reserve, decode in place, compact. */
async function load<C extends OhlcvColumn>(r: Resolved<C>): Promise<OhlcvFrame<C>> {
  const files = (
    await Promise.all(
      r.symbols.map(async (symbol) => (await candidateFiles(r, symbol)).map((path) => ({ symbol, path })))
    )
  ).flat()
  const plans = (await mapLimited(files, PLAN_CONCURRENCY, (f) => planFile(r, f.symbol, f.path))).filter(
    (p): p is FilePlan => p !== undefined
  )
  const offsets: Array<number> = []
  const capacity = plans.reduce((at, p) => (offsets.push(at), at + p.rows), 0)
  const out: Output = {
    ts: new Float64Array(capacity),
    columns: new Map(
      r.columns.map((c) => [c, c === "is_partial" ? new Uint8Array(capacity) : new Float64Array(capacity)])
    )
  }
  const kept = await mapLimited(
    plans.map((plan, i) => ({ plan, offset: offsets[i] ?? 0 })),
    READ_CONCURRENCY,
    ({ plan, offset }) => decodeFile(r, plan, out, offset)
  )

  // Compact: move the kept ranges down over the rows cut away (files are in symbol, then time, order).
  const segments: Array<OhlcvSegment> = []
  let length = 0
  plans.forEach((plan, i) => {
    const from = length
    for (const [a, b] of kept[i] ?? []) {
      if (a !== length) {
        out.ts.copyWithin(length, a, b)
        for (const column of out.columns.values()) column.copyWithin(length, a, b)
      }
      length += b - a
    }
    const last = segments[segments.length - 1]
    if (length === from) return
    if (last?.symbol === plan.symbol) segments[segments.length - 1] = { ...last, to: length }
    else segments.push({ symbol: plan.symbol, from, to: length })
  })
  // Give back the room cut rows took when it is most of it (a short range over long files); otherwise keep views.
  const fit = <A extends Float64Array | Uint8Array>(a: A): A =>
    (length * 2 < capacity ? a.slice(0, length) : a.subarray(0, length)) as A
  const symbols = new Array<string>(length)
  for (const s of segments) symbols.fill(s.symbol, s.from, s.to)
  return makeFrame(r, fit(out.ts), new Map([...out.columns].map(([c, a]) => [c as C, fit(a)])), symbols, segments)
}

function makeFrame<C extends OhlcvColumn>(
  r: Resolved<C>,
  ts: Float64Array,
  columns: ReadonlyMap<C, Float64Array | Uint8Array>,
  symbols: Array<string>,
  segments: ReadonlyArray<OhlcvSegment>
): OhlcvFrame<C> {
  const length = ts.length
  const rows = (): Array<OhlcvRow<C>> => {
    const cols = [...columns]
    const out = new Array<OhlcvRow<C>>(length)
    for (let i = 0; i < length; i++) {
      const row: Record<string, unknown> = { symbol: symbols[i], ts: new Date(ts[i] as number) }
      for (const [c, values] of cols) {
        const v = values[i] as number
        row[c] = c === "is_partial" ? v === 1 : (c === "trade_count" || c === "vwap") && Number.isNaN(v) ? null : v
      }
      out[i] = row as OhlcvRow<C>
    }
    return out
  }
  return {
    timeframe: r.timeframe,
    start: new Date(r.start),
    end: new Date(r.end),
    columns: r.columns,
    length,
    symbols,
    ts,
    segments,
    rows,
    ...Object.fromEntries(columns)
  } as unknown as OhlcvFrame<C>
}

/**
 * Loads bars of `symbols` whose start lies in `[start, end)` from the lake. Rejects with a `UsageError` for a bad
 * symbol, time, timeframe, column or session (naming it), and with a `StorageError` for a file that cannot be read;
 * missing symbols and ranges without files give an empty frame.
 *
 * ```ts
 * const march = await loadOhlcv({ symbols: ["AAPL", "MSFT"], start: "2024-03-01", end: "2024-04-01", columns: ["close"] })
 * march.close // Float64Array, sorted by symbol then ts
 * ```
 */
export async function loadOhlcv<C extends OhlcvColumn = OhlcvColumn>(
  options: LoadOhlcvOptions<C>
): Promise<OhlcvFrame<C>> {
  const r = resolveOptions(options)
  for (let attempt = 1; ; attempt++) {
    try {
      return await load(r)
    } catch (e) {
      if (!(e instanceof LakeChanged)) throw e
      if (attempt === 3) {
        throw new StorageError({ path: r.lake, reason: "files kept changing while they were read; try again" })
      }
    }
  }
}

/** {@link loadOhlcv} as an Effect, failing with `UsageError` or `StorageError`. */
export const loadOhlcvEffect = <C extends OhlcvColumn = OhlcvColumn>(
  options: LoadOhlcvOptions<C>
): Effect.Effect<OhlcvFrame<C>, UsageError | StorageError> =>
  Effect.tryPromise({
    try: () => loadOhlcv(options),
    catch: (e) =>
      e instanceof UsageError || e instanceof StorageError ? e : new StorageError({ path: "ohlcv", reason: reason(e) })
  })

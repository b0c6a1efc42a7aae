/**
 * The lake's layout (design §4): Hive-style trees any Parquet tool reads without help,
 * `<data>/ohlcv/frame=1m/symbol=AAPL/2024-03.parquet`, one file per symbol and month (1m–30m) or year (1h–1d), and the
 * same shape under `quarantine/`. This is the only module that spells a lake path: the writer, the reader and the
 * query views all ask it, so the layout can change in one place.
 */
import { existsSync, readdirSync } from "node:fs"
import { join, resolve } from "node:path"
import { dayFromNumber, dayNumber, newYorkDayOf } from "../domain/calendar.ts"
import type { PartitionKey } from "../domain/partition.ts"
import type { Symbol } from "../domain/symbol.ts"
import { type Timeframe, timeframeMinutes } from "../domain/timeframe.ts"

/** The two trees of the lake: bars, and the bars an error rule kept out. */
export type LakeTree = "ohlcv" | "quarantine"

/** Intraday frames up to 30m are kept one file per month; 1h and above one file per year. */
export type FileGranularity = "month" | "year"
export const fileGranularity = (frame: Timeframe): FileGranularity => (timeframeMinutes(frame) <= 30 ? "month" : "year")

/** `2024-03` for monthly frames, `2024` for yearly ones. */
export const filePeriod = (frame: Timeframe, day: string): string =>
  fileGranularity(frame) === "month" ? day.slice(0, 7) : day.slice(0, 4)

/** The unit of storage: one symbol's file for one period. */
export interface FileKey {
  readonly frame: Timeframe
  readonly symbol: Symbol
  readonly period: string
}

export const fileKeyOf = (p: PartitionKey): FileKey => ({
  frame: p.frame,
  symbol: p.symbol,
  period: filePeriod(p.frame, p.day)
})

export const fileKeyId = (k: FileKey): string => `${k.frame}/${k.symbol}/${k.period}`

const EXTENSION = ".parquet"

const frameSegment = (frame: Timeframe) => `frame=${frame}`
const symbolSegment = (symbol: Symbol) => `symbol=${symbol}`

/** Lake-relative path of a file: `ohlcv/frame=1m/symbol=AAPL/2024-03.parquet`. */
export const fileRelativePath = (tree: LakeTree, key: FileKey): string =>
  `${tree}/${frameSegment(key.frame)}/${symbolSegment(key.symbol)}/${key.period}${EXTENSION}`

/**
 * Where a superseded version of a lake file is kept: `versions/frame=1m/symbol=AAPL/2024-03/v12.parquet`, outside
 * `ohlcv/`, so DuckDB, polars or pyarrow on the current glob never see it. `name` is the version's id (`v12`), or
 * `unrecorded` for a file written before versions were kept.
 */
export const versionRelativePath = (file: string, name: string): string =>
  `versions/${file.replace(/^ohlcv\//u, "").slice(0, -EXTENSION.length)}/${name}${EXTENSION}`

/** The directory every kept version lives under. */
export const versionsRoot = (dataDir: string): string => resolve(dataDir, "versions")

/** The absolute roots of both trees under a data dir: the only directories a query or a reader may open. */
export const lakeRoots = (dataDir: string): Readonly<Record<LakeTree, string>> => ({
  ohlcv: resolve(dataDir, "ohlcv"),
  quarantine: resolve(dataDir, "quarantine")
})

/** `<tree>/frame=<f>`: the directory of one frame's symbols. */
export const frameDir = (treeDir: string, frame: Timeframe): string => join(treeDir, frameSegment(frame))

/** `<tree>/frame=<f>/symbol=<S>`: the directory of one symbol's period files. */
export const symbolDir = (treeDir: string, frame: Timeframe, symbol: Symbol): string =>
  join(frameDir(treeDir, frame), symbolSegment(symbol))

/** The file of `period` in a symbol's directory. */
export const periodFile = (dir: string, period: string): string => join(dir, `${period}${EXTENSION}`)

/** The period a file name in a symbol's directory stands for, or `undefined` when it is no period file of `frame`. */
export function periodOfFileName(frame: Timeframe, name: string): string | undefined {
  const shape = fileGranularity(frame) === "year" ? /^\d{4}\.parquet$/u : /^\d{4}-\d{2}\.parquet$/u
  return shape.test(name) ? name.slice(0, -EXTENSION.length) : undefined
}

const FIRST_DAY = dayNumber("0000-01-01")
const LAST_DAY = dayNumber("9999-12-31")

/** The first and last file periods of `frame` that can hold bars starting in `[start, end)` (UTC ms), and how many. */
export function periodSpan(
  frame: Timeframe,
  start: number,
  end: number
): { first: string; last: string; count: number } {
  // Files are keyed by the New York day of their bars.
  const from = Math.max(FIRST_DAY, newYorkDayOf(start))
  const to = Math.min(LAST_DAY, newYorkDayOf(end - 1))
  if (start >= end || from > to) return { first: "", last: "", count: 0 }
  const [a, b] = [dayFromNumber(from), dayFromNumber(to)]
  const [ya, yb] = [Number(a.slice(0, 4)), Number(b.slice(0, 4))]
  if (fileGranularity(frame) === "year") return { first: a.slice(0, 4), last: b.slice(0, 4), count: yb - ya + 1 }
  const count = (yb - ya) * 12 + Number(b.slice(5, 7)) - Number(a.slice(5, 7)) + 1
  return { first: a.slice(0, 7), last: b.slice(0, 7), count }
}

/** `count` consecutive periods of `frame` from `first`, oldest first. */
export function periodsFrom(frame: Timeframe, first: string, count: number): Array<string> {
  const out: Array<string> = []
  let year = Number(first.slice(0, 4))
  if (fileGranularity(frame) === "year") {
    for (let i = 0; i < count; i++) out.push(String(year + i).padStart(4, "0"))
    return out
  }
  let month = Number(first.slice(5, 7))
  for (let i = 0; i < count; i++) {
    out.push(`${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}`)
    if (++month > 12) [year, month] = [year + 1, 1]
  }
  return out
}

/** The glob of every lake file in `dir` itself. */
export const filesIn = (dir: string): string => `${dir}/*${EXTENSION}`

/** The lake files exactly `depth` directory levels below `dir` (temp files excluded), sorted. */
export function lakeFiles(dir: string, depth: number): Array<string> {
  if (!existsSync(dir)) return []
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))
  if (depth === 0)
    return entries
      .filter((e) => e.isFile() && e.name.endsWith(EXTENSION) && !e.name.startsWith("."))
      .map((e) => join(dir, e.name))
  return entries.filter((e) => e.isDirectory()).flatMap((e) => lakeFiles(join(dir, e.name), depth - 1))
}

/** A tree as the query views read it: the glob over all its files and the files it matches now. */
export interface TreeFiles {
  readonly glob: string
  readonly files: ReadonlyArray<string>
}

/** The files of one frame's bars (`frame=<f>/symbol=*\/*.parquet`). */
export const frameFiles = (dataDir: string, frame: Timeframe): TreeFiles => {
  const dir = frameDir(lakeRoots(dataDir).ohlcv, frame)
  return { glob: `${dir}/*/*${EXTENSION}`, files: lakeFiles(dir, 1) }
}

/** The files of the quarantine tree, every frame (`frame=*\/symbol=*\/*.parquet`). */
export const quarantineFiles = (dataDir: string): TreeFiles => {
  const dir = lakeRoots(dataDir).quarantine
  return { glob: `${dir}/*/*/*${EXTENSION}`, files: lakeFiles(dir, 2) }
}

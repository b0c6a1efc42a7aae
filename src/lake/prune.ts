/**
 * Retention for the lake: which bars are older than a frame's cutoff, file by file, and removing them. A file whose
 * days are all older goes; the one that straddles the cutoff is rewritten with its newer days (atomically, under its
 * lock, like any write). The plan reads each candidate file, so its counts of files, bars and bytes are exact; a dry
 * run measures each rewrite by encoding it to a temp file it then removes, so it reports what the real run frees.
 */
import { existsSync, readdirSync, rmSync, statSync } from "node:fs"
import { join } from "node:path"
import { Effect } from "effect"
import { emptyBatch } from "../domain/bar.ts"
import type { StorageError } from "../domain/errors.ts"
import { splitByDay } from "../domain/partition.ts"
import type { Symbol } from "../domain/symbol.ts"
import type { Timeframe } from "../domain/timeframe.ts"
import { tempPathFor } from "./atomic-file.ts"
import type { DaySlice } from "./file-format.ts"
import { type FileKey, fileGranularity, frameDir, lakeRoots, periodFile, periodOfFileName } from "./layout.ts"
import { readLakeFile } from "./read/decode-file.ts"
import { runWriteJob } from "./write-job.ts"

export interface PruneTarget {
  readonly frame: Timeframe
  /** The first day kept (`YYYY-MM-DD`): bars of earlier days go. */
  readonly cutoff: string
  /** Only these symbols; all when absent. */
  readonly symbols?: ReadonlySet<string> | undefined
}

export interface FilePrune {
  readonly key: FileKey
  readonly path: string
  /** `remove`: every day is older than the cutoff; `rewrite`: the file keeps its newer days. */
  readonly action: "remove" | "rewrite"
  /** The days removed, oldest first. */
  readonly days: ReadonlyArray<string>
  readonly bars: number
  /** The file's size now. */
  readonly bytesBefore: number
  readonly metadata: Readonly<Record<string, string>>
}

/** The last day a file period can hold: `2024-03` → `2024-03-31`, `2024` → `2024-12-31`. */
const periodEnd = (frame: Timeframe, period: string) => {
  if (fileGranularity(frame) === "year") return `${period}-12-31`
  const [y, m] = period.split("-").map(Number) as [number, number]
  return `${period}-${String(new Date(Date.UTC(y, m, 0)).getUTCDate()).padStart(2, "0")}`
}
const periodStart = (frame: Timeframe, period: string) =>
  fileGranularity(frame) === "year" ? `${period}-01-01` : `${period}-01`

/** The lake files of a target that may hold days before its cutoff, oldest period first per symbol. */
function candidates(dataDir: string, target: PruneTarget): Array<{ key: FileKey; path: string; period: string }> {
  const dir = frameDir(lakeRoots(dataDir).ohlcv, target.frame)
  if (!existsSync(dir)) return []
  const out: Array<{ key: FileKey; path: string; period: string }> = []
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!entry.isDirectory() || !entry.name.startsWith("symbol=")) continue
    const symbol = entry.name.slice("symbol=".length) as Symbol
    if (target.symbols !== undefined && !target.symbols.has(symbol)) continue
    const symbolDir = join(dir, entry.name)
    for (const name of readdirSync(symbolDir).sort()) {
      const period = periodOfFileName(target.frame, name)
      if (period === undefined || periodStart(target.frame, period) >= target.cutoff) continue
      out.push({ key: { frame: target.frame, symbol, period }, path: periodFile(symbolDir, period), period })
    }
  }
  return out
}

/** What pruning `targets` would remove, file by file (files with nothing to remove left out). */
export const planPrune = (dataDir: string, targets: ReadonlyArray<PruneTarget>) =>
  Effect.forEach(targets, (target) =>
    Effect.forEach(candidates(dataDir, target), ({ key, path, period }) =>
      Effect.map(readLakeFile(path, key.symbol), (file): Array<FilePrune> => {
        if (file === undefined) return []
        const days = splitByDay(file.batch.ts)
        const old = days.filter((d) => d.day < target.cutoff)
        if (old.length === 0) return []
        const whole = periodEnd(target.frame, period) < target.cutoff || old.length === days.length
        return [
          {
            key,
            path,
            action: whole ? "remove" : "rewrite",
            days: old.map((d) => d.day),
            bars: old.reduce((n, d) => n + d.to - d.from, 0),
            bytesBefore: statSync(path).size,
            metadata: file.metadata
          }
        ]
      })
    )
  ).pipe(Effect.map((perTarget) => perTarget.flat(2)))

/** The slices that clear `days` from a file: whole days replace whole days, and an empty one leaves none. */
export const clearing = (p: FilePrune): Array<DaySlice> =>
  p.days.map((day) => ({ day, batch: emptyBatch(p.key.symbol, 0), provider: "", feed: "" }))

/** The size the rewrite of `p` would have, measured by encoding it to a temp file that is then removed. */
export const measuredSize = (p: FilePrune): Effect.Effect<number, StorageError> => {
  if (p.action === "remove") return Effect.succeed(0)
  const temp = tempPathFor(p.path)
  return runWriteJob(
    { path: p.path, temp, symbol: p.key.symbol, days: clearing(p), metadata: p.metadata },
    "main"
  ).pipe(
    Effect.map((o) => o.bytes),
    Effect.ensuring(Effect.sync(() => rmSync(temp, { force: true })))
  )
}

/** The file's size after the prune: 0 once removed. */
export const sizeNow = (path: string): number => (existsSync(path) ? statSync(path).size : 0)

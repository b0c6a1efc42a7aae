/**
 * The Parquet sink: merges days into a symbol's month (or year) file and replaces the file atomically. Writing a
 * day again replaces that day only, so re-runs never duplicate bars and the file's other days are never lost.
 */
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { Context, Effect, Layer } from "effect"
import { selectRows } from "../domain/bar.ts"
import { StorageError } from "../domain/errors.ts"
import { type FileKey, fileRelativePath, splitByDay } from "../domain/partition.ts"
import { writeFileAtomic } from "./atomic-file.ts"
import { type DaySlice, type DecodedFile, decodeBars, encodeBars } from "./bar-parquet.ts"
import { batchHash } from "./content-hash.ts"

export interface WrittenFile {
  /** Path relative to the data dir. */
  readonly file: string
  readonly rows: number
  /** Content hash of each day written in this call. */
  readonly hashes: ReadonlyMap<string, string>
}

export interface ParquetSinkShape {
  readonly dataDir: string
  readonly writeDays: (
    key: FileKey,
    days: ReadonlyArray<DaySlice>,
    metadata: Readonly<Record<string, string>>
  ) => Effect.Effect<WrittenFile, StorageError>
  readonly readFile: (key: FileKey) => Effect.Effect<DecodedFile | undefined, StorageError>
}

export class ParquetSink extends Context.Service<ParquetSink, ParquetSinkShape>()("marketpipe/ParquetSink") {}

/** Days already in a decoded file, as slices, keeping their own provenance. */
function existingSlices(file: DecodedFile): Array<DaySlice> {
  return splitByDay(file.batch.ts).map(({ day, from, to }) => ({
    day,
    batch: selectRows(
      file.batch,
      Array.from({ length: to - from }, (_, i) => from + i)
    ),
    provider: file.provider[from] ?? "",
    feed: file.feed[from] ?? ""
  }))
}

export const makeParquetSink = (dataDir: string): ParquetSinkShape => {
  const pathOf = (key: FileKey) => join(dataDir, fileRelativePath("ohlcv", key))
  const fail = (path: string) => (cause: unknown) =>
    new StorageError({ path, reason: cause instanceof Error ? cause.message : String(cause) })

  const readFile = (key: FileKey) => {
    const path = pathOf(key)
    return Effect.tryPromise({
      try: async () => (existsSync(path) ? decodeBars(key.symbol, readFileSync(path)) : undefined),
      catch: fail(path)
    })
  }

  const writeDays = (key: FileKey, days: ReadonlyArray<DaySlice>, metadata: Readonly<Record<string, string>>) =>
    Effect.gen(function* () {
      const path = pathOf(key)
      const current = yield* readFile(key)
      const replaced = new Set(days.map((d) => d.day))
      const kept = current === undefined ? [] : existingSlices(current).filter((s) => !replaced.has(s.day))
      const merged = [...kept, ...days.filter((d) => d.batch.ts.length > 0)].sort((a, b) => (a.day < b.day ? -1 : 1))
      const hashes = new Map(days.map((d) => [d.day, batchHash(d.batch)]))
      // Nothing to keep and nothing new: leave no empty file behind.
      if (merged.length === 0 && current === undefined) return { file: "", rows: 0, hashes }
      const bytes = yield* Effect.try({ try: () => encodeBars(key.symbol, merged, metadata), catch: fail(path) })
      yield* Effect.try({ try: () => writeFileAtomic(path, bytes), catch: fail(path) })
      return {
        file: fileRelativePath("ohlcv", key),
        rows: merged.reduce((n, s) => n + s.batch.ts.length, 0),
        hashes
      }
    })

  return { dataDir, writeDays, readFile }
}

export const parquetSinkLayer = (dataDir: string) => Layer.succeed(ParquetSink, makeParquetSink(dataDir))

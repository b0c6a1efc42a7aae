/**
 * The Parquet sink: merges days into a symbol's month (or year) file and replaces the file atomically. Writing a
 * day again replaces that day only, so re-runs never duplicate bars and the file's other days are never lost.
 */
import { existsSync, readFileSync, rmSync } from "node:fs"
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
  /** The same, for the quarantine tree (`quarantine/frame=…`): bars an error rule kept out, with the rules. */
  readonly writeQuarantine: (
    key: FileKey,
    days: ReadonlyArray<DaySlice>,
    metadata: Readonly<Record<string, string>>
  ) => Effect.Effect<WrittenFile, StorageError>
}

type Root = "ohlcv" | "quarantine"

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
    feed: file.feed[from] ?? "",
    ...(file.rules === undefined ? {} : { rules: file.rules.slice(from, to) })
  }))
}

export const makeParquetSink = (dataDir: string): ParquetSinkShape => {
  const pathOf = (root: Root, key: FileKey) => join(dataDir, fileRelativePath(root, key))
  const fail = (path: string) => (cause: unknown) =>
    new StorageError({ path, reason: cause instanceof Error ? cause.message : String(cause) })

  const read = (root: Root, key: FileKey) => {
    const path = pathOf(root, key)
    return Effect.tryPromise({
      try: async () => (existsSync(path) ? decodeBars(key.symbol, readFileSync(path)) : undefined),
      catch: fail(path)
    })
  }

  const write =
    (root: Root) => (key: FileKey, days: ReadonlyArray<DaySlice>, metadata: Readonly<Record<string, string>>) =>
      Effect.gen(function* () {
        const path = pathOf(root, key)
        const current = yield* read(root, key)
        const replaced = new Set(days.map((d) => d.day))
        const kept = current === undefined ? [] : existingSlices(current).filter((s) => !replaced.has(s.day))
        const merged = [...kept, ...days.filter((d) => d.batch.ts.length > 0)].sort((a, b) => (a.day < b.day ? -1 : 1))
        const hashes = new Map(days.map((d) => [d.day, batchHash(d.batch)]))
        // Nothing to keep and nothing new: leave no empty file behind (and remove one that only held these days).
        if (merged.length === 0) {
          if (current !== undefined) yield* Effect.try({ try: () => rmSync(path, { force: true }), catch: fail(path) })
          yield* Effect.annotateCurrentSpan({ "marketpipe.rows": 0, "marketpipe.removed": current !== undefined })
          return { file: "", rows: 0, hashes }
        }
        const bytes = yield* Effect.try({ try: () => encodeBars(key.symbol, merged, metadata), catch: fail(path) })
        yield* Effect.try({ try: () => writeFileAtomic(path, bytes), catch: fail(path) })
        const rows = merged.reduce((n, s) => n + s.batch.ts.length, 0)
        yield* Effect.annotateCurrentSpan({ "marketpipe.rows": rows, "marketpipe.bytes": bytes.length })
        return { file: fileRelativePath(root, key), rows, hashes }
      }).pipe(
        Effect.withSpan("marketpipe.parquet.write", {
          attributes: {
            "marketpipe.file": fileRelativePath(root, key),
            "marketpipe.symbol": key.symbol,
            "marketpipe.days_written": days.length
          }
        })
      )

  return {
    dataDir,
    writeDays: write("ohlcv"),
    readFile: (key) => read("ohlcv", key),
    writeQuarantine: write("quarantine")
  }
}

export const parquetSinkLayer = (dataDir: string) => Layer.succeed(ParquetSink, makeParquetSink(dataDir))

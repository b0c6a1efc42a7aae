/**
 * The Parquet sink: merges days into a symbol's month (or year) file and replaces the file atomically. Writing a
 * day again replaces that day only, so re-runs never duplicate bars and the file's other days are never lost. The
 * heavy half of a write (`write-job.ts`) may run on a lake writer thread; the lock, the rename and `after` stay here.
 */
import {
  closeSync,
  copyFileSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  statSync
} from "node:fs"
import { dirname, join } from "node:path"
import { Context, Effect, Layer, Option } from "effect"
import { type RepositoryError, StorageError } from "../domain/errors.ts"
import type { FileVersion } from "../domain/file-version.ts"
import { commitTempFile, tempPathFor } from "./atomic-file.ts"
import { batchHash } from "./content-hash.ts"
import type { DaySlice } from "./file-format.ts"
import { withFileLock } from "./file-lock.ts"
import { type FileKey, fileRelativePath, versionRelativePath } from "./layout.ts"
import { type DecodedFile, readLakeFile } from "./read/decode-file.ts"
import { LakeVersionLog, type VersionChange, type VersionLog } from "./version-log.ts"
import {
  LakeWriters,
  type LakeWritersShape,
  lakeWritersLayer,
  sameThreadWriters,
  type WritePoolOptions
} from "./write-pool.ts"

export interface WrittenFile {
  /** Path relative to the data dir. */
  readonly file: string
  readonly rows: number
  /** Content hash of each day written in this call. */
  readonly hashes: ReadonlyMap<string, string>
  /** The manifest entry for this write (bars tree only, when the sink keeps versions). */
  readonly version?: VersionChange | undefined
}

/**
 * Runs once the file is in place, still holding its lock: the place to record the ledger rows for what was written,
 * so no other writer can replace those days between the rename and the record.
 */
export type AfterWrite<E, R> = (written: WrittenFile) => Effect.Effect<void, E, R>

export interface WriteOptions {
  /**
   * Keep the replaced version's bytes when the write changes or removes its days (default). `prune` says no: days
   * past their retention leave the lake's history too, and as-of reads of earlier times no longer see them.
   */
  readonly keepReplaced?: boolean
}

/** One file's part of `writeFilesTogether`. */
export interface FileWrite {
  readonly key: FileKey
  readonly days: ReadonlyArray<DaySlice>
  readonly metadata: Readonly<Record<string, string>>
}

export interface ParquetSinkShape {
  readonly dataDir: string
  /**
   * Replaces `days` in the file (other days stay), atomically and under the file's lock; `after` runs under the
   * same lock once the new file is in place.
   */
  readonly writeDays: <E = never, R = never>(
    key: FileKey,
    days: ReadonlyArray<DaySlice>,
    metadata: Readonly<Record<string, string>>,
    after?: AfterWrite<E, R>,
    options?: WriteOptions
  ) => Effect.Effect<WrittenFile, StorageError | RepositoryError | E, R>
  /**
   * `writeDays` for several files at once: their locks are taken in the order given (keep one order everywhere, so
   * two writers never wait on each other in a cycle), then the files are written side by side, and `after` runs once
   * with every file in place and every lock still held.
   */
  readonly writeFilesTogether: <E = never, R = never>(
    files: ReadonlyArray<FileWrite>,
    after: (written: ReadonlyArray<WrittenFile>) => Effect.Effect<void, E, R>
  ) => Effect.Effect<ReadonlyArray<WrittenFile>, StorageError | RepositoryError | E, R>
  readonly readFile: (key: FileKey) => Effect.Effect<DecodedFile | undefined, StorageError>
  /**
   * The file as the manifest's current version holds it: its kept copy when a write killed after keeping it (and
   * before recording the new version) left one, the file itself otherwise. What a revalidation compares against.
   */
  readonly readRecorded: (key: FileKey) => Effect.Effect<DecodedFile | undefined, StorageError | RepositoryError>
  /**
   * Moves an unreadable lake file out of the lake into `damaged/` (same layout, the time appended), so the next
   * write starts a fresh file instead of failing on it; returns where it went. Call it inside `locked`.
   */
  readonly setAside: (key: FileKey, at: number) => Effect.Effect<string, StorageError>
  /**
   * Runs `body` holding the lock writers of this lake file take: what it reads stays as it is until it ends. Not
   * re-entrant: `body` must not write the same file through this sink.
   */
  readonly locked: <A, E, R>(key: FileKey, body: Effect.Effect<A, E, R>) => Effect.Effect<A, E | StorageError, R>
  /** The same, for the quarantine tree (`quarantine/frame=…`): bars an error rule kept out, with the rules. */
  readonly writeQuarantine: (
    key: FileKey,
    days: ReadonlyArray<DaySlice>,
    metadata: Readonly<Record<string, string>>
  ) => Effect.Effect<WrittenFile, StorageError>
}

type Root = "ohlcv" | "quarantine"

/** fsync of a file or directory; some filesystems refuse it on directories, where the link is still made. */
const syncPath = (path: string) => {
  let fd: number | undefined
  try {
    fd = openSync(path, "r")
    fsyncSync(fd)
  } catch {
    // A directory a filesystem will not fsync: nothing more can be done here.
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/**
 * `target` made another name of `path`'s bytes (a copy where hard links fail), synced with its directory before
 * the rename that replaces `path`: a power loss must not keep the rename and lose the version it replaced.
 */
const keepDurably = (path: string, target: string) => {
  mkdirSync(dirname(target), { recursive: true })
  try {
    linkSync(path, target)
  } catch {
    copyFileSync(path, target)
    syncPath(target)
  }
  syncPath(dirname(target))
}

/** The job a write belongs to, as its metadata names it (0 for tools that name none). */
const jobOf = (metadata: Readonly<Record<string, string>>) => Number(metadata["marketpipe.job_id"] ?? 0) || 0

export class ParquetSink extends Context.Service<ParquetSink, ParquetSinkShape>()("marketpipe/ParquetSink") {}

/**
 * The sink over `dataDir`. `writers` runs each write's heavy half: on the calling thread unless given the pool's
 * (`threadedParquetSinkLayer`, what the CLI runs).
 */
export const makeParquetSink = (
  dataDir: string,
  writers: LakeWritersShape = sameThreadWriters,
  versions?: VersionLog
): ParquetSinkShape => {
  const pathOf = (root: Root, key: FileKey) => join(dataDir, fileRelativePath(root, key))
  const fail = (path: string) => (cause: unknown) =>
    new StorageError({ path, reason: cause instanceof Error ? cause.message : String(cause) })

  const read = (root: Root, key: FileKey) => readLakeFile(pathOf(root, key), key.symbol)

  /**
   * Before the new file goes in: when the write revises what the file held, its bytes are linked (copied where links
   * do not work) to their place under `versions/`, so the rename does not destroy them. The link's name follows from
   * the version it keeps, so a run killed between the link and its record finds it again and records it.
   */
  const keepReplaced = (
    file: string,
    path: string,
    o: { readonly existed: boolean; readonly revised: boolean; readonly daysBefore: ReadonlyArray<string> } & {
      readonly rows: number
      readonly daysAfter: ReadonlyArray<string>
    },
    replacedId: number | undefined,
    jobId: number,
    keepBytes: boolean
  ): VersionChange | undefined => {
    const next = o.rows === 0 ? undefined : { days: o.daysAfter, rows: o.rows }
    if (!o.existed) return next === undefined ? undefined : { file, jobId, next }
    const kept = versionRelativePath(file, replacedId === undefined ? "unrecorded" : `v${replacedId}`)
    const target = join(dataDir, kept)
    const keep = (keepBytes && (o.revised || o.rows === 0)) || existsSync(target)
    if (keep && !existsSync(target)) keepDurably(path, target)
    return {
      file,
      jobId,
      stored: keep ? kept : undefined,
      next,
      ...(replacedId === undefined
        ? { unrecordedSince: statSync(path).mtime.toISOString(), replacedDays: o.daysBefore }
        : { replaced: replacedId })
    }
  }

  /** The caller's record of the writes (`after`) with their versions, in one transaction when versions are kept. */
  const recorded = <E, R>(written: ReadonlyArray<WrittenFile>, after: Effect.Effect<void, E, R>) => {
    const changes = written.flatMap((w) => (w.version === undefined ? [] : [w.version]))
    return versions === undefined || changes.length === 0 ? after : versions.commit(changes, after)
  }

  /** The write itself, for a caller that holds the file's lock. */
  const writeHeld = (
    root: Root,
    key: FileKey,
    days: ReadonlyArray<DaySlice>,
    metadata: Readonly<Record<string, string>>,
    options: WriteOptions = {},
    /** The manifest's current versions when the caller looked them up for several files at once. */
    known?: ReadonlyMap<string, FileVersion>
  ) =>
    Effect.gen(function* () {
      const path = pathOf(root, key)
      const temp = tempPathFor(path)
      const relative = fileRelativePath(root, key)
      const log = root === "ohlcv" ? versions : undefined
      // A file not there yet has no version to replace: no query for most writes of a first backfill.
      const replaced =
        log === undefined || !existsSync(path) ? undefined : (known ?? (yield* log.current([relative]))).get(relative)
      let version: VersionChange | undefined
      // The heavy half (read, merge, encode, temp file) on a writer thread; the rename stays here, under the lock.
      const outcome = yield* writers.run({ path, temp, symbol: key.symbol, days, metadata }).pipe(
        Effect.tap((o) =>
          Effect.andThen(
            Effect.try({
              try: () => {
                if (log !== undefined)
                  version = keepReplaced(relative, path, o, replaced?.id, jobOf(metadata), options.keepReplaced ?? true)
              },
              catch: fail(path)
            }),
            o.rows === 0
              ? Effect.void
              : // Once begun, the rename and the directory fsync finish: an interrupt waits for them.
                Effect.uninterruptible(Effect.tryPromise({ try: () => commitTempFile(temp, path), catch: fail(path) }))
          )
        ),
        // Whatever stopped the write (a failed rename, an interrupted caller), no temp file of ours stays behind.
        Effect.ensuring(Effect.sync(() => rmSync(temp, { force: true })))
      )
      const hashes = new Map(outcome.hashes)
      yield* Effect.annotateCurrentSpan({ "marketpipe.thread": outcome.thread })
      // Nothing to keep and nothing new: leave no empty file behind (and remove one that only held these days).
      if (outcome.rows === 0) {
        if (outcome.existed) yield* Effect.try({ try: () => rmSync(path, { force: true }), catch: fail(path) })
        yield* Effect.annotateCurrentSpan({ "marketpipe.rows": 0, "marketpipe.removed": outcome.existed })
        return { file: "", rows: 0, hashes, version } satisfies WrittenFile
      }
      yield* Effect.annotateCurrentSpan({ "marketpipe.rows": outcome.rows, "marketpipe.bytes": outcome.bytes })
      return { file: relative, rows: outcome.rows, hashes, version } satisfies WrittenFile
    })

  const spanOf = (root: Root, key: FileKey, days: ReadonlyArray<DaySlice>) =>
    Effect.withSpan("marketpipe.parquet.write", {
      attributes: {
        "marketpipe.file": fileRelativePath(root, key),
        "marketpipe.symbol": key.symbol,
        "marketpipe.days_written": days.length
      }
    })

  const write =
    (root: Root) =>
    <E = never, R = never>(
      key: FileKey,
      days: ReadonlyArray<DaySlice>,
      metadata: Readonly<Record<string, string>>,
      after?: AfterWrite<E, R>,
      options?: WriteOptions
    ): Effect.Effect<WrittenFile, StorageError | RepositoryError | E, R> =>
      Effect.tap(writeHeld(root, key, days, metadata, options), (written) =>
        recorded([written], after === undefined ? Effect.void : after(written))
      ).pipe(
        // Read, merge, rename and the caller's record happen as one step per file across every writer. A call with
        // no rows, no record to make and no file to clear days from (most quarantine writes: nothing was rejected)
        // has nothing to serialise: it skips the lock (and the lock file and directories a first one creates).
        (body) =>
          Effect.suspend(() =>
            after === undefined && days.every((d) => d.batch.ts.length === 0) && !existsSync(pathOf(root, key))
              ? Effect.as(Effect.annotateCurrentSpan({ "marketpipe.rows": 0, "marketpipe.removed": false }), {
                  file: "",
                  rows: 0,
                  hashes: new Map(days.map((d) => [d.day, batchHash(d.batch)]))
                } satisfies WrittenFile)
              : withFileLock(dataDir, fileRelativePath(root, key), body)
          ),
        spanOf(root, key, days)
      )

  const writeFilesTogether: ParquetSinkShape["writeFilesTogether"] = (files, after) => {
    // One manifest lookup for the files already there (a unit's derived frames), not one each.
    const lookup = Effect.suspend(() => {
      const existing = files.map((f) => fileRelativePath("ohlcv", f.key)).filter((r) => existsSync(join(dataDir, r)))
      return versions === undefined || existing.length === 0
        ? Effect.succeed(new Map<string, FileVersion>())
        : versions.current(existing)
    })
    const all = Effect.flatMap(lookup, (known) =>
      Effect.forEach(
        files,
        (f) => spanOf("ohlcv", f.key, f.days)(writeHeld("ohlcv", f.key, f.days, f.metadata, {}, known)),
        { concurrency: "unbounded" }
      )
    ).pipe(Effect.tap((written) => recorded(written, after(written))))
    // Each lock is taken inside the one before it, in the order given; the writes run once all are held.
    return files.reduceRight<typeof all>(
      (inner, f) => withFileLock(dataDir, fileRelativePath("ohlcv", f.key), inner),
      all
    )
  }

  return {
    dataDir,
    writeDays: write("ohlcv"),
    writeFilesTogether,
    readFile: (key) => read("ohlcv", key),
    readRecorded: (key) =>
      Effect.gen(function* () {
        const file = fileRelativePath("ohlcv", key)
        const current = versions === undefined ? undefined : (yield* versions.current([file])).get(file)
        const kept = join(dataDir, versionRelativePath(file, current === undefined ? "unrecorded" : `v${current.id}`))
        return yield* existsSync(kept) ? readLakeFile(kept, key.symbol) : read("ohlcv", key)
      }),
    locked: (key, body) => withFileLock(dataDir, fileRelativePath("ohlcv", key), body),
    setAside: (key, at) => {
      const stamp = new Date(at).toISOString().replaceAll(":", "")
      const target = join(dataDir, "damaged", `${fileRelativePath("ohlcv", key)}.${stamp}`)
      return Effect.try({
        try: () => {
          mkdirSync(dirname(target), { recursive: true })
          renameSync(pathOf("ohlcv", key), target)
          return target
        },
        catch: fail(pathOf("ohlcv", key))
      })
    },
    // The quarantine tree keeps no versions: nothing in its writes reaches the repository.
    writeQuarantine: (key, days, metadata) =>
      write("quarantine")(key, days, metadata).pipe(
        Effect.mapError((e) =>
          e._tag === "RepositoryError"
            ? new StorageError({ path: fileRelativePath("quarantine", key), reason: e.reason })
            : e
        )
      )
  }
}

/** The sink writing on the calling thread (tests, tools). */
export const parquetSinkLayer = (dataDir: string) => Layer.succeed(ParquetSink, makeParquetSink(dataDir))

/** The sink writing through the lake writer threads, which stop when the layer's scope closes. */
export const threadedParquetSinkLayer = (dataDir: string, options: WritePoolOptions = {}): Layer.Layer<ParquetSink> =>
  Layer.effect(
    ParquetSink,
    Effect.gen(function* () {
      const log = yield* Effect.serviceOption(LakeVersionLog)
      return makeParquetSink(dataDir, yield* LakeWriters, Option.getOrUndefined(log))
    })
  ).pipe(Layer.provide(lakeWritersLayer(options)))

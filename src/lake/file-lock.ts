/**
 * Advisory locks on lake files. Writers in several processes (or several units of one) serialise on a file: its
 * read-merge-rename and the ledger rows that describe it happen under the file's lock, so no writer renames over days
 * another has just added, and the ledger records what the file holds. The lock is the kernel's (`flock` on a lock file
 * under `<data_dir>/.locks/`, mirroring the lake's layout), so a process that dies — `kill -9` included — releases it
 * at once and no lock ever has to be guessed stale. Bun takes it through FFI, Deno through its own file API; both
 * work on local disks and on NFS (which maps `flock` to its lock manager).
 */
import { closeSync, constants, open, openSync, writeSync } from "node:fs"
import { mkdir } from "node:fs/promises"
import { hostname } from "node:os"
import { dirname, join } from "node:path"
import { Effect, Schedule } from "effect"
import { StorageError } from "../domain/errors.ts"

/** How long a writer waits for another to finish with a file before it gives up on that file (its days fail). */
export const LOCK_WAIT_MS = 10 * 60_000

interface Held {
  readonly release: () => void
}

/**
 * Tries to take the lock: the handle when taken, `undefined` when another holder has it. A lock that arrives after
 * `signal` aborted (the caller gave up waiting) is let go at once.
 */
type TryLock = (path: string, signal: AbortSignal) => Promise<Held | undefined>

const LOCK_EX = 2
const LOCK_NB = 4

async function bunTryLock(): Promise<TryLock> {
  const { dlopen, FFIType } = await import("bun:ffi")
  const libc = dlopen(process.platform === "darwin" ? "libc.dylib" : "libc.so.6", {
    flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 }
  })
  return async (path, signal) => {
    // Read-write without O_APPEND, so the holder's note can be written in place at offset 0. Opened on the runtime's
    // I/O threads: creating a lock file can wait behind the journal commit of another thread's fsync (measured:
    // 1.3 ms a lock, a tenth of the main thread of an ingest with aggregation on).
    const fd = await openFd(path, constants.O_RDWR | constants.O_CREAT)
    // A caller that gave up while the file was opening never sees this lock: it must not stay taken.
    if (signal.aborted || libc.symbols.flock(fd, LOCK_EX | LOCK_NB) !== 0) {
      closeSync(fd)
      return undefined
    }
    noteHolder(fd)
    // Closing the descriptor releases the lock (the kernel does the same when the process dies).
    return { release: () => closeSync(fd) }
  }
}

/** `open(2)` off the main thread, as a plain descriptor (a `FileHandle` would close it again when collected). */
const openFd = (path: string, flags: number): Promise<number> =>
  new Promise((resolve, reject) =>
    open(path, flags, 0o644, (error, fd) => (error === null ? resolve(fd) : reject(error)))
  )

interface DenoFile {
  readonly lock: (exclusive?: boolean) => Promise<void>
  readonly close: () => void
}
interface DenoApi {
  readonly open: (path: string, options: { read: boolean; write: boolean; create: boolean }) => Promise<DenoFile>
}

function denoTryLock(deno: DenoApi): TryLock {
  // Deno has no non-blocking lock: `lock` waits in a worker thread until the holder lets go, which is what we want.
  return async (path, signal) => {
    const file = await deno.open(path, { read: true, write: true, create: true })
    await file.lock(true)
    if (signal.aborted) {
      file.close()
      return undefined
    }
    noteHolder(path)
    return { release: () => file.close() }
  }
}

let tryLock: Promise<TryLock> | undefined
const platformLock = (): Promise<TryLock> => {
  tryLock ??= (async () => {
    const deno = (globalThis as { Deno?: DenoApi }).Deno
    if (deno !== undefined) return denoTryLock(deno)
    if (typeof Bun !== "undefined") return bunTryLock()
    throw new Error("file locks need Bun or Deno (run the CLI with either)")
  })()
  return tryLock
}

/** The lock file for a lake-relative path: `<data_dir>/.locks/ohlcv/frame=1m/symbol=AAPL/2024-03.parquet.lock`. */
export const lockPathOf = (dataDir: string, relative: string): string => join(dataDir, ".locks", `${relative}.lock`)

// Quick at first (most writes take milliseconds), then every 100 ms at most.
const retryBusy = Schedule.min([Schedule.exponential("5 millis", 2), Schedule.spaced("100 millis")]).pipe(
  Schedule.jittered
)

const acquire = (dataDir: string, relative: string, waitMs: number): Effect.Effect<Held, StorageError> => {
  const path = lockPathOf(dataDir, relative)
  const fail = (reason: string) => new StorageError({ path: relative, reason })
  const attempt = Effect.tryPromise({
    try: async (signal) => {
      const lock = await platformLock()
      try {
        return await lock(path, signal)
      } catch (e) {
        // The lock file's directory is made on first use only: most writes lock a file locked before.
        if (!isNotFound(e)) throw e
        await mkdir(dirname(path), { recursive: true })
        return lock(path, signal)
      }
    },
    catch: (e) => fail(`cannot lock ${path}: ${e instanceof Error ? e.message : String(e)}`)
  })
  return attempt.pipe(
    Effect.flatMap((held) => (held === undefined ? Effect.fail("busy" as const) : Effect.succeed(held))),
    Effect.retry({ while: (e) => e === "busy", schedule: retryBusy }),
    Effect.timeoutOrElse({
      duration: waitMs,
      orElse: () =>
        Effect.fail(fail(`another writer held this file's lock (${path}) for over ${Math.round(waitMs / 1000)} s`))
    }),
    Effect.catchIf(
      (e): e is "busy" => e === "busy",
      () => Effect.fail(fail("busy"))
    )
  )
}

const NOTE_WIDTH = 96

const isNotFound = (e: unknown): boolean => {
  const err = e as { code?: string; name?: string }
  return err.code === "ENOENT" || err.name === "NotFound"
}

/**
 * Leaves who holds the lock in the lock file, for whoever looks while waiting (debugging a stuck writer): through
 * the locked descriptor itself when there is one, in place and padded to a fixed width so no older, longer note
 * shows through (truncating the file on every lock costs more than the write), else by path.
 */
function noteHolder(target: number | string): void {
  const holder = `${hostname()}:${process.pid}`.padEnd(NOTE_WIDTH - 1).slice(0, NOTE_WIDTH - 1)
  const note = `${holder}\n`
  try {
    if (typeof target === "number") {
      writeSync(target, note, 0)
      return
    }
    const fd = openSync(target, "w")
    try {
      writeSync(fd, note)
    } finally {
      closeSync(fd)
    }
  } catch {
    // The note is a courtesy; the lock itself is what counts.
  }
}

/**
 * Runs `body` holding the lock of the lake file `relative` (a path under the data dir). Waits up to `waitMs` for
 * another holder; fails with a `StorageError` naming the file after that.
 */
export const withFileLock = <A, E, R>(
  dataDir: string,
  relative: string,
  body: Effect.Effect<A, E, R>,
  waitMs: number = LOCK_WAIT_MS
): Effect.Effect<A, E | StorageError, R> =>
  Effect.acquireUseRelease(
    acquire(dataDir, relative, waitMs),
    () => body,
    (held) => Effect.sync(() => held.release())
  )

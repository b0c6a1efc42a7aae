/**
 * A lake file opened for reading: hyparquet's `AsyncBuffer` over a file handle that its scope closes, and its footer.
 * The footer read (the file's tail) serves the later slices it covers. Offsets come from the footer, so a range past
 * the file is cut to the file (the decoders then fail on the short bytes) rather than sized.
 */
import { open } from "node:fs/promises"
import { Data, Effect, type Scope } from "effect"
import { type AsyncBuffer, type FileMetaData, parquetMetadataAsync } from "hyparquet"
import { StorageError } from "../../domain/errors.ts"

export interface LakeFile {
  readonly path: string
  readonly file: AsyncBuffer
  /** Changes when the file is replaced (writes are atomic renames) or rewritten. */
  readonly identity: string
}

/** Why the bytes are not a whole lake file; each reader words it for its own callers. */
export class NotALakeFile extends Data.TaggedError("NotALakeFile")<{ readonly reason: string }> {}

/** The first read of a file's footer; a bigger footer takes a second read. */
const FOOTER_BYTES = 16 * 1024

/** Timestamps as epoch milliseconds (numbers), as every lake column of times is read. */
export const parsers = { timestampFromMilliseconds: (ms: bigint) => Number(ms) }

export const reason = (e: unknown): string => (e instanceof Error ? e.message : String(e))

const errorCode = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : undefined

/** Whether a file-system error says the path is not there (a missing file or a missing directory on the way). */
export const absent = (e: unknown): boolean => {
  const code = errorCode(e)
  return code === "ENOENT" || code === "ENOTDIR"
}

async function openHandle(path: string) {
  let handle: Awaited<ReturnType<typeof open>>
  try {
    handle = await open(path, "r")
  } catch (e) {
    if (absent(e)) return undefined
    throw e
  }
  try {
    const stat = await handle.stat()
    const size = stat.size
    let tail: { start: number; bytes: ArrayBuffer } | undefined
    const read = async (from: number, to: number): Promise<ArrayBuffer> => {
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
    return { handle, lake: { path, file, identity: `${stat.dev}:${stat.ino}:${size}:${stat.mtimeMs}` } }
  } catch (e) {
    await handle.close()
    throw e
  }
}

/** Opens a lake file for the scope; `undefined` when there is no such file. */
export const openLakeFile = (path: string): Effect.Effect<LakeFile | undefined, StorageError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({ try: () => openHandle(path), catch: (e) => new StorageError({ path, reason: reason(e) }) }),
    (opened) => (opened === undefined ? Effect.void : Effect.promise(() => opened.handle.close()))
  ).pipe(Effect.map((opened) => opened?.lake))

/**
 * Runs `use` on the open file at `path` and closes the file when `use` settles, all inside one promise; `undefined`
 * when there is no such file, a `StorageError` when it cannot be opened. For a loop over many files that each need
 * only one step (`loadOhlcv` opens every file twice): as one Effect step a file costs one fiber suspension instead of
 * the three a scoped open, a read and a close take, which cost 6-13% of a 100-symbol year (BENCHMARKS.md, load).
 * The handle never leaves this function, so no Scope has to track it.
 */
export async function usingLakeFile<A>(path: string, use: (lake: LakeFile) => Promise<A>): Promise<A | undefined> {
  let opened: Awaited<ReturnType<typeof openHandle>>
  try {
    opened = await openHandle(path)
  } catch (e) {
    throw new StorageError({ path, reason: reason(e) })
  }
  if (opened === undefined) return undefined
  try {
    return await use(opened.lake)
  } finally {
    await opened.handle.close()
  }
}

/** Bytes already in memory as a lake file (the fuzz corpus, tests). */
export const bytesAsLakeFile = (path: string, bytes: Uint8Array): LakeFile => {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
  return {
    path,
    file: { byteLength: buffer.byteLength, slice: (start, end) => buffer.slice(start, end) },
    identity: path
  }
}

/** Runs a step of decoding: whatever it throws means the file is not a lake file. */
export const decoding = <A>(f: () => Promise<A>): Effect.Effect<A, NotALakeFile> =>
  Effect.tryPromise({ try: f, catch: (e) => new NotALakeFile({ reason: reason(e) }) })

// Lake files are never GeoParquet; hyparquet's GeoParquet pass also loops forever on a negative `num_children`.
export const footerOf = (file: AsyncBuffer): Promise<FileMetaData> =>
  parquetMetadataAsync(file, { parsers, initialFetchSize: FOOTER_BYTES, geoparquet: false })

export const readFooter = (file: AsyncBuffer): Effect.Effect<FileMetaData, NotALakeFile> =>
  decoding(() => footerOf(file))

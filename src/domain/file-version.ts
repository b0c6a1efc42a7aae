/**
 * The versions of one lake file and which of them was the file at a given time (as-of reads). A rewrite that changes
 * or removes a day the file held keeps the old bytes outside the current tree (`stored`); a rewrite that only adds
 * days keeps nothing, since the new version still holds the old one's days unchanged: reading that later version
 * restricted to the old one's days gives the old file exactly.
 */

export interface FileVersion {
  readonly id: number
  /** Lake-relative path of the file (`ohlcv/frame=1m/symbol=AAPL/2024-03.parquet`). */
  readonly file: string
  readonly jobId: number
  /** When the version was put in place (ISO). */
  readonly writtenAt: string
  /** When a later write replaced it (ISO); absent while it is the current file. */
  readonly supersededAt?: string | undefined
  /** Lake-relative path of its kept bytes, when the write that replaced it changed or removed a day. */
  readonly stored?: string | undefined
  /** The trading days it held, sorted. */
  readonly days: ReadonlyArray<string>
  readonly rows: number
}

/** One file's part of a write: the version it replaced (if recorded), where its bytes were kept, the new one. */
export interface VersionChange {
  readonly file: string
  readonly jobId: number
  /** The manifest's current version before the write; absent for a new file or one written before versions. */
  readonly replaced?: number | undefined
  /** For a file written before versions were kept: when it was written (its mtime), so it gets a version row. */
  readonly unrecordedSince?: string | undefined
  /** Where the replaced bytes were kept (lake-relative); absent when the new version holds them unchanged. */
  readonly stored?: string | undefined
  /** The replaced version's days, for an unrecorded file. */
  readonly replacedDays?: ReadonlyArray<string> | undefined
  /** The new version; absent when the write removed the file. */
  readonly next?: { readonly days: ReadonlyArray<string>; readonly rows: number } | undefined
}

/** Where to read a file as it was at some time. */
export type VersionSource =
  /** Read these bytes: the current file (`path` equals the file's own) or a kept version, restricted to `days` when given. */
  | { readonly kind: "read"; readonly path: string; readonly days?: ReadonlySet<string> | undefined }
  /** The file did not exist then (not yet written, or removed by then). */
  | { readonly kind: "absent" }
  /** A kept version it depends on was pruned: the lake no longer knows what the file held then. */
  | { readonly kind: "pruned"; readonly version: FileVersion }

const ms = (iso: string) => Date.parse(iso)

/**
 * The version of a file that was in place at `at` (UTC ms), given every version recorded for it. A file with no
 * recorded version was written before versions were kept: its current bytes are all there is.
 */
export function sourceAt(
  file: string,
  versions: ReadonlyArray<FileVersion>,
  at: number,
  exists: (path: string) => boolean
): VersionSource {
  if (versions.length === 0) return { kind: "read", path: file }
  const sorted = [...versions].sort((a, b) => ms(a.writtenAt) - ms(b.writtenAt) || a.id - b.id)
  const index = sorted.findLastIndex((v) => ms(v.writtenAt) <= at)
  const then = sorted[index]
  if (then === undefined || (then.supersededAt !== undefined && ms(then.supersededAt) <= at)) return { kind: "absent" }
  // The first later version (or the current file) whose bytes still hold this version's days unchanged.
  for (let i = index; i < sorted.length; i++) {
    const v = sorted[i] as FileVersion
    const days = i === index ? undefined : new Set(then.days)
    if (v.supersededAt === undefined) return { kind: "read", path: file, days }
    if (v.stored !== undefined) {
      return exists(v.stored) ? { kind: "read", path: v.stored, days } : { kind: "pruned", version: then }
    }
  }
  // Superseded without a kept copy and no later version: the file was removed after adding nothing (cannot happen
  // from the sink, which keeps the bytes of a removed file); treat it as lost history.
  return { kind: "pruned", version: then }
}

/**
 * `prune versions`: the bytes of superseded lake file versions replaced before a cutoff, and kept copies no manifest
 * row names (a write killed between keeping a copy and recording it) older than the cutoff. The manifest rows stay:
 * an as-of read of a time whose version is gone says so instead of reading something else.
 */
import { rmSync, statSync } from "node:fs"
import { join, relative, sep } from "node:path"
import { Effect } from "effect"
import { StorageError } from "../domain/errors.ts"
import { versionsRoot } from "../lake/layout.ts"
import { walkFiles } from "../lake/walk.ts"
import { FileVersions } from "../repository/file-versions.ts"

export interface VersionsPruned {
  readonly cutoff: string
  readonly files: number
  readonly bytes: number
}

const sizeOf = (path: string): number | undefined => {
  try {
    return statSync(path).size
  } catch {
    return undefined
  }
}

/** Every file under the versions tree, lake-relative, with its modification time. */
function keptFiles(dataDir: string): Array<{ readonly relative: string; readonly mtime: number }> {
  const out: Array<{ relative: string; mtime: number }> = []
  walkFiles(versionsRoot(dataDir), (p, e) => {
    if (e.isFile()) out.push({ relative: relative(dataDir, p).split(sep).join("/"), mtime: statSync(p).mtimeMs })
  })
  return out
}

/** Removes (or, `dryRun`, counts) the kept versions replaced before `cutoff` (ISO). */
export const pruneVersions = (dataDir: string, cutoff: string, dryRun: boolean) =>
  Effect.gen(function* () {
    const versions = yield* FileVersions
    const expired = (yield* versions.keptBefore(cutoff)).flatMap((v) => (v.stored === undefined ? [] : [v.stored]))
    const known = yield* versions.keptPaths()
    const before = Date.parse(cutoff)
    const orphans = keptFiles(dataDir)
      .filter((f) => !known.has(f.relative) && f.mtime < before)
      .map((f) => f.relative)
    let [files, bytes] = [0, 0]
    for (const file of new Set([...expired, ...orphans])) {
      const path = join(dataDir, file)
      const size = sizeOf(path)
      if (size === undefined) continue
      if (!dryRun) {
        yield* Effect.try({
          try: () => rmSync(path, { force: true }),
          catch: (e) => new StorageError({ path, reason: e instanceof Error ? e.message : String(e) })
        })
      }
      files++
      bytes += size
    }
    return { cutoff, files, bytes } satisfies VersionsPruned
  })

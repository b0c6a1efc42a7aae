/**
 * As-of reads: which bytes held each candidate file at a past time, from the manifest of file versions. A current
 * file read as is, a kept version under `versions/`, or a later version restricted to the days the file held then;
 * files written after that time are left out. The manifest is the repository's (`database_url`, by default the data
 * dir's SQLite file), opened only for as-of reads.
 */
import { existsSync } from "node:fs"
import { join, relative, sep } from "node:path"
import { Effect } from "effect"
import { StorageError, UsageError } from "../../domain/errors.ts"
import { type FileVersion, sourceAt } from "../../domain/file-version.ts"
import type { Symbol } from "../../domain/symbol.ts"
import { periodOfFileName, periodSpan, symbolDir } from "../layout.ts"
import type { OhlcvColumn, Resolved } from "./options.ts"

/** A file to read for a load, and, for a version read through a later one, the days to keep of it. */
export interface LoadSource {
  readonly symbol: Symbol
  readonly path: string
  readonly days?: ReadonlySet<string> | undefined
}

/** The manifest lookup an as-of read needs: every version of the files under a lake-relative directory. */
export type VersionLookup = (prefix: string) => Effect.Effect<ReadonlyArray<FileVersion>, StorageError>

/**
 * The sources of one symbol as of `r.asOf`: the versions the manifest knows under the symbol's directory, and the
 * current files it does not (written before versions were kept), within the range's periods.
 */
export const asOfSources = (
  r: Resolved<OhlcvColumn> & { readonly asOf: number },
  symbol: Symbol,
  current: ReadonlyArray<string>,
  lookup: VersionLookup
): Effect.Effect<Array<LoadSource>, StorageError | UsageError> =>
  Effect.gen(function* () {
    const { first, last, count } = periodSpan(r.timeframe, r.start, r.end)
    if (count === 0) return []
    const dataDir = join(r.lake, "..")
    const dir = symbolDir(r.lake, r.timeframe, symbol)
    const prefix = `${relative(dataDir, dir).split(sep).join("/")}/`
    const versions = yield* lookup(prefix)
    const byFile = new Map<string, Array<FileVersion>>()
    for (const v of versions) byFile.set(v.file, [...(byFile.get(v.file) ?? []), v])
    const files = new Set([...current.map((p) => `${prefix}${p.slice(dir.length + 1)}`), ...byFile.keys()])
    const out: Array<LoadSource> = []
    for (const file of [...files].sort()) {
      const period = periodOfFileName(r.timeframe, file.slice(prefix.length))
      if (period === undefined || period < first || period > last) continue
      const source = sourceAt(file, byFile.get(file) ?? [], r.asOf, (p) => existsSync(join(dataDir, p)))
      if (source.kind === "absent") continue
      if (source.kind === "pruned") {
        return yield* new UsageError({
          field: "asOf",
          reason: `${new Date(r.asOf).toISOString()} is before what the lake still keeps of ${file}: its version from ${source.version.writtenAt} was pruned`
        })
      }
      // Only files of the symbol's directory (the layout's) or of the versions tree can come out of the manifest.
      const path = join(dataDir, source.path)
      if (!path.startsWith(dataDir + sep)) return yield* new StorageError({ path, reason: "leaves the data dir" })
      out.push({ symbol, path, days: source.days })
    }
    return out
  })

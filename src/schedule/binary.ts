/**
 * Which marketpipe a schedule runs: `--binary` when given; else the compiled binary that is running now; else, when
 * running from source (`bun src/cli/main.ts`), the build in the repository's `dist/`. A schedule never runs
 * `bun` with a source path: it would depend on a checkout and a runtime that the machine may not keep.
 */
import { basename, isAbsolute } from "node:path"
import { shown, UsageError } from "../domain/errors.ts"

/** What decides the binary; the caller reads the process and the disk, so this stays free of I/O. */
export interface BinarySources {
  /** `--binary`, if given. */
  readonly explicit: string | undefined
  /** `process.execPath`: the compiled marketpipe, or the runtime running the sources. */
  readonly execPath: string
  /** `dist/marketpipe` of the repository the sources are in. */
  readonly repoBinary: string
  readonly isFile: (path: string) => boolean
}

/** Executables that run marketpipe from source rather than being it (`bun`, `bun.exe`, `node`, `deno`, …). */
const RUNTIME = /^(?:bun|node|deno)(?:-[\w.]+)?(?:\.exe)?$/iu

/** The absolute path a schedule starts marketpipe by. Throws a `UsageError` naming `--binary`. */
export function marketpipeBinary(sources: BinarySources): string {
  const { explicit, execPath, repoBinary } = sources
  if (explicit !== undefined) {
    if (isAbsolute(explicit)) return explicit
    throw new UsageError({
      field: "--binary",
      reason: `${shown(explicit)} is not an absolute path; a schedule does not start in this directory`
    })
  }
  if (!RUNTIME.test(basename(execPath))) return execPath
  if (sources.isFile(repoBinary)) return repoBinary
  throw new UsageError({
    field: "--binary",
    reason: `marketpipe runs from source here (${basename(execPath)}) and ${repoBinary} is not built (npm run build); pass --binary PATH, the absolute path of the marketpipe binary on the machine that runs the schedule`
  })
}

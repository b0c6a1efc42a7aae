/**
 * The data dir check: the directory a run writes the lake and the SQLite database into exists (or the nearest
 * directory above it does, where a run would create it) and takes files, and a rename in it is atomic — the lake
 * replaces every file by writing a temp file beside it and renaming it over the old one (`lake/atomic-file.ts`).
 * The probe file it writes is removed again; the data dir itself is never created here.
 */
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { Effect } from "effect"
import { tempPathFor } from "../lake/atomic-file.ts"
import { type CheckResult, fail, pass, warn } from "./check.ts"

const NAME = "data dir"

/** `path` when it exists, else the nearest existing path above it (the root at worst). */
export function nearestExisting(path: string): string {
  let current = path
  while (!existsSync(current)) {
    const up = dirname(current)
    if (up === current) break
    current = up
  }
  return current
}

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e))

/**
 * Writes a temp file in `dir`, renames it to its final name and checks the rename took it whole (the old name gone,
 * the new one holding every byte, on the directory's own filesystem); both names are removed whatever happens.
 */
export function probeAtomicRename(dir: string): void {
  const target = join(dir, `.marketpipe-doctor-${process.pid}-${Math.random().toString(36).slice(2, 10)}`)
  const temp = tempPathFor(target)
  const content = `marketpipe doctor probe ${target}\n`
  try {
    writeFileSync(temp, content, { flag: "wx" })
    renameSync(temp, target)
    if (existsSync(temp)) throw new Error(`after renaming ${temp} it still exists`)
    if (readFileSync(target, "utf8") !== content) throw new Error(`${target} does not hold what was renamed into it`)
    if (statSync(target).dev !== statSync(dir).dev) throw new Error(`${target} landed on another filesystem`)
  } finally {
    rmSync(temp, { force: true })
    rmSync(target, { force: true })
  }
}

export const dataDirCheck = (dataDir: string): Effect.Effect<CheckResult> =>
  Effect.sync(() => {
    const existing = nearestExisting(dataDir)
    if (!statSync(existing).isDirectory()) {
      return fail(
        NAME,
        existing === dataDir
          ? `${dataDir} is not a directory: point --data-dir, MARKETPIPE_DATA_DIR or config data_dir at a directory`
          : `${dataDir} cannot be created: ${existing} is a file, not a directory`
      )
    }
    try {
      probeAtomicRename(existing)
    } catch (e) {
      return fail(NAME, `${existing} is not writable (a run writes the lake and the database there): ${messageOf(e)}`)
    }
    return existing === dataDir
      ? pass(NAME, `${dataDir} is writable and a rename in it is atomic`)
      : warn(
          NAME,
          `${dataDir} does not exist yet: it will be created on first run (${existing} is writable and a rename in it is atomic)`
        )
  })

/**
 * The disk check: free space on the data dir's filesystem (or, before the data dir exists, on the filesystem of the
 * nearest directory above it), which a year of 1-minute bars for a few thousand symbols takes gigabytes of.
 */
import { type StatsFs, statfsSync, statSync } from "node:fs"
import { dirname } from "node:path"
import { Effect } from "effect"
import { type CheckResult, fail, pass, warn } from "./check.ts"
import { nearestExisting } from "./data-dir.ts"

const NAME = "disk"

const GIB = 2 ** 30

/** Under this much free space the check fails: a run would soon stop with the disk full. */
export const DISK_FAIL_BYTES = 1 * GIB
/** Under this much it warns. */
export const DISK_WARN_BYTES = 10 * GIB

/** `12.3 GiB`, or `512 MiB` under a GiB. */
export const formatBytes = (bytes: number): string =>
  bytes >= GIB ? `${(bytes / GIB).toFixed(1)} GiB` : `${Math.floor(bytes / 2 ** 20)} MiB`

/** The verdict on `free` bytes (of `total`) on the filesystem of `dir`. */
export function diskVerdict(dir: string, free: number, total: number): CheckResult {
  const figure = `${formatBytes(free)} free of ${formatBytes(total)} on the filesystem of ${dir}`
  if (free < DISK_FAIL_BYTES) return fail(NAME, `${figure}: under ${formatBytes(DISK_FAIL_BYTES)}; free some space`)
  if (free < DISK_WARN_BYTES) return warn(NAME, `${figure}: under ${formatBytes(DISK_WARN_BYTES)}`)
  return pass(NAME, figure)
}

/** The nearest existing directory at or above `path`. */
const nearestDirectory = (path: string): string => {
  const existing = nearestExisting(path)
  return statSync(existing).isDirectory() ? existing : dirname(existing)
}

export const diskCheck = (
  dataDir: string,
  statfs: (path: string) => StatsFs = statfsSync
): Effect.Effect<CheckResult, Error> =>
  Effect.try({
    try: () => {
      const dir = nearestDirectory(dataDir)
      const stats = statfs(dir)
      // `bavail`, not `bfree`: the blocks reserved for root are not for a run's files.
      return diskVerdict(dir, stats.bavail * stats.bsize, stats.blocks * stats.bsize)
    },
    catch: (e) => (e instanceof Error ? e : new Error(String(e)))
  })

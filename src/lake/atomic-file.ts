/**
 * Atomic file replacement: write a temp file in the target's directory, fsync it, rename it over the target and
 * fsync the directory. A reader sees the old file or the new one, never a torn one, and a crash leaves at worst a
 * temp file, which `removeOrphanTemps` clears on the next run.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs"
import { hostname } from "node:os"
import { basename, dirname, join } from "node:path"

const TEMP_MARK = ".mp-tmp-"

/**
 * Test-only fault point, inert unless `MARKETPIPE_FAULT_KILL_AFTER_RENAMES=N` is set: the process kills itself with
 * SIGKILL right after its N-th rename, when the new file is in place but the ledger rows for it are not yet written
 * (the window a crash is most dangerous in). The crash-loop test uses it to kill at points that do not depend on the
 * machine's speed.
 */
const killAfterRenames = Number(process.env.MARKETPIPE_FAULT_KILL_AFTER_RENAMES ?? 0)
let renames = 0
const faultPoint = () => {
  if (killAfterRenames > 0 && ++renames === killAfterRenames) process.kill(process.pid, "SIGKILL")
}

export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const dir = dirname(path)
  mkdirSync(dir, { recursive: true })
  // The temp name carries its writer (`host.pid`), so a restart removes only what a dead process left.
  const temp = join(
    dir,
    `.${basename(path)}${TEMP_MARK}${hostname()}.${process.pid}.${Math.random().toString(36).slice(2, 10)}`
  )
  try {
    const fd = openSync(temp, "w", 0o644)
    try {
      let written = 0
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(temp, path)
    faultPoint()
  } catch (error) {
    rmSync(temp, { force: true })
    throw error
  }
  syncDirectory(dir)
}

function syncDirectory(dir: string): void {
  let fd: number | undefined
  try {
    fd = openSync(dir, "r")
    fsyncSync(fd)
  } catch {
    // Some filesystems refuse fsync on directories; the rename itself is still atomic there.
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

export const isTempFile = (name: string): boolean => name.startsWith(".") && name.includes(TEMP_MARK)

/** `host:pid` of the process that wrote a temp file, when its name says. */
export function tempOwner(name: string): string | undefined {
  const m = /\.mp-tmp-(.+)\.(\d+)\.[a-z0-9]+$/u.exec(name)
  return m === null ? undefined : `${m[1]}:${m[2]}`
}

/**
 * Deletes temp files that crashed writers left under `root` (those whose owner is not alive; all of them when no
 * check is given); returns their paths.
 */
export function removeOrphanTemps(root: string, isAlive: (owner: string) => boolean = () => false): Array<string> {
  const removed: Array<string> = []
  const walk = (dir: string) => {
    let entries: Array<import("node:fs").Dirent>
    try {
      entries = readdirSync(dir, { withFileTypes: true })
    } catch {
      return
    }
    for (const e of entries) {
      const p = join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if (isTempFile(e.name) && !isAlive(tempOwner(e.name) ?? "")) {
        rmSync(p, { force: true })
        removed.push(p)
      }
    }
  }
  walk(root)
  return removed
}

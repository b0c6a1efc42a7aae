/**
 * Atomic file replacement: write a temp file in the target's directory, fsync it, rename it over the target and
 * fsync the directory. A reader sees the old file or the new one, never a torn one, and a crash leaves at worst a
 * temp file, which `removeOrphanTemps` clears on the next run.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs"
import { basename, dirname, join } from "node:path"

const TEMP_MARK = ".mp-tmp-"

export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const dir = dirname(path)
  mkdirSync(dir, { recursive: true })
  const temp = join(dir, `.${basename(path)}${TEMP_MARK}${process.pid}-${Math.random().toString(36).slice(2, 10)}`)
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

/** Deletes temp files a crashed writer left under `root`; returns their paths. */
export function removeOrphanTemps(root: string): Array<string> {
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
      else if (isTempFile(e.name)) {
        rmSync(p, { force: true })
        removed.push(p)
      }
    }
  }
  walk(root)
  return removed
}

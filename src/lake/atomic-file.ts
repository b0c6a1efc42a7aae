/**
 * Atomic file replacement in two halves: write a temp file in the target's directory (`writeTempFile`, the heavy
 * half, which a writer thread may do), then fsync it, rename it over the target and fsync the directory
 * (`commitTempFile`, done by whoever holds the file's lock). A reader sees the old file or the new one, never a torn
 * one, and a crash leaves at worst a temp file, which `removeOrphanTemps` clears on the next run.
 */
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs"
import { type FileHandle, open, rename } from "node:fs/promises"
import { hostname } from "node:os"
import { basename, dirname, join } from "node:path"
import { walkFiles } from "./walk.ts"

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

/**
 * A fresh temp name beside `path`. It carries its writer (`host.pid`), so a restart removes only what a dead process
 * left; the lake's writer threads run in the process that names the file, so its pid is theirs too.
 */
export const tempPathFor = (path: string): string =>
  join(
    dirname(path),
    `.${basename(path)}${TEMP_MARK}${hostname()}.${process.pid}.${Math.random().toString(36).slice(2, 10)}`
  )

/**
 * First half of an atomic replace: `bytes` into `temp` (created with its directory). Runs on any thread. Not synced
 * here: `commitTempFile` does that on the I/O threads, so a writer thread goes on to encode the next file instead
 * of waiting for the disk (a fsync under a busy journal takes milliseconds, and a writer thread was a third idle).
 */
export function writeTempFile(temp: string, bytes: Uint8Array): void {
  mkdirSync(dirname(temp), { recursive: true })
  try {
    const fd = openSync(temp, "w", 0o644)
    try {
      let written = 0
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written)
    } finally {
      closeSync(fd)
    }
  } catch (error) {
    rmSync(temp, { force: true })
    throw error
  }
}

/**
 * Second half: fsyncs the written temp file (its bytes are on disk before any name points at them), renames it over
 * `path` and fsyncs the directory. It runs on the thread that holds the file's lock (the fault point counts this
 * process's renames, so it lives there too), through the runtime's I/O threads: a fsync and a rename take
 * milliseconds of journal work each, which would otherwise stall every other unit of the run.
 */
export async function commitTempFile(temp: string, path: string): Promise<void> {
  try {
    await syncFile(temp)
    await rename(temp, path)
    faultPoint()
  } catch (error) {
    rmSync(temp, { force: true })
    throw error
  }
  await syncDirectory(dirname(path))
}

async function syncFile(file: string): Promise<void> {
  const handle = await open(file, "r+")
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined
  try {
    handle = await open(dir, "r")
    await handle.sync()
  } catch {
    // Some filesystems refuse fsync on directories; the rename itself is still atomic there.
  } finally {
    await handle?.close()
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
  walkFiles(root, (p, e) => {
    if (isTempFile(e.name) && !isAlive(tempOwner(e.name) ?? "")) {
      rmSync(p, { force: true })
      removed.push(p)
    }
  })
  return removed
}

/**
 * Reading a file the user points us at (config, universe): it must be a regular file of a sane size, so `/dev/zero`,
 * a FIFO or a directory is a clear usage error instead of a process that eats memory or hangs.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs"
import { UsageError } from "../domain/errors.ts"

const mib = (bytes: number) =>
  bytes < 1024 * 1024 ? `${Math.round(bytes / 1024)} KiB` : `${Math.round(bytes / 1024 / 102.4) / 10} MiB`

/** The file's text; fails with a `UsageError` on `field` when it is not a regular file or is over `maxBytes`. */
export function readInputFile(path: string, maxBytes: number, field: string, what: string): string {
  let fd: number
  try {
    // Non-blocking: opening a FIFO for reading would otherwise wait for a writer forever.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (e) {
    throw new UsageError({ field, reason: `cannot read ${what} ${path}: ${(e as Error).message}` })
  }
  try {
    // Checked on the opened descriptor, so a path swapped after the check cannot slip a device in.
    const stat = fstatSync(fd)
    if (!stat.isFile()) throw new UsageError({ field, reason: `${what} ${path} is not a regular file` })
    if (stat.size > maxBytes) {
      throw new UsageError({ field, reason: `${what} ${path} is ${mib(stat.size)}; at most ${mib(maxBytes)} is read` })
    }
    // Read at most one byte past the limit: a file that grows while we read is caught too.
    const buffer = Buffer.alloc(Math.min(stat.size, maxBytes) + 1)
    let read = 0
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, read)
      if (n === 0) break
      read += n
    }
    if (read > maxBytes) throw new UsageError({ field, reason: `${what} ${path} is over ${mib(maxBytes)}` })
    return buffer.subarray(0, read).toString("utf8")
  } finally {
    closeSync(fd)
  }
}

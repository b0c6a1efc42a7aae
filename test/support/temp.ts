import { afterAll } from "bun:test"
/** Temp directories that tests own and remove. */
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"

export const tempDir = (prefix = "mp-test-"): string => mkdtempSync(join(tmpdir(), prefix))
export const removeDir = (dir: string): void => rmSync(dir, { recursive: true, force: true })

/** Every file under `dir`, relative to it, sorted. */
export function listFiles(dir: string): Array<string> {
  const out: Array<string> = []
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name)
      if (statSync(p).isDirectory()) walk(p)
      else out.push(relative(dir, p))
    }
  }
  walk(dir)
  return out.sort()
}

/** Temp directories for one test file: `fresh()` makes one, and all are removed after the file's tests. */
export function useTempDirs(prefix = "mp-test-"): () => string {
  const dirs: Array<string> = []
  afterAll(() => {
    for (const d of dirs) removeDir(d)
  })
  return () => {
    const d = tempDir(prefix)
    dirs.push(d)
    return d
  }
}

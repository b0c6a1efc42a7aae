/**
 * A run's findings on their way to its report, kept on disk as they come rather than in memory: a backfill over years
 * can keep 200,000 of them, and holding them (then serialising them all at the end) cost a run 200 MB at its peak.
 * The spool holds the report's own two texts, CSV rows and JSON elements, so the report is put together by moving one
 * file and copying the other's bytes. It lives in `<data_dir>/reports/.spool-…` named for its process: the scope
 * that made it removes it, and recovery removes the spool of a process that died.
 */
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync
} from "node:fs"
import { join } from "node:path"
import { stringify } from "csv-stringify/sync"
import { Effect } from "effect"
import { StorageError } from "../domain/errors.ts"
import type { Finding } from "../domain/validation.ts"

const columns = ["symbol", "ts", "rule", "severity", "detail", "open", "high", "low", "close", "volume"] as const
const SPOOL = ".spool-"
const ROWS = "rows.csv"
const ELEMENTS = "elements.json"

/** The head of the JSON report: everything but its findings. */
export interface ReportHead {
  readonly job_id: number
  readonly kind: string
  readonly totals: ReadonlyArray<{ readonly rule: string; readonly severity: string; readonly count: number }>
}

export interface FindingsSpool {
  /** Appends findings to the report to be (callers keep to their cap). */
  readonly add: (findings: ReadonlyArray<Finding>) => Effect.Effect<void, StorageError>
  /** Findings added so far. */
  readonly size: () => number
  /**
   * Writes `validation.csv` and `validation.json` into `dir` from what was added: the CSV table of every finding
   * and `JSON.stringify({ ...head, findings }, null, 1)` with a newline, byte for byte. Once: it uses the spool up.
   */
  readonly writeReport: (dir: string, head: ReportHead) => { readonly csv: string; readonly json: string }
}

const rowOf = (f: Finding) => ({ ...f, ts: new Date(f.ts).toISOString() })

/** One finding as an element of the report's `findings` array: its own indented text, two spaces deeper. */
const elementOf = (f: Finding) => `  ${JSON.stringify(rowOf(f), null, 1).replaceAll("\n", "\n  ")}`

/** Copies the bytes of `from` to the end of the open file `fd`, 64 KiB at a time. */
function copyInto(fd: number, from: string): void {
  const buffer = new Uint8Array(1 << 16)
  const source = openSync(from, "r")
  try {
    for (let n = readSync(source, buffer); n > 0; n = readSync(source, buffer)) {
      let at = 0
      while (at < n) at += writeSync(fd, buffer, at, n - at)
    }
  } finally {
    closeSync(source)
  }
}

/** Appends through a descriptor: Deno's appendFileSync sets the file's mode to 0666 whatever the umask. */
function append(path: string, text: string): void {
  const fd = openSync(path, "a")
  try {
    writeFileSync(fd, text)
  } finally {
    closeSync(fd)
  }
}

const storageError = (path: string) => (e: unknown) =>
  new StorageError({ path, reason: e instanceof Error ? e.message : String(e) })

function makeSpool(dir: string): FindingsSpool {
  const rows = join(dir, ROWS)
  const elements = join(dir, ELEMENTS)
  mkdirSync(dir, { recursive: true })
  writeFileSync(rows, stringify([], { header: true, columns: [...columns] }))
  writeFileSync(elements, "")
  let size = 0
  return {
    add: (findings) =>
      Effect.try({
        try: () => {
          if (findings.length === 0) return
          append(rows, stringify(findings.map(rowOf), { header: false, columns: [...columns] }))
          append(elements, `${size === 0 ? "" : ",\n"}${findings.map(elementOf).join(",\n")}`)
          size += findings.length
        },
        catch: storageError(dir)
      }),
    size: () => size,
    writeReport: (target, head) => {
      mkdirSync(target, { recursive: true })
      const csv = join(target, "validation.csv")
      const json = join(target, "validation.json")
      const empty = JSON.stringify({ ...head, findings: [] }, null, 1)
      const fd = openSync(json, "w")
      try {
        // A descriptor given to writeFileSync is written in full at its position.
        if (size === 0) writeFileSync(fd, `${empty}\n`)
        else {
          writeFileSync(fd, `${empty.slice(0, empty.length - "[]\n}".length)}[\n`)
          copyInto(fd, elements)
          writeFileSync(fd, "\n ]\n}\n")
        }
      } finally {
        closeSync(fd)
      }
      renameSync(rows, csv)
      return { csv, json }
    }
  }
}

/** A spool of this process's own in `<data_dir>/reports/`, removed when the scope closes. */
export const findingsSpool = (dataDir: string, owner: string) =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const dir = join(
        dataDir,
        "reports",
        `${SPOOL}${Math.random().toString(36).slice(2, 10)}-${encodeURIComponent(owner)}`
      )
      return Effect.try({ try: () => makeSpool(dir), catch: storageError(dir) }).pipe(
        Effect.map((spool) => ({ spool, dir }))
      )
    }),
    ({ dir }) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  ).pipe(Effect.map(({ spool }) => spool))

const ownerOf = (encoded: string): string | undefined => {
  try {
    return decodeURIComponent(encoded)
  } catch {
    return undefined
  }
}

/** Removes the spools of processes that are gone (a crashed run's); returns their paths. */
export function removeOrphanSpools(dataDir: string, isAlive: (owner: string) => boolean): Array<string> {
  const reports = join(dataDir, "reports")
  let names: Array<string>
  try {
    names = readdirSync(reports)
  } catch {
    return []
  }
  const removed: Array<string> = []
  for (const name of names) {
    if (!name.startsWith(SPOOL)) continue
    const owner = ownerOf(name.slice(name.indexOf("-", SPOOL.length) + 1))
    if (owner === undefined || isAlive(owner)) continue
    rmSync(join(reports, name), { recursive: true, force: true })
    removed.push(join(reports, name))
  }
  return removed
}

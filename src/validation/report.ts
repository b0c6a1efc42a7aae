/**
 * Validation reports: every ingest, backfill and `ohlcv validate` run writes its findings as CSV and JSON under
 * `<data_dir>/reports/<job id>/` (one row per finding: symbol, ts, rule, severity, detail, values) and records the
 * totals by rule and severity in the repository, so `ohlcv validate --list/--show` can read them back.
 */
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs"
import { join } from "node:path"
import { stringify } from "csv-stringify/sync"
import { Effect } from "effect"
import { StorageError } from "../domain/errors.ts"
import type { Finding } from "../domain/validation.ts"
import { ValidationRuns } from "../repository/validation-runs.ts"

export interface ReportInput {
  readonly jobId: number
  readonly kind: string
  readonly findings: ReadonlyArray<Finding>
  /** Complete counts (findings may be capped). */
  readonly errorsByRule: Readonly<Record<string, number>>
  readonly warningsByRule: Readonly<Record<string, number>>
}

const columns = ["symbol", "ts", "rule", "severity", "detail", "open", "high", "low", "close", "volume"] as const

export const reportDir = (dataDir: string, jobId: number) => join(dataDir, "reports", String(jobId))

/** Findings serialised at a time (the CSV); a run's report can hold 200,000 of them, 80 MB of text. */
const CHUNK = 100

const rowsOf = (findings: ReadonlyArray<Finding>) => findings.map((f) => ({ ...f, ts: new Date(f.ts).toISOString() }))

/**
 * Text appended to a file through one reused buffer. The report is written a row at a time, never as one string:
 * a whole report's text, and the copies made of it on its way to the file, once took 450 MB at the end of a run.
 */
class TextFile {
  private readonly buffer = new Uint8Array(1 << 16)
  private readonly encoder = new TextEncoder()
  private used = 0

  constructor(private readonly fd: number) {}

  write(text: string): void {
    let rest = text
    for (;;) {
      const { read, written } = this.encoder.encodeInto(rest, this.buffer.subarray(this.used))
      this.used += written
      if (read === rest.length) return
      this.flush()
      rest = rest.slice(read)
    }
  }

  flush(): void {
    let at = 0
    while (at < this.used) at += writeSync(this.fd, this.buffer, at, this.used - at)
    this.used = 0
  }
}

function writeText(path: string, body: (file: TextFile) => void): void {
  const fd = openSync(path, "w", 0o644)
  try {
    const file = new TextFile(fd)
    body(file)
    file.flush()
  } finally {
    closeSync(fd)
  }
}

/** The CSV table of the findings, header first: the same text as one `stringify` of every row. */
function writeCsv(file: TextFile, findings: ReadonlyArray<Finding>): void {
  file.write(stringify([], { header: true, columns: [...columns] }))
  for (let at = 0; at < findings.length; at += CHUNK) {
    file.write(stringify(rowsOf(findings.slice(at, at + CHUNK)), { header: false, columns: [...columns] }))
  }
}

/**
 * `JSON.stringify({ job_id, kind, totals, findings }, null, 1)` and a newline, a finding at a time: each element is
 * its own one-space-indented text, shifted two spaces for its depth in the document.
 */
function writeJson(
  file: TextFile,
  head: { readonly job_id: number; readonly kind: string; readonly totals: unknown },
  findings: ReadonlyArray<Finding>
): void {
  const empty = JSON.stringify({ ...head, findings: [] }, null, 1)
  if (findings.length === 0) {
    file.write(`${empty}\n`)
    return
  }
  file.write(`${empty.slice(0, empty.length - "[]\n}".length)}[\n`)
  findings.forEach((f, i) => {
    file.write(i === 0 ? "  " : ",\n  ")
    file.write(JSON.stringify({ ...f, ts: new Date(f.ts).toISOString() }, null, 1).replaceAll("\n", "\n  "))
  })
  file.write("\n ]\n}\n")
}

export const writeValidationReport = (dataDir: string, input: ReportInput) =>
  Effect.gen(function* () {
    const dir = reportDir(dataDir, input.jobId)
    const totals = [
      ...Object.entries(input.errorsByRule).map(([rule, count]) => ({ rule, severity: "error", count })),
      ...Object.entries(input.warningsByRule).map(([rule, count]) => ({ rule, severity: "warning", count }))
    ]
    const errors = Object.values(input.errorsByRule).reduce((a, b) => a + b, 0)
    const warnings = Object.values(input.warningsByRule).reduce((a, b) => a + b, 0)
    const csv = join(dir, "validation.csv")
    const json = join(dir, "validation.json")
    yield* Effect.try({
      try: () => {
        mkdirSync(dir, { recursive: true })
        writeText(csv, (file) => writeCsv(file, input.findings))
        writeText(json, (file) => writeJson(file, { job_id: input.jobId, kind: input.kind, totals }, input.findings))
      },
      catch: (e) => new StorageError({ path: dir, reason: String(e) })
    })
    yield* ValidationRuns.use((r) =>
      r.record({
        jobId: input.jobId,
        kind: input.kind,
        reportCsv: csv,
        reportJson: json,
        findings: errors + warnings,
        errors,
        warnings,
        totals
      })
    )
    return { csv, json, errors, warnings }
  })

/**
 * Validation reports: every ingest, backfill and `ohlcv validate` run writes its findings as CSV and JSON under
 * `<data_dir>/reports/<job id>/` (one row per finding: symbol, ts, rule, severity, detail, values) and records the
 * totals by rule and severity in the repository, so `ohlcv validate --list/--show` can read them back.
 */
import { mkdirSync, writeFileSync } from "node:fs"
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

export const writeValidationReport = (dataDir: string, input: ReportInput) =>
  Effect.gen(function* () {
    const dir = reportDir(dataDir, input.jobId)
    const rows = input.findings.map((f) => ({ ...f, ts: new Date(f.ts).toISOString() }))
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
        writeFileSync(csv, stringify(rows, { header: true, columns: [...columns] }))
        writeFileSync(
          json,
          `${JSON.stringify({ job_id: input.jobId, kind: input.kind, totals, findings: rows }, null, 1)}\n`
        )
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

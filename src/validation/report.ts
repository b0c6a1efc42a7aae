/**
 * Validation reports: every ingest, backfill and `ohlcv validate` run writes its findings as CSV and JSON under
 * `<data_dir>/reports/<job id>/` (one row per finding: symbol, ts, rule, severity, detail, values) and records the
 * totals by rule and severity in the repository, so `ohlcv validate --list/--show` can read them back.
 */
import { join } from "node:path"
import { Effect } from "effect"
import { StorageError } from "../domain/errors.ts"
import { ValidationRuns } from "../repository/validation-runs.ts"
import type { FindingsSpool } from "./findings-spool.ts"

export interface ReportInput {
  readonly jobId: number
  readonly kind: string
  /** The findings to list (a run keeps at most `FINDINGS_KEPT`), spooled as they came. */
  readonly findings: FindingsSpool
  /** Complete counts (findings may be capped). */
  readonly errorsByRule: Readonly<Record<string, number>>
  readonly warningsByRule: Readonly<Record<string, number>>
}

export const reportDir = (dataDir: string, jobId: number) => join(dataDir, "reports", String(jobId))

export const writeValidationReport = (dataDir: string, input: ReportInput) =>
  Effect.gen(function* () {
    const dir = reportDir(dataDir, input.jobId)
    const totals = [
      ...Object.entries(input.errorsByRule).map(([rule, count]) => ({ rule, severity: "error", count })),
      ...Object.entries(input.warningsByRule).map(([rule, count]) => ({ rule, severity: "warning", count }))
    ]
    const errors = Object.values(input.errorsByRule).reduce((a, b) => a + b, 0)
    const warnings = Object.values(input.warningsByRule).reduce((a, b) => a + b, 0)
    const { csv, json } = yield* Effect.try({
      try: () => input.findings.writeReport(dir, { job_id: input.jobId, kind: input.kind, totals }),
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

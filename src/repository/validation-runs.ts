/**
 * The `ValidationRuns` service: one validation report per job — where its CSV and JSON are, its counts, and totals
 * by rule and severity — for `ohlcv validate --list/--show`.
 */
import { Context, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import type { RepositoryError } from "../domain/errors.ts"
import { DatabaseName, decodeRows, finish, type Raw } from "./internal/database.ts"
import { nonEmpty, nowIso } from "./internal/statements.ts"
import { type ValidationRun, ValidationRunRow, ValidationTotal } from "./model.ts"

export interface ValidationRunsShape {
  /** Records a validation report and its totals, replacing the job's earlier one. */
  readonly record: (run: Omit<ValidationRun, "createdAt">) => Effect.Effect<void, RepositoryError>
  /** The newest reports first. */
  readonly list: (limit: number) => Effect.Effect<ReadonlyArray<ValidationRun>, RepositoryError>
  readonly get: (jobId: number) => Effect.Effect<ValidationRun | undefined, RepositoryError>
}

export class ValidationRuns extends Context.Service<ValidationRuns, ValidationRunsShape>()(
  "marketpipe/ValidationRuns"
) {}

const runRows = decodeRows(ValidationRunRow)
const totalRows = decodeRows(ValidationTotal)

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const database = yield* DatabaseName

  const read = (rows: ReadonlyArray<unknown>) =>
    Effect.flatMap(runRows(rows), (runs) =>
      Effect.forEach(runs, (run) =>
        Effect.map(
          Effect.flatMap(
            sql`SELECT rule, severity, count FROM validation_results WHERE job_id = ${run.jobId}
              ORDER BY severity, count DESC, rule`,
            totalRows
          ),
          (totals): ValidationRun => ({ ...run, totals })
        )
      )
    )

  const raw: Raw<ValidationRunsShape> = {
    record: (run) =>
      sql.withTransaction(
        Effect.gen(function* () {
          const at = yield* nowIso
          yield* sql`DELETE FROM validation_results WHERE job_id = ${run.jobId}`
          yield* sql`DELETE FROM validation_runs WHERE job_id = ${run.jobId}`
          yield* sql`INSERT INTO validation_runs ${sql.insert({
            job_id: run.jobId,
            kind: run.kind,
            created_at: at,
            report_csv: run.reportCsv,
            report_json: run.reportJson,
            findings: run.findings,
            errors: run.errors,
            warnings: run.warnings
          })}`
          const totals = nonEmpty(
            run.totals.map((t) => ({ job_id: run.jobId, rule: t.rule, severity: t.severity, count: t.count }))
          )
          if (totals !== undefined) yield* sql`INSERT INTO validation_results ${sql.insert(totals)}`
        })
      ),

    list: (limit) => Effect.flatMap(sql`SELECT * FROM validation_runs ORDER BY job_id DESC LIMIT ${limit}`, read),

    get: (jobId) =>
      Effect.map(Effect.flatMap(sql`SELECT * FROM validation_runs WHERE job_id = ${jobId}`, read), (runs) => runs[0])
  }
  return ValidationRuns.of(finish(database, raw))
})

export const layer = Layer.effect(ValidationRuns, make)

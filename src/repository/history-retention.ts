/**
 * The `HistoryRetention` service (`prune db`): drops the repository's history older than a cutoff — finished jobs
 * with their partitions, validation runs and work units, and stored metric samples — in one transaction. A running
 * job, or one with queued or leased work, is never touched, whatever its age; the ledger (what the lake holds) is
 * not history and stays. A dry run counts the same rows in the same way and deletes nothing.
 */
import { Context, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import type { RepositoryError } from "../domain/errors.ts"
import { DatabaseName, finish, type Raw } from "./internal/database.ts"

export interface HistoryCounts {
  readonly jobs: number
  readonly partitions: number
  readonly validationRuns: number
  readonly workUnits: number
  readonly metricSamples: number
}

export interface HistoryRetentionShape {
  /** Drops (or, `dryRun`, counts) the history recorded before `before` (an ISO instant). */
  readonly prune: (before: string, dryRun: boolean) => Effect.Effect<HistoryCounts, RepositoryError>
}

export class HistoryRetention extends Context.Service<HistoryRetention, HistoryRetentionShape>()(
  "marketpipe/HistoryRetention"
) {}

const count = (rows: ReadonlyArray<{ readonly n: number | string | bigint }>) => Number(rows[0]?.n ?? 0)

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const database = yield* DatabaseName

  const raw: Raw<HistoryRetentionShape> = {
    prune: (before, dryRun) =>
      sql.withTransaction(
        Effect.gen(function* () {
          // Finished before the cutoff, and nothing left for a worker to do.
          const old = sql`SELECT j.id FROM jobs j WHERE j.state <> 'running' AND j.finished_at IS NOT NULL
            AND j.finished_at < ${before}
            AND NOT EXISTS (SELECT 1 FROM work_units u WHERE u.job_id = j.id AND u.state IN ('pending', 'running'))`
          const tally = (table: string, column: string) =>
            Effect.map(
              sql<{ n: number }>`SELECT count(*) AS n FROM ${sql(table)} WHERE ${sql(column)} IN (${old})`,
              count
            )
          const counts: HistoryCounts = {
            jobs: count(yield* sql<{ n: number }>`SELECT count(*) AS n FROM (${old}) o`),
            partitions: yield* tally("partitions", "job_id"),
            validationRuns: yield* tally("validation_runs", "job_id"),
            workUnits: yield* tally("work_units", "job_id"),
            metricSamples: count(
              yield* sql<{ n: number }>`SELECT count(*) AS n FROM metrics_samples WHERE recorded_at < ${before}`
            )
          }
          if (dryRun) return counts
          // Children first: SQLite enforces the foreign keys only when asked to, so nothing is left to a cascade.
          yield* sql`DELETE FROM validation_results WHERE job_id IN (${old})`
          for (const table of ["validation_runs", "work_units", "partitions"]) {
            yield* sql`DELETE FROM ${sql(table)} WHERE job_id IN (${old})`
          }
          yield* sql`DELETE FROM jobs WHERE id IN (${old})`
          yield* sql`DELETE FROM metrics_samples WHERE recorded_at < ${before}`
          return counts
        })
      )
  }
  return HistoryRetention.of(finish(database, raw))
})

export const layer = Layer.effect(HistoryRetention, make)

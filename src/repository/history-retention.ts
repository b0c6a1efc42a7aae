/**
 * The `HistoryRetention` service (`prune db`, `jobs cleanup`): drops the repository's history older than a cutoff —
 * finished jobs with their partitions, validation runs and work units, and (`prune`) stored metric samples — in one
 * transaction. A running job, or one with queued or leased work, is never touched, whatever its age; the ledger
 * (what the lake holds) is not history and stays. A dry run counts the same rows in the same way and deletes nothing.
 */
import { Context, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import type { RepositoryError } from "../domain/errors.ts"
import { DatabaseName, finish, type Raw } from "./internal/database.ts"
import type { JobState } from "./model.ts"

/** What removing old jobs removes: the jobs and the rows that belong to them. */
export interface JobHistoryCounts {
  readonly jobs: number
  readonly partitions: number
  readonly validationRuns: number
  readonly workUnits: number
}

export interface HistoryCounts extends JobHistoryCounts {
  readonly metricSamples: number
}

export interface HistoryRetentionShape {
  /** Drops (or, `dryRun`, counts) the history recorded before `before` (an ISO instant). */
  readonly prune: (before: string, dryRun: boolean) => Effect.Effect<HistoryCounts, RepositoryError>
  /**
   * Drops (or counts) the jobs in one of `states` that finished before `before`, with their partitions, validation
   * runs and work units (`jobs cleanup`). Metric samples and the ledger stay.
   */
  readonly pruneJobs: (
    before: string,
    states: ReadonlyArray<Exclude<JobState, "running">>,
    dryRun: boolean
  ) => Effect.Effect<JobHistoryCounts, RepositoryError>
}

export class HistoryRetention extends Context.Service<HistoryRetention, HistoryRetentionShape>()(
  "marketpipe/HistoryRetention"
) {}

const count = (rows: ReadonlyArray<{ readonly n: number | string | bigint }>) => Number(rows[0]?.n ?? 0)

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const database = yield* DatabaseName

  /** Finished before the cutoff (in one of `states`, when given), and nothing left for a worker to do. */
  const oldJobs = (before: string, states?: ReadonlyArray<string>) =>
    sql`SELECT j.id FROM jobs j WHERE j.state <> 'running' AND j.finished_at IS NOT NULL
      AND j.finished_at < ${before} ${states === undefined ? sql`` : sql`AND j.state IN ${sql.in(states)}`}
      AND NOT EXISTS (SELECT 1 FROM work_units u WHERE u.job_id = j.id AND u.state IN ('pending', 'running'))`

  /** Counts, then (unless `dryRun`) deletes, the jobs `old` selects with their rows. */
  const dropJobs = (old: ReturnType<typeof oldJobs>, dryRun: boolean) =>
    Effect.gen(function* () {
      const tally = (table: string, column: string) =>
        Effect.map(sql<{ n: number }>`SELECT count(*) AS n FROM ${sql(table)} WHERE ${sql(column)} IN (${old})`, count)
      const counts: JobHistoryCounts = {
        jobs: count(yield* sql<{ n: number }>`SELECT count(*) AS n FROM (${old}) o`),
        partitions: yield* tally("partitions", "job_id"),
        validationRuns: yield* tally("validation_runs", "job_id"),
        workUnits: yield* tally("work_units", "job_id")
      }
      if (dryRun) return counts
      // Children first: SQLite enforces the foreign keys only when asked to, so nothing is left to a cascade.
      yield* sql`DELETE FROM validation_results WHERE job_id IN (${old})`
      for (const table of ["validation_runs", "work_units", "partitions"]) {
        yield* sql`DELETE FROM ${sql(table)} WHERE job_id IN (${old})`
      }
      yield* sql`DELETE FROM jobs WHERE id IN (${old})`
      return counts
    })

  const raw: Raw<HistoryRetentionShape> = {
    prune: (before, dryRun) =>
      sql.withTransaction(
        Effect.gen(function* () {
          const metricSamples = count(
            yield* sql<{ n: number }>`SELECT count(*) AS n FROM metrics_samples WHERE recorded_at < ${before}`
          )
          const jobs = yield* dropJobs(oldJobs(before), dryRun)
          if (!dryRun) yield* sql`DELETE FROM metrics_samples WHERE recorded_at < ${before}`
          return { ...jobs, metricSamples } satisfies HistoryCounts
        })
      ),

    pruneJobs: (before, states, dryRun) =>
      states.length === 0
        ? Effect.succeed({ jobs: 0, partitions: 0, validationRuns: 0, workUnits: 0 })
        : sql.withTransaction(dropJobs(oldJobs(before, states), dryRun))
  }
  return HistoryRetention.of(finish(database, raw))
})

export const layer = Layer.effect(HistoryRetention, make)

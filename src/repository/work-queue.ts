/**
 * The `WorkQueue` service: the units `backfill --enqueue` plans, shared by any number of `marketpipe worker`
 * processes through leases. Exactly one worker holds a unit at a time; a dead worker's lease runs out and another
 * takes the unit over. A cancelled job's units are never claimed again: those no live worker holds become failed.
 */
import { Clock, Context, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import type { RepositoryError } from "../domain/errors.ts"
import { IdRow } from "./internal/columns.ts"
import { chunks, DatabaseName, decodeRows, finish, type Raw } from "./internal/database.ts"
import { nonEmpty, nowIso, ROWS_PER_STATEMENT } from "./internal/statements.ts"
import { type NewUnit, QueuedUnit, QueueStatus } from "./model.ts"

export interface WorkQueueShape {
  /** Puts a job's units in the shared queue. */
  readonly enqueue: (jobId: number, units: ReadonlyArray<NewUnit>) => Effect.Effect<void, RepositoryError>
  /**
   * Claims one unit no live worker holds (pending, or running with an expired lease), leased to `holder` until
   * `now + leaseMs`. Exactly one worker gets each unit (`FOR UPDATE SKIP LOCKED` on Postgres, the write lock on SQLite).
   * Units of a job `jobs cancel` stopped are not claimed; first they are failed (`cancelUnits`), so nobody waits on them.
   */
  readonly claim: (holder: string, leaseMs: number) => Effect.Effect<QueuedUnit | undefined, RepositoryError>
  /**
   * The units of a cancelled job that no live worker holds (pending, or leased with the lease run out) become failed
   * with error `cancelled`; units being worked on finish. How many were failed; nothing when the job was not cancelled.
   */
  readonly cancelUnits: (jobId: number) => Effect.Effect<number, RepositoryError>
  /** Extends a lease; false when the unit is no longer ours (expired and taken over). */
  readonly renew: (unitId: number, holder: string, leaseMs: number) => Effect.Effect<boolean, RepositoryError>
  readonly finish: (
    unitId: number,
    holder: string,
    state: "done" | "failed",
    error?: string
  ) => Effect.Effect<void, RepositoryError>
  readonly status: (jobId?: number) => Effect.Effect<QueueStatus, RepositoryError>
  /** Jobs with queued units whose units are all finished but which are still marked running. */
  readonly drainedJobs: () => Effect.Effect<ReadonlyArray<number>, RepositoryError>
}

export class WorkQueue extends Context.Service<WorkQueue, WorkQueueShape>()("marketpipe/WorkQueue") {}

const unitRows = decodeRows(QueuedUnit)
const statusRows = decodeRows(QueueStatus)
const idRows = decodeRows(IdRow)

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const database = yield* DatabaseName

  /** Running jobs `jobs cancel` asked to stop. */
  const cancelledJobs = sql`SELECT id FROM jobs WHERE state = 'running' AND cancel_requested_at IS NOT NULL`

  /** Fails the unheld units of cancelled jobs (of one job, or of all); returns their ids. */
  const failCancelled = (jobId: number | undefined) =>
    Effect.gen(function* () {
      const at = yield* nowIso
      const ms = yield* Clock.currentTimeMillis
      return yield* sql`UPDATE work_units SET state = 'failed', error = 'cancelled', lease_expires_ms = NULL,
        updated_at = ${at} WHERE (state = 'pending' OR (state = 'running' AND lease_expires_ms < ${ms}))
        AND job_id IN (${cancelledJobs}) ${jobId === undefined ? sql`` : sql`AND job_id = ${jobId}`} RETURNING id`
    })

  const raw: Raw<WorkQueueShape> = {
    enqueue: (jobId, units) =>
      sql.withTransaction(
        Effect.gen(function* () {
          const at = yield* nowIso
          for (const part of chunks(units, ROWS_PER_STATEMENT)) {
            const rows = nonEmpty(
              part.map((u) => ({
                job_id: jobId,
                symbols: JSON.stringify(u.symbols),
                frame: u.frame,
                period: u.period,
                days: JSON.stringify(u.days),
                start_ms: u.start,
                end_ms: u.end,
                expected_bars: u.expectedBars,
                state: "pending",
                updated_at: at
              }))
            )
            if (rows !== undefined) yield* sql`INSERT INTO work_units ${sql.insert(rows)}`
          }
        })
      ),

    claim: (holder, leaseMs) =>
      Effect.gen(function* () {
        yield* failCancelled(undefined)
        const at = yield* nowIso
        const ms = yield* Clock.currentTimeMillis
        const claimable = sql`(state = 'pending' OR (state = 'running' AND lease_expires_ms < ${ms}))
          AND job_id NOT IN (${cancelledJobs})`
        const pick = sql.onDialectOrElse({
          pg: () => sql`SELECT id FROM work_units WHERE ${claimable} ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED`,
          orElse: () => sql`SELECT id FROM work_units WHERE ${claimable} ORDER BY id LIMIT 1`
        })
        const rows = yield* sql`UPDATE work_units SET state = 'running', lease_holder = ${holder},
          lease_expires_ms = ${ms + leaseMs}, attempts = attempts + 1, updated_at = ${at}
          WHERE id = (${pick}) RETURNING *`
        return (yield* unitRows(rows))[0]
      }),

    cancelUnits: (jobId) => Effect.map(failCancelled(jobId), (rows) => rows.length),

    renew: (unitId, holder, leaseMs) =>
      Effect.gen(function* () {
        const ms = yield* Clock.currentTimeMillis
        const rows = yield* sql`UPDATE work_units SET lease_expires_ms = ${ms + leaseMs}
          WHERE id = ${unitId} AND lease_holder = ${holder} AND state = 'running' RETURNING id`
        return rows.length > 0
      }),

    finish: (unitId, holder, state, error) =>
      Effect.gen(function* () {
        const at = yield* nowIso
        yield* sql`UPDATE work_units SET state = ${state}, error = ${error ?? null}, lease_expires_ms = NULL,
          updated_at = ${at} WHERE id = ${unitId} AND lease_holder = ${holder}`
      }),

    status: (jobId) =>
      Effect.gen(function* () {
        const ms = yield* Clock.currentTimeMillis
        const rows = yield* sql`SELECT
            sum(CASE WHEN state = 'pending' THEN 1 ELSE 0 END) AS pending,
            sum(CASE WHEN state = 'running' AND lease_expires_ms >= ${ms} THEN 1 ELSE 0 END) AS running,
            sum(CASE WHEN state = 'running' AND lease_expires_ms < ${ms} THEN 1 ELSE 0 END) AS expired,
            sum(CASE WHEN state = 'done' THEN 1 ELSE 0 END) AS done,
            sum(CASE WHEN state = 'failed' THEN 1 ELSE 0 END) AS failed
          FROM work_units ${jobId === undefined ? sql`` : sql`WHERE job_id = ${jobId}`}`
        const [status] = yield* statusRows(rows)
        return status ?? { pending: 0, running: 0, expired: 0, done: 0, failed: 0 }
      }),

    drainedJobs: () =>
      Effect.map(
        Effect.flatMap(
          sql`SELECT j.id FROM jobs j WHERE j.state = 'running'
            AND EXISTS (SELECT 1 FROM work_units u WHERE u.job_id = j.id)
            AND NOT EXISTS (SELECT 1 FROM work_units u WHERE u.job_id = j.id AND u.state IN ('pending', 'running'))`,
          idRows
        ),
        (rows) => rows.map((r) => r.id)
      )
  }
  return WorkQueue.of(finish(database, raw))
})

export const layer = Layer.effect(WorkQueue, make)

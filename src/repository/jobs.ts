/**
 * The `Jobs` service: a run's job record and its partitions (frame, symbol, day), from planned to finished, the
 * closing of jobs whose process died, and `jobs cancel`'s request that a run stop at its next unit. The ledger (what
 * the lake holds) is `Ledger`; queued work is `WorkQueue`.
 */
import { Context, Effect, Layer, Schema } from "effect"
import { SqlClient } from "effect/sql"
import type { RepositoryError } from "../domain/errors.ts"
import { Count, IdRow } from "./internal/columns.ts"
import { chunks, DatabaseName, decodeRows, finish, type Raw } from "./internal/database.ts"
import { nonEmpty, nowIso, partitionKeys, ROWS_PER_STATEMENT } from "./internal/statements.ts"
import {
  type JobKind,
  JobRecord,
  type JobSpec,
  type JobState,
  type JobTotals,
  PartitionRecord,
  type PartitionRef
} from "./model.ts"

/** Which jobs `list` returns: any of these states and any of these kinds (absent or empty: all). */
export interface JobFilter {
  readonly states?: ReadonlyArray<JobState>
  readonly kinds?: ReadonlyArray<JobKind>
}

export interface JobsShape {
  /** Creates a running job and its pending partitions. */
  readonly create: (spec: JobSpec, partitions: ReadonlyArray<PartitionRef>) => Effect.Effect<JobRecord, RepositoryError>
  /** The partitions a unit is about to fetch: running, one more attempt. */
  readonly markRunning: (jobId: number, partitions: ReadonlyArray<PartitionRef>) => Effect.Effect<void, RepositoryError>
  /** Partitions done with nothing to write (a revalidation found the day as the ledger has it): the ledger stays. */
  readonly markUnchanged: (
    jobId: number,
    partitions: ReadonlyArray<PartitionRef>
  ) => Effect.Effect<void, RepositoryError>
  /**
   * Closes a job with its totals: succeeded, partial (some partitions failed), or failed (`error`, or none done);
   * cancelled when `jobs cancel` asked it to stop and some partitions were left unrun.
   */
  readonly finish: (jobId: number, totals: JobTotals, error?: string) => Effect.Effect<JobRecord, RepositoryError>
  /**
   * Jobs left `running` by a process that is gone (crash, kill -9, power loss) become `abandoned` and their
   * unfinished partitions `failed`, so the ledger-driven plan redoes them. Returns the jobs it closed.
   */
  readonly abandonStale: (isAlive: (owner: string) => boolean) => Effect.Effect<ReadonlyArray<number>, RepositoryError>
  /** Closes one running job as `abandonStale` does (`jobs fail`); false when it was not running. */
  readonly abandon: (id: number) => Effect.Effect<boolean, RepositoryError>
  /** Asks a running job to stop at its next unit boundary (`jobs cancel`); false when it is not running. */
  readonly requestCancel: (id: number) => Effect.Effect<boolean, RepositoryError>
  /** Whether `jobs cancel` asked the job to stop: its runners check between units. */
  readonly cancelRequested: (id: number) => Effect.Effect<boolean, RepositoryError>
  readonly get: (id: number) => Effect.Effect<JobRecord | undefined, RepositoryError>
  /** The newest `limit` jobs that pass `filter`, newest first. */
  readonly list: (limit: number, filter?: JobFilter) => Effect.Effect<ReadonlyArray<JobRecord>, RepositoryError>
  readonly partitions: (jobId: number) => Effect.Effect<ReadonlyArray<PartitionRecord>, RepositoryError>
}

export class Jobs extends Context.Service<Jobs, JobsShape>()("marketpipe/Jobs") {}

const jobRows = decodeRows(JobRecord)
const partitionRows = decodeRows(PartitionRecord)
const idRows = decodeRows(IdRow)
const ownerRows = decodeRows(Schema.Struct({ id: Count, owner: Schema.NullOr(Schema.String) }))
const countRows = decodeRows(Schema.Struct({ n: Count }))

/** Sets the state of some of a job's partitions (a few statements, whatever their number). */
export const setPartitions = (
  sql: SqlClient.SqlClient,
  jobId: number,
  refs: ReadonlyArray<PartitionRef>,
  fields: { readonly state: string; readonly error?: string | null; readonly bumpAttempts?: boolean }
) =>
  Effect.gen(function* () {
    const at = yield* nowIso
    for (const part of chunks(refs, ROWS_PER_STATEMENT)) {
      const keyed = partitionKeys(sql, part)
      yield* sql`UPDATE partitions SET state = ${fields.state}, error = ${fields.error ?? null},
        attempts = attempts + ${fields.bumpAttempts === true ? 1 : 0}, updated_at = ${at}
        FROM ${keyed.from} WHERE partitions.job_id = ${jobId} AND ${keyed.matches("partitions")}`
    }
  })

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const database = yield* DatabaseName

  const get = (id: number) =>
    Effect.map(Effect.flatMap(sql`SELECT * FROM jobs WHERE id = ${id}`, jobRows), (rows) => rows[0])

  /** A running job closed as abandoned, its unfinished partitions failed so the ledger-driven plan redoes them. */
  const abandon = (id: number) =>
    sql.withTransaction(
      Effect.gen(function* () {
        const at = yield* nowIso
        const closed = yield* sql`UPDATE jobs SET state = 'abandoned', finished_at = ${at},
          error = 'the process running it stopped before it finished (crash or kill)'
          WHERE id = ${id} AND state = 'running' RETURNING id`
        if (closed.length === 0) return false
        yield* sql`UPDATE partitions SET state = 'failed', error = 'abandoned: the process running it stopped',
          updated_at = ${at} WHERE job_id = ${id} AND state IN ('pending', 'running')`
        return true
      })
    )

  const raw: Raw<JobsShape> = {
    create: (spec, partitions) =>
      sql.withTransaction(
        Effect.gen(function* () {
          const at = yield* nowIso
          const inserted = yield* sql`INSERT INTO jobs ${sql.insert({
            kind: spec.kind,
            provider: spec.provider,
            feed: spec.feed,
            frame: spec.frame,
            session: spec.session,
            symbols: JSON.stringify(spec.symbols),
            start_day: spec.startDay,
            end_day: spec.endDay,
            state: "running",
            owner: spec.owner ?? null,
            created_at: at,
            partitions_total: partitions.length
          })} RETURNING id`
          const id = (yield* idRows(inserted))[0]?.id ?? 0
          for (const part of chunks(partitions, ROWS_PER_STATEMENT)) {
            const rows = nonEmpty(
              part.map((p) => ({
                job_id: id,
                frame: p.frame,
                symbol: p.symbol,
                day: p.day,
                state: "pending",
                updated_at: at
              }))
            )
            if (rows !== undefined) yield* sql`INSERT INTO partitions ${sql.insert(rows)}`
          }
          return (yield* get(id)) as JobRecord
        })
      ),

    markRunning: (jobId, refs) => setPartitions(sql, jobId, refs, { state: "running", bumpAttempts: true }),

    markUnchanged: (jobId, refs) => setPartitions(sql, jobId, refs, { state: "done" }),

    finish: (jobId, totals, error) =>
      Effect.gen(function* () {
        const at = yield* nowIso
        const finished = totals.partitionsDone + totals.partitionsFailed
        const state =
          error !== undefined
            ? "failed"
            : totals.partitionsFailed === 0
              ? "succeeded"
              : totals.partitionsDone === 0
                ? "failed"
                : "partial"
        // A cancel that came after the last unit had started stopped nothing: the job ends as it ran.
        yield* sql`UPDATE jobs SET state = CASE WHEN cancel_requested_at IS NOT NULL
            AND partitions_total > ${finished} THEN 'cancelled' ELSE ${state} END, finished_at = ${at},
          partitions_done = ${totals.partitionsDone}, partitions_failed = ${totals.partitionsFailed},
          bars_written = ${totals.barsWritten}, bars_rejected = ${totals.barsRejected}, error = ${error ?? null}
          WHERE id = ${jobId}`
        return (yield* get(jobId)) as JobRecord
      }),

    abandonStale: (isAlive) =>
      Effect.gen(function* () {
        const running = yield* Effect.flatMap(sql`SELECT id, owner FROM jobs WHERE state = 'running'`, ownerRows)
        const stale = running.filter((r) => r.owner !== null && !isAlive(r.owner)).map((r) => r.id)
        for (const id of stale) yield* abandon(id)
        return stale
      }),

    abandon,

    requestCancel: (id) =>
      Effect.gen(function* () {
        const at = yield* nowIso
        const rows = yield* sql`UPDATE jobs SET cancel_requested_at = COALESCE(cancel_requested_at, ${at})
          WHERE id = ${id} AND state = 'running' RETURNING id`
        return rows.length > 0
      }),

    cancelRequested: (id) =>
      Effect.map(
        Effect.flatMap(
          sql`SELECT count(*) AS n FROM jobs WHERE id = ${id} AND cancel_requested_at IS NOT NULL`,
          countRows
        ),
        (rows) => (rows[0]?.n ?? 0) > 0
      ),

    get,

    list: (limit, filter = {}) =>
      Effect.flatMap(
        sql`SELECT * FROM jobs WHERE ${sql.and([
          ...(filter.states === undefined || filter.states.length === 0
            ? []
            : [sql`state IN ${sql.in(filter.states)}`]),
          ...(filter.kinds === undefined || filter.kinds.length === 0 ? [] : [sql`kind IN ${sql.in(filter.kinds)}`])
        ])} ORDER BY id DESC LIMIT ${limit}`,
        jobRows
      ),

    partitions: (jobId) =>
      Effect.flatMap(sql`SELECT * FROM partitions WHERE job_id = ${jobId} ORDER BY symbol, day`, partitionRows)
  }
  return Jobs.of(finish(database, raw))
})

export const layer = Layer.effect(Jobs, make)

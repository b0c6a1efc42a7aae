/**
 * `JobRepository` over any `effect/sql` client. The SQL is portable (ON CONFLICT upserts, RETURNING), so SQLite and
 * Postgres share this implementation and differ only in their migrations.
 */
import { Clock, Effect, Schedule } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import { RepositoryError } from "../domain/errors.ts"
import type { JobRepositoryShape } from "./job-repository.ts"
import type { CoverageRecord, JobRecord, PartitionRecord, QueuedUnit, ValidationRun } from "./model.ts"

type Row = Record<string, unknown>

/** The shape with the driver's own errors, before they are worded and retried once for every method. */
type SqlShape = {
  readonly [K in keyof JobRepositoryShape]: (
    ...args: Parameters<JobRepositoryShape[K]>
  ) => Effect.Effect<Effect.Success<ReturnType<JobRepositoryShape[K]>>, SqlError.SqlError>
}

/** Another connection held a lock, or the database picked this transaction to abort: trying again can succeed. */
const transient = (e: SqlError.SqlError) =>
  e.reason._tag === "LockTimeoutError" || e.reason._tag === "DeadlockError" || e.reason._tag === "SerializationError"

const retryTransient = Schedule.exponential("50 millis", 2).pipe(Schedule.jittered, Schedule.upTo({ times: 7 }))

/**
 * Every method retried on transient lock failures (each whole: a failed transaction has rolled back) and its errors
 * worded with the database they came from, e.g. `SQLite database /data/marketpipe.db: database or disk is full`.
 */
function finish(raw: SqlShape, database: string): JobRepositoryShape {
  const wrapped: Record<string, unknown> = {}
  for (const [name, method] of Object.entries(raw) as Array<
    [string, (...args: ReadonlyArray<unknown>) => Effect.Effect<unknown, SqlError.SqlError>]
  >) {
    wrapped[name] = (...args: ReadonlyArray<unknown>) =>
      method(...args).pipe(
        Effect.retry({ while: transient, schedule: retryTransient }),
        Effect.mapError((e) => new RepositoryError({ reason: `${database}: ${e.message || e.reason._tag}` }))
      )
  }
  return wrapped as unknown as JobRepositoryShape
}

// Postgres hands back timestamptz as Date, date as Date (midnight UTC) or text, and jsonb parsed; SQLite gives text.
const str = (v: unknown): string => (v instanceof Date ? v.toISOString() : String(v))
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : str(v))
const day = (v: unknown): string => (v instanceof Date ? v.toISOString().slice(0, 10) : String(v).slice(0, 10))
const list = (v: unknown): Array<string> =>
  Array.isArray(v) ? v.map(String) : (JSON.parse(String(v)) as Array<string>)
const num = (v: unknown): number => Number(v)
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v))

const jobFromRow = (r: Row): JobRecord => ({
  id: num(r.id),
  kind: str(r.kind) as JobRecord["kind"],
  provider: str(r.provider),
  feed: str(r.feed),
  frame: str(r.frame),
  session: str(r.session) as JobRecord["session"],
  symbols: list(r.symbols),
  startDay: day(r.start_day),
  endDay: day(r.end_day),
  ...(r.owner === null || r.owner === undefined ? {} : { owner: str(r.owner) }),
  state: str(r.state) as JobRecord["state"],
  createdAt: str(r.created_at),
  finishedAt: strOrNull(r.finished_at),
  partitionsTotal: num(r.partitions_total),
  partitionsDone: num(r.partitions_done),
  partitionsFailed: num(r.partitions_failed),
  barsWritten: num(r.bars_written),
  barsRejected: num(r.bars_rejected),
  error: strOrNull(r.error)
})

const partitionFromRow = (r: Row): PartitionRecord => ({
  jobId: num(r.job_id),
  frame: str(r.frame),
  symbol: str(r.symbol),
  day: day(r.day),
  state: str(r.state) as PartitionRecord["state"],
  rows: numOrNull(r.rows),
  rejected: numOrNull(r.rejected),
  hash: strOrNull(r.hash),
  attempts: num(r.attempts),
  error: strOrNull(r.error),
  updatedAt: str(r.updated_at)
})

const coverageFromRow = (r: Row): CoverageRecord => ({
  frame: str(r.frame),
  symbol: str(r.symbol),
  day: day(r.day),
  session: str(r.session) as CoverageRecord["session"],
  expected: num(r.expected),
  observed: num(r.observed),
  status: str(r.status) as CoverageRecord["status"],
  provider: str(r.provider),
  feed: str(r.feed),
  file: strOrNull(r.file),
  hash: strOrNull(r.hash),
  contentHash: strOrNull(r.content_hash),
  jobId: num(r.job_id),
  updatedAt: str(r.updated_at),
  error: strOrNull(r.error)
})

const unitFromRow = (r: Row): QueuedUnit => ({
  id: num(r.id),
  jobId: num(r.job_id),
  symbols: list(r.symbols),
  frame: str(r.frame),
  period: str(r.period),
  days: list(r.days),
  start: num(r.start_ms),
  end: num(r.end_ms),
  expectedBars: num(r.expected_bars),
  attempts: num(r.attempts)
})

// Keeps every statement under SQLite's and Postgres' bound-parameter limits.
const CHUNK = 200
const chunks = <A>(xs: ReadonlyArray<A>): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < xs.length; i += CHUNK) out.push(xs.slice(i, i + CHUNK))
  return out
}

/** `database` names it in every error (`SQLite database <path>`, `PostgreSQL at <masked url>`). */
export const makeSqlJobRepository = (database: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms).toISOString())

    const getJob = (id: number) =>
      sql<Row>`SELECT * FROM jobs WHERE id = ${id}`.pipe(
        Effect.map((rows) => (rows[0] ? jobFromRow(rows[0]) : undefined))
      )

    const setPartitions = (
      jobId: number,
      refs: ReadonlyArray<{ frame: string; symbol: string; day: string }>,
      fields: { state: string; error?: string | null; bumpAttempts?: boolean }
    ) =>
      Effect.gen(function* () {
        const at = yield* now
        for (const part of chunks(refs)) {
          const days = part.map((r) => `${r.frame}|${r.symbol}|${r.day}`)
          yield* sql`UPDATE partitions SET state = ${fields.state}, error = ${fields.error ?? null},
          attempts = attempts + ${fields.bumpAttempts === true ? 1 : 0}, updated_at = ${at}
          WHERE job_id = ${jobId} AND (frame || '|' || symbol || '|' || day) IN ${sql.in(days)}`
        }
      })

    const validationFromRow = (r: Row) =>
      Effect.map(
        sql<Row>`SELECT rule, severity, count FROM validation_results WHERE job_id = ${num(r.job_id)} ORDER BY severity, count DESC, rule`,
        (totals): ValidationRun => ({
          jobId: num(r.job_id),
          kind: str(r.kind),
          createdAt: str(r.created_at),
          reportCsv: str(r.report_csv),
          reportJson: str(r.report_json),
          findings: num(r.findings),
          errors: num(r.errors),
          warnings: num(r.warnings),
          totals: totals.map((t) => ({ rule: str(t.rule), severity: str(t.severity), count: num(t.count) }))
        })
      )

    const repo: SqlShape = {
      createJob: (spec, partitions) =>
        sql.withTransaction(
          Effect.gen(function* () {
            const at = yield* now
            const inserted = yield* sql<Row>`INSERT INTO jobs ${sql.insert({
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
            const id = num(inserted[0]?.id)
            for (const part of chunks(partitions)) {
              const rows = part.map((p) => ({
                job_id: id,
                frame: p.frame,
                symbol: p.symbol,
                day: p.day,
                state: "pending",
                updated_at: at
              }))
              const [first, ...rest] = rows
              if (first) yield* sql`INSERT INTO partitions ${sql.insert([first, ...rest])}`
            }
            return jobFromRow((yield* sql<Row>`SELECT * FROM jobs WHERE id = ${id}`)[0] as Row)
          })
        ),

      markRunning: (jobId, refs) => setPartitions(jobId, refs, { state: "running", bumpAttempts: true }),

      recordDone: (jobId, source, results) =>
        sql.withTransaction(
          Effect.gen(function* () {
            const at = yield* now
            for (const r of results) {
              yield* sql`UPDATE partitions SET state = 'done', rows = ${r.rows}, rejected = ${r.rejected},
                hash = ${r.hash}, error = NULL, updated_at = ${at}
                WHERE job_id = ${jobId} AND frame = ${r.frame} AND symbol = ${r.symbol} AND day = ${r.day}`
              yield* sql`INSERT INTO coverage ${sql.insert({
                frame: r.frame,
                symbol: r.symbol,
                day: r.day,
                session: source.session,
                expected: r.expected,
                observed: r.rows,
                status: r.status,
                provider: source.provider,
                feed: source.feed,
                file: r.file,
                hash: r.hash,
                content_hash: r.contentHash,
                job_id: jobId,
                updated_at: at
              })} ON CONFLICT (frame, symbol, day) DO UPDATE SET session = excluded.session,
                expected = excluded.expected, observed = excluded.observed, status = excluded.status,
                provider = excluded.provider, feed = excluded.feed, file = excluded.file, hash = excluded.hash,
                content_hash = excluded.content_hash, job_id = excluded.job_id, updated_at = excluded.updated_at,
                error = NULL`
            }
          })
        ),

      recordFailed: (jobId, source, refs, error) =>
        sql.withTransaction(
          Effect.gen(function* () {
            yield* setPartitions(jobId, refs, { state: "failed", error })
            const at = yield* now
            for (const r of refs) {
              // A failed refetch never downgrades data the ledger already has.
              yield* sql`INSERT INTO coverage ${sql.insert({
                frame: r.frame,
                symbol: r.symbol,
                day: r.day,
                session: source.session,
                expected: 0,
                observed: 0,
                status: "missing",
                provider: source.provider,
                feed: source.feed,
                file: null,
                hash: null,
                job_id: jobId,
                updated_at: at,
                error
              })} ON CONFLICT (frame, symbol, day) DO UPDATE SET error = excluded.error, updated_at = excluded.updated_at,
                job_id = CASE WHEN coverage.status = 'missing' THEN excluded.job_id ELSE coverage.job_id END`
            }
          })
        ),

      markMissing: (refs, reason) =>
        sql.withTransaction(
          Effect.gen(function* () {
            const at = yield* now
            for (const part of chunks(refs)) {
              const keys = part.map((r) => `${r.frame}|${r.symbol}|${r.day}`)
              yield* sql`UPDATE coverage SET status = 'missing', observed = 0, file = NULL, hash = NULL,
              content_hash = NULL, error = ${reason}, updated_at = ${at}
              WHERE (frame || '|' || symbol || '|' || day) IN ${sql.in(keys)}`
            }
          })
        ),

      recordValidation: (run) =>
        sql.withTransaction(
          Effect.gen(function* () {
            const at = yield* now
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
            for (const t of run.totals) {
              yield* sql`INSERT INTO validation_results ${sql.insert({ job_id: run.jobId, rule: t.rule, severity: t.severity, count: t.count })}`
            }
          })
        ),

      listValidations: (limit) =>
        Effect.gen(function* () {
          const runs = yield* sql<Row>`SELECT * FROM validation_runs ORDER BY job_id DESC LIMIT ${limit}`
          return yield* Effect.forEach(runs, (r) => validationFromRow(r))
        }),

      getValidation: (jobId) =>
        Effect.gen(function* () {
          const runs = yield* sql<Row>`SELECT * FROM validation_runs WHERE job_id = ${jobId}`
          return runs[0] === undefined ? undefined : yield* validationFromRow(runs[0])
        }),

      enqueueUnits: (jobId, units) =>
        sql.withTransaction(
          Effect.gen(function* () {
            const at = yield* now
            for (const u of units) {
              yield* sql`INSERT INTO work_units ${sql.insert({
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
              })}`
            }
          })
        ),

      claimUnit: (holder, leaseMs) =>
        Effect.gen(function* () {
          const at = yield* now
          const ms = yield* Clock.currentTimeMillis
          const pick = sql.onDialectOrElse({
            pg: () => sql`SELECT id FROM work_units WHERE state = 'pending' OR (state = 'running' AND lease_expires_ms < ${ms})
            ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED`,
            orElse:
              () => sql`SELECT id FROM work_units WHERE state = 'pending' OR (state = 'running' AND lease_expires_ms < ${ms})
            ORDER BY id LIMIT 1`
          })
          const rows = yield* sql<Row>`UPDATE work_units SET state = 'running', lease_holder = ${holder},
          lease_expires_ms = ${ms + leaseMs}, attempts = attempts + 1, updated_at = ${at}
          WHERE id = (${pick}) RETURNING *`
          const r = rows[0]
          return r === undefined ? undefined : unitFromRow(r)
        }),

      renewLease: (unitId, holder, leaseMs) =>
        Effect.gen(function* () {
          const ms = yield* Clock.currentTimeMillis
          const rows = yield* sql<Row>`UPDATE work_units SET lease_expires_ms = ${ms + leaseMs}
          WHERE id = ${unitId} AND lease_holder = ${holder} AND state = 'running' RETURNING id`
          return rows.length > 0
        }),

      finishUnit: (unitId, holder, state, error) =>
        Effect.gen(function* () {
          const at = yield* now
          yield* sql`UPDATE work_units SET state = ${state}, error = ${error ?? null}, lease_expires_ms = NULL, updated_at = ${at}
          WHERE id = ${unitId} AND lease_holder = ${holder}`
        }),

      queueStatus: (jobId) =>
        Effect.gen(function* () {
          const ms = yield* Clock.currentTimeMillis
          const rows = yield* sql<Row>`SELECT
            sum(CASE WHEN state = 'pending' THEN 1 ELSE 0 END) AS pending,
            sum(CASE WHEN state = 'running' AND lease_expires_ms >= ${ms} THEN 1 ELSE 0 END) AS running,
            sum(CASE WHEN state = 'running' AND lease_expires_ms < ${ms} THEN 1 ELSE 0 END) AS expired,
            sum(CASE WHEN state = 'done' THEN 1 ELSE 0 END) AS done,
            sum(CASE WHEN state = 'failed' THEN 1 ELSE 0 END) AS failed
          FROM work_units ${jobId === undefined ? sql`` : sql`WHERE job_id = ${jobId}`}`
          const r = rows[0] ?? {}
          return {
            pending: Number(r.pending ?? 0),
            running: Number(r.running ?? 0),
            expired: Number(r.expired ?? 0),
            done: Number(r.done ?? 0),
            failed: Number(r.failed ?? 0)
          }
        }),

      recordMetricSamples: (runId, samples) =>
        sql.withTransaction(
          Effect.gen(function* () {
            const at = yield* now
            for (const part of chunks(samples)) {
              const rows = part.map((m) => ({
                run_id: runId,
                recorded_at: at,
                name: m.name,
                labels: JSON.stringify(m.labels),
                provider: m.labels.provider ?? null,
                feed: m.labels.feed ?? null,
                value: m.value
              }))
              const [first, ...rest] = rows
              if (first) yield* sql`INSERT INTO metrics_samples ${sql.insert([first, ...rest])}`
            }
          })
        ),

      metricTotals: (filter) =>
        sql<Row>`SELECT name, labels, sum(value) AS value, count(DISTINCT run_id) AS runs FROM metrics_samples
          WHERE 1 = 1 ${filter.name === undefined ? sql`` : sql`AND name = ${filter.name}`}
          ${filter.since === undefined ? sql`` : sql`AND recorded_at >= ${filter.since}`}
          GROUP BY name, labels ORDER BY name, labels`.pipe(
          Effect.map((rows) =>
            rows.map((r) => ({
              name: str(r.name),
              labels: (typeof r.labels === "string" ? JSON.parse(r.labels) : r.labels) as Record<string, string>,
              value: num(r.value),
              runs: num(r.runs)
            }))
          )
        ),

      coverageSummary: () =>
        sql<Row>`SELECT provider, feed, frame, sum(observed) AS observed, sum(expected) AS expected,
          max(CASE WHEN status = 'complete' THEN day END) AS newest
          FROM coverage GROUP BY provider, feed, frame ORDER BY provider, feed, frame`.pipe(
          Effect.map((rows) =>
            rows.map((r) => ({
              provider: str(r.provider),
              feed: str(r.feed),
              frame: str(r.frame),
              observed: num(r.observed),
              expected: num(r.expected),
              newestComplete: r.newest === null || r.newest === undefined ? null : day(r.newest)
            }))
          )
        ),

      drainedJobs: () =>
        sql<Row>`SELECT j.id FROM jobs j WHERE j.state = 'running'
          AND EXISTS (SELECT 1 FROM work_units u WHERE u.job_id = j.id)
          AND NOT EXISTS (SELECT 1 FROM work_units u WHERE u.job_id = j.id AND u.state IN ('pending', 'running'))`.pipe(
          Effect.map((rows) => rows.map((r) => num(r.id)))
        ),

      abandonStale: (isAlive) =>
        Effect.gen(function* () {
          const running = yield* sql<Row>`SELECT id, owner FROM jobs WHERE state = 'running'`
          const stale = running
            .filter((r) => r.owner !== null && r.owner !== undefined && !isAlive(str(r.owner)))
            .map((r) => num(r.id))
          const at = yield* now
          for (const id of stale) {
            yield* sql.withTransaction(
              Effect.gen(function* () {
                yield* sql`UPDATE partitions SET state = 'failed', error = 'abandoned: the process running it stopped', updated_at = ${at}
                WHERE job_id = ${id} AND state IN ('pending', 'running')`
                yield* sql`UPDATE jobs SET state = 'abandoned', finished_at = ${at},
                error = 'the process running it stopped before it finished (crash or kill)' WHERE id = ${id}`
              })
            )
          }
          return stale
        }),

      finishJob: (jobId, totals, error) =>
        Effect.gen(function* () {
          const at = yield* now
          const state =
            error !== undefined
              ? "failed"
              : totals.partitionsFailed === 0
                ? "succeeded"
                : totals.partitionsDone === 0
                  ? "failed"
                  : "partial"
          yield* sql`UPDATE jobs SET state = ${state}, finished_at = ${at},
          partitions_done = ${totals.partitionsDone}, partitions_failed = ${totals.partitionsFailed},
          bars_written = ${totals.barsWritten}, bars_rejected = ${totals.barsRejected}, error = ${error ?? null}
          WHERE id = ${jobId}`
          return (yield* getJob(jobId)) as JobRecord
        }),

      listJobs: (limit) =>
        sql<Row>`SELECT * FROM jobs ORDER BY id DESC LIMIT ${limit}`.pipe(Effect.map((rows) => rows.map(jobFromRow))),

      getJob: (id) => getJob(id),

      partitions: (jobId) =>
        sql<Row>`SELECT * FROM partitions WHERE job_id = ${jobId} ORDER BY symbol, day`.pipe(
          Effect.map((rows) => rows.map(partitionFromRow))
        ),

      coverage: (q) =>
        sql<Row>`SELECT * FROM coverage WHERE frame = ${q.frame} AND day >= ${q.from} AND day <= ${q.to}
        ${q.symbols.length > 0 ? sql`AND symbol IN ${sql.in(q.symbols)}` : sql``} ORDER BY symbol, day`.pipe(
          Effect.map((rows) => rows.map(coverageFromRow))
        )
    }
    return finish(repo, database)
  })

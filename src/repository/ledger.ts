/**
 * The `Ledger` service: per (frame, symbol, trading day), what the lake holds — expected and observed bars, status,
 * source, file and content hashes — written with the job partition it came from, in one transaction, only after
 * the file is in place. Read by the plan (what to fetch), aggregation, `ledger` and `ledger verify`.
 */
import { Context, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import type { RepositoryError } from "../domain/errors.ts"
import { chunks, DatabaseName, decodeRows, finish, type Raw } from "./internal/database.ts"
import { keyedValues, nonEmpty, nowIso, partitionKeys, ROWS_PER_STATEMENT } from "./internal/statements.ts"
import { setPartitions } from "./jobs.ts"
import { type BarSource, CoverageRecord, CoverageSummary, type PartitionRef, type PartitionResult } from "./model.ts"

export interface LedgerShape {
  /** Marks partitions done and records them in the ledger, in one transaction, after their file is in place. */
  readonly recordDone: (
    jobId: number,
    source: BarSource,
    results: ReadonlyArray<PartitionResult>
  ) => Effect.Effect<void, RepositoryError>
  /**
   * The same for results from several sources (a 1m day and the higher frames built from it, or derived days of
   * different providers), all in one transaction: the ledger never holds half of what one write put in place.
   */
  readonly recordDoneGroups: (jobId: number, groups: ReadonlyArray<DoneGroup>) => Effect.Effect<void, RepositoryError>
  /** Marks partitions failed; the ledger gets `missing` with the reason where it had nothing better. */
  readonly recordFailed: (
    jobId: number,
    source: BarSource,
    partitions: ReadonlyArray<PartitionRef>,
    error: string
  ) => Effect.Effect<void, RepositoryError>
  /**
   * Withdraws ledger claims the lake cannot back (`ledger verify --repair`): the days become `missing` with the
   * reason, so the next backfill fetches them and aggregation rebuilds derived days.
   */
  readonly markMissing: (refs: ReadonlyArray<PartitionRef>, reason: string) => Effect.Effect<void, RepositoryError>
  /**
   * Drops the ledger rows of days the lake no longer keeps (`prune parquet`): not missing, not wanted. Call it
   * before the bars go (a crash between leaves bars the ledger does not claim, never the reverse) and again under the
   * file's lock once they are gone, for a day a writer recorded in between.
   */
  readonly forget: (refs: ReadonlyArray<PartitionRef>) => Effect.Effect<number, RepositoryError>
  readonly coverage: (query: {
    readonly frame: string
    readonly symbols: ReadonlyArray<string>
    readonly from: string
    readonly to: string
  }) => Effect.Effect<ReadonlyArray<CoverageRecord>, RepositoryError>
  /** The ledger summed per provider, feed and frame. */
  readonly summary: () => Effect.Effect<ReadonlyArray<CoverageSummary>, RepositoryError>
}

/** Partitions done from one source (provider, feed, session). */
export interface DoneGroup {
  readonly source: BarSource
  readonly results: ReadonlyArray<PartitionResult>
}

export class Ledger extends Context.Service<Ledger, LedgerShape>()("marketpipe/Ledger") {}

const coverageRows = decodeRows(CoverageRecord)
const summaryRows = decodeRows(CoverageSummary)

/** One entry per (frame, symbol, day), the last one winning (an upsert may touch a row only once per statement). */
const lastPerKey = <A extends PartitionRef>(rows: ReadonlyArray<A>): ReadonlyArray<A> => {
  const byKey = new Map<string, A>()
  for (const r of rows) byKey.set(`${r.frame}|${r.symbol}|${r.day}`, r)
  return byKey.size === rows.length ? rows : [...byKey.values()]
}

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const database = yield* DatabaseName

  const recordGroups = (jobId: number, groups: ReadonlyArray<DoneGroup>) =>
    Effect.gen(function* () {
      const at = yield* nowIso
      for (const { source, results } of groups) {
        for (const part of chunks(lastPerKey(results), ROWS_PER_STATEMENT)) {
          const keyed = keyedValues(
            sql,
            part.map((r) => [r.frame, r.symbol, r.day, r.rows, r.rejected, r.hash] as const)
          )
          yield* sql`UPDATE partitions SET state = 'done', rows = CAST(v.column4 AS INTEGER),
              rejected = CAST(v.column5 AS INTEGER), hash = CAST(v.column6 AS TEXT), error = NULL, updated_at = ${at}
              FROM ${keyed.from} WHERE partitions.job_id = ${jobId} AND ${keyed.matches("partitions")}`
          const rows = nonEmpty(
            part.map((r) => ({
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
              updated_at: at,
              filled_for: r.filledFor ?? null
            }))
          )
          if (rows === undefined) continue
          yield* sql`INSERT INTO coverage ${sql.insert(rows)} ON CONFLICT (frame, symbol, day) DO UPDATE SET
              session = excluded.session, expected = excluded.expected, observed = excluded.observed,
              status = excluded.status, provider = excluded.provider, feed = excluded.feed, file = excluded.file,
              hash = excluded.hash, content_hash = excluded.content_hash, job_id = excluded.job_id,
              updated_at = excluded.updated_at, error = NULL, filled_for = excluded.filled_for`
        }
      }
    })

  const raw: Raw<LedgerShape> = {
    recordDone: (jobId, source, results) => sql.withTransaction(recordGroups(jobId, [{ source, results }])),

    recordDoneGroups: (jobId, groups) => sql.withTransaction(recordGroups(jobId, groups)),

    recordFailed: (jobId, source, refs, error) =>
      sql.withTransaction(
        Effect.gen(function* () {
          yield* setPartitions(sql, jobId, refs, { state: "failed", error })
          const at = yield* nowIso
          for (const part of chunks(lastPerKey(refs), ROWS_PER_STATEMENT)) {
            const rows = nonEmpty(
              part.map((r) => ({
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
              }))
            )
            if (rows === undefined) continue
            // A failed refetch never downgrades data the ledger already has.
            yield* sql`INSERT INTO coverage ${sql.insert(rows)} ON CONFLICT (frame, symbol, day) DO UPDATE SET
              error = excluded.error, updated_at = excluded.updated_at,
              job_id = CASE WHEN coverage.status = 'missing' THEN excluded.job_id ELSE coverage.job_id END`
          }
        })
      ),

    markMissing: (refs, reason) =>
      sql.withTransaction(
        Effect.gen(function* () {
          const at = yield* nowIso
          for (const part of chunks(refs, ROWS_PER_STATEMENT)) {
            const keyed = partitionKeys(sql, part)
            yield* sql`UPDATE coverage SET status = 'missing', observed = 0, file = NULL, hash = NULL,
              content_hash = NULL, error = ${reason}, updated_at = ${at}
              FROM ${keyed.from} WHERE ${keyed.matches("coverage")}`
          }
        })
      ),

    forget: (refs) =>
      sql.withTransaction(
        Effect.gen(function* () {
          const bySymbol = new Map<string, Array<string>>()
          for (const r of refs) {
            const k = `${r.frame}|${r.symbol}`
            bySymbol.set(k, [...(bySymbol.get(k) ?? []), r.day])
          }
          let removed = 0
          for (const [k, days] of bySymbol) {
            const [frame, symbol] = k.split("|") as [string, string]
            for (const part of chunks(days, ROWS_PER_STATEMENT)) {
              const gone = yield* sql<{ n: number }>`DELETE FROM coverage
                WHERE frame = ${frame} AND symbol = ${symbol} AND day IN ${sql.in(part)} RETURNING 1 AS n`
              removed += gone.length
            }
          }
          return removed
        })
      ),

    coverage: (q) =>
      Effect.flatMap(
        sql`SELECT * FROM coverage WHERE frame = ${q.frame} AND day >= ${q.from} AND day <= ${q.to}
          ${q.symbols.length > 0 ? sql`AND symbol IN ${sql.in(q.symbols)}` : sql``} ORDER BY symbol, day`,
        coverageRows
      ),

    summary: () =>
      Effect.flatMap(
        sql`SELECT provider, feed, frame, sum(observed) AS observed, sum(expected) AS expected,
          max(CASE WHEN status = 'complete' THEN day END) AS newest
          FROM coverage GROUP BY provider, feed, frame ORDER BY provider, feed, frame`,
        summaryRows
      )
  }
  return Ledger.of(finish(database, raw))
})

export const layer = Layer.effect(Ledger, make)

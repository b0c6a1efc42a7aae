/**
 * The `MetricHistory` service: each run's counter values, kept so totals survive the process — `metrics show`, and
 * `metrics serve` starting from what past runs counted.
 */
import { Context, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import type { RepositoryError } from "../domain/errors.ts"
import { chunks, DatabaseName, decodeRows, finish, type Raw } from "./internal/database.ts"
import { nonEmpty, nowIso, ROWS_PER_STATEMENT } from "./internal/statements.ts"
import { type MetricSample, MetricTotal } from "./model.ts"

export interface MetricHistoryShape {
  /** Stores one run's counter values. */
  readonly record: (runId: string, samples: ReadonlyArray<MetricSample>) => Effect.Effect<void, RepositoryError>
  /** Counter totals over stored runs, per name and label set; optionally one metric, or samples since an instant. */
  readonly totals: (filter: {
    readonly name?: string
    readonly since?: string
  }) => Effect.Effect<ReadonlyArray<MetricTotal>, RepositoryError>
}

export class MetricHistory extends Context.Service<MetricHistory, MetricHistoryShape>()("marketpipe/MetricHistory") {}

const totalRows = decodeRows(MetricTotal)

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const database = yield* DatabaseName

  const raw: Raw<MetricHistoryShape> = {
    record: (runId, samples) =>
      sql.withTransaction(
        Effect.gen(function* () {
          const at = yield* nowIso
          for (const part of chunks(samples, ROWS_PER_STATEMENT)) {
            const rows = nonEmpty(
              part.map((m) => ({
                run_id: runId,
                recorded_at: at,
                name: m.name,
                labels: JSON.stringify(m.labels),
                provider: m.labels.provider ?? null,
                feed: m.labels.feed ?? null,
                value: m.value
              }))
            )
            if (rows !== undefined) yield* sql`INSERT INTO metrics_samples ${sql.insert(rows)}`
          }
        })
      ),

    totals: (filter) =>
      Effect.flatMap(
        sql`SELECT name, labels, sum(value) AS value, count(DISTINCT run_id) AS runs FROM metrics_samples
          WHERE 1 = 1 ${filter.name === undefined ? sql`` : sql`AND name = ${filter.name}`}
          ${filter.since === undefined ? sql`` : sql`AND recorded_at >= ${filter.since}`}
          GROUP BY name, labels ORDER BY name, labels`,
        totalRows
      )
  }
  return MetricHistory.of(finish(database, raw))
})

export const layer = Layer.effect(MetricHistory, make)

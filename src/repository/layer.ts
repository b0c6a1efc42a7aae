/**
 * Chooses the repository backend from `database_url`: `sqlite:<path>` (the default, `<data_dir>/marketpipe.db`) or
 * `postgres://…`, and builds every repository service over that one client. Opening the database runs pending
 * migrations (under a lock, so workers may start together).
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted } from "effect"
import { Reactivity } from "effect/reactivity"
import { SqlClient } from "effect/sql"
import { ALLOWED_DATABASE_URLS, maskedUrl, sqlitePath } from "../config/database-url.ts"
import { schemaOf } from "../config/dataset.ts"
import { RepositoryError, shown } from "../domain/errors.ts"
import { LakeVersionLog } from "../lake/version-log.ts"
import * as CorporateActionsSql from "./corporate-actions.ts"
import * as FileVersionsSql from "./file-versions.ts"
import * as HistoryRetentionSql from "./history-retention.ts"
import { DatabaseName } from "./internal/database.ts"
import * as JobsSql from "./jobs.ts"
import * as LedgerSql from "./ledger.ts"
import * as MetricHistorySql from "./metric-history.ts"
import { migratePostgres } from "./postgres/migrations.ts"
import * as RevisionsSql from "./revisions.ts"
import * as SqliteClient from "./sqlite/client.ts"
import { migrateSqlite } from "./sqlite/migrations.ts"
import * as SymbolSnapshotsSql from "./symbol-snapshots.ts"
import * as UniversesSql from "./universes.ts"
import * as ValidationRunsSql from "./validation-runs.ts"
import * as WorkQueueSql from "./work-queue.ts"

export { maskedUrl, sqlitePath }

/** Every repository service; one layer provides them all. */
export type Repository =
  | JobsSql.Jobs
  | LedgerSql.Ledger
  | WorkQueueSql.WorkQueue
  | ValidationRunsSql.ValidationRuns
  | MetricHistorySql.MetricHistory
  | UniversesSql.Universes
  | SymbolSnapshotsSql.SymbolSnapshots
  | HistoryRetentionSql.HistoryRetention
  | FileVersionsSql.FileVersions
  | RevisionsSql.Revisions
  | CorporateActionsSql.CorporateActions
  | LakeVersionLog

/** The services over a migrated client, named for error messages. */
export const servicesLayer: Layer.Layer<Repository, never, SqlClient.SqlClient | DatabaseName> = Layer.mergeAll(
  JobsSql.layer,
  LedgerSql.layer,
  WorkQueueSql.layer,
  ValidationRunsSql.layer,
  MetricHistorySql.layer,
  UniversesSql.layer,
  SymbolSnapshotsSql.layer,
  HistoryRetentionSql.layer,
  FileVersionsSql.layer,
  RevisionsSql.layer,
  CorporateActionsSql.layer,
  // The lake's writers record file versions through this; a sink built without the repository keeps none.
  Layer.effect(LakeVersionLog, FileVersionsSql.make)
)

/**
 * Fresh: layers are shared by identity within a build, and `servicesLayer` is one value, so two repositories built
 * together (a run's and a dataset's) would otherwise both get the services of the first client.
 */
const connected = (database: string, client: Layer.Layer<SqlClient.SqlClient, RepositoryError>) =>
  Layer.fresh(servicesLayer).pipe(Layer.provide(Layer.merge(client, Layer.succeed(DatabaseName, database))))

export const sqliteLayer = (
  path: string,
  options?: SqliteClient.SqliteOptions
): Layer.Layer<Repository, RepositoryError> =>
  connected(
    `SQLite database ${path}`,
    Layer.effect(
      SqlClient.SqlClient,
      Effect.gen(function* () {
        const client = yield* SqliteClient.make(path, options)
        // Another process may be writing (or migrating the same fresh file): wait for it rather than fail.
        yield* SqliteClient.retryLocked(migrateSqlite.pipe(Effect.provideService(SqlClient.SqlClient, client)))
        return client
      }).pipe(
        Effect.provide(Reactivity.layer),
        Effect.mapError((e) => new RepositoryError({ reason: `SQLite database ${path}: ${e.message}` }))
      )
    )
  )

export const postgresLayer = (given: string): Layer.Layer<Repository, RepositoryError> => {
  // A dataset's repository is a schema of its own in the same database: the driver never sees the parameter.
  const { url, schema, bad } = schemaOf(given)
  if (bad !== undefined) {
    return Layer.effectContext(Effect.fail(new RepositoryError({ reason: `PostgreSQL at ${maskedUrl(url)}: ${bad}` })))
  }
  return connected(
    `PostgreSQL at ${maskedUrl(url)}${schema === undefined ? "" : ` (schema ${schema})`}`,
    Layer.effect(
      SqlClient.SqlClient,
      Effect.gen(function* () {
        const client = yield* PgClient.make({
          url: Redacted.make(url),
          connectTimeout: "10 seconds",
          applicationName: "marketpipe",
          ...(schema === undefined ? {} : { startupParameters: { search_path: schema } })
        })
        if (schema !== undefined) yield* client.unsafe(`CREATE SCHEMA IF NOT EXISTS ${schema}`)
        yield* migratePostgres.pipe(Effect.provideService(SqlClient.SqlClient, client))
        return client
      }).pipe(
        Effect.provide(Reactivity.layer),
        Effect.mapError(
          (e) =>
            new RepositoryError({
              reason: `PostgreSQL at ${maskedUrl(url)}: ${e.message.split(url).join(maskedUrl(url))}`
            })
        )
      )
    )
  )
}

/** SQLite for `sqlite:` URLs (the default), PostgreSQL for `postgres://` and `postgresql://`; nothing else. */
export const repositoryLayer = (databaseUrl: string): Layer.Layer<Repository, RepositoryError> =>
  /^postgres(ql)?:\/\//u.test(databaseUrl)
    ? postgresLayer(databaseUrl)
    : databaseUrl.startsWith("sqlite:")
      ? sqliteLayer(sqlitePath(databaseUrl))
      : Layer.effectContext(
          Effect.fail(
            new RepositoryError({
              reason: `unsupported database URL ${shown(maskedUrl(databaseUrl))}; use ${ALLOWED_DATABASE_URLS}`
            })
          )
        )

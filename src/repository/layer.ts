/**
 * Chooses the repository backend from `database_url`: `sqlite:<path>` (the default, `<data_dir>/marketpipe.db`) or
 * `postgres://…`. Opening the database runs pending migrations (under a lock, so workers may start together).
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted } from "effect"
import { Reactivity } from "effect/reactivity"
import { SqlClient } from "effect/sql"
import { ALLOWED_DATABASE_URLS, maskedUrl, sqlitePath } from "../config/database-url.ts"
import { RepositoryError, shown } from "../domain/errors.ts"
import { JobRepository } from "./job-repository.ts"
import { migratePostgres } from "./postgres/migrations.ts"
import { makeSqlJobRepository } from "./sql-job-repository.ts"
import * as SqliteClient from "./sqlite/client.ts"
import { migrateSqlite } from "./sqlite/migrations.ts"

export { maskedUrl, sqlitePath }

export const sqliteLayer = (
  path: string,
  options?: SqliteClient.SqliteOptions
): Layer.Layer<JobRepository, RepositoryError> =>
  Layer.effect(
    JobRepository,
    Effect.gen(function* () {
      const client = yield* SqliteClient.make(path, options)
      // Another process may be writing (or migrating the same fresh file): wait for it rather than fail.
      yield* SqliteClient.retryLocked(migrateSqlite.pipe(Effect.provideService(SqlClient.SqlClient, client)))
      return yield* makeSqlJobRepository(`SQLite database ${path}`).pipe(
        Effect.provideService(SqlClient.SqlClient, client)
      )
    }).pipe(
      Effect.provide(Reactivity.layer),
      Effect.mapError((e) => new RepositoryError({ reason: `SQLite database ${path}: ${e.message}` }))
    )
  )

export const postgresLayer = (url: string): Layer.Layer<JobRepository, RepositoryError> =>
  Layer.effect(
    JobRepository,
    Effect.gen(function* () {
      const client = yield* PgClient.make({
        url: Redacted.make(url),
        connectTimeout: "10 seconds",
        applicationName: "marketpipe"
      })
      yield* migratePostgres.pipe(Effect.provideService(SqlClient.SqlClient, client))
      return yield* makeSqlJobRepository(`PostgreSQL at ${maskedUrl(url)}`).pipe(
        Effect.provideService(SqlClient.SqlClient, client)
      )
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

/** SQLite for `sqlite:` URLs (the default), PostgreSQL for `postgres://` and `postgresql://`; nothing else. */
export const repositoryLayer = (databaseUrl: string): Layer.Layer<JobRepository, RepositoryError> =>
  /^postgres(ql)?:\/\//u.test(databaseUrl)
    ? postgresLayer(databaseUrl)
    : databaseUrl.startsWith("sqlite:")
      ? sqliteLayer(sqlitePath(databaseUrl))
      : Layer.effect(
          JobRepository,
          Effect.fail(
            new RepositoryError({
              reason: `unsupported database URL ${shown(maskedUrl(databaseUrl))}; use ${ALLOWED_DATABASE_URLS}`
            })
          )
        )

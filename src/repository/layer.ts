/**
 * Chooses the repository backend from `database_url`: `sqlite:<path>` (the default, `<data_dir>/marketpipe.db`) or
 * `postgres://…`. Opening the database runs pending migrations (under a lock, so workers may start together).
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted } from "effect"
import { Reactivity } from "effect/reactivity"
import { SqlClient } from "effect/sql"
import { RepositoryError } from "../domain/errors.ts"
import { JobRepository } from "./job-repository.ts"
import { migratePostgres } from "./postgres/migrations.ts"
import { makeSqlJobRepository } from "./sql-job-repository.ts"
import * as SqliteClient from "./sqlite/client.ts"
import { migrateSqlite } from "./sqlite/migrations.ts"

/** The SQLite file a `sqlite:` URL names (`sqlite::memory:` for an in-memory database). */
export const sqlitePath = (url: string): string => url.replace(/^sqlite:(\/\/)?/u, "")

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

/** `postgres://user:***@host/db`: the URL as it may be shown. */
export const maskedUrl = (url: string): string => url.replace(/^(\w+:\/\/[^:/@]+:)[^@]*@/u, "$1***@")

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

/** SQLite for `sqlite:` URLs (the default), PostgreSQL for `postgres://` and `postgresql://`. */
export const repositoryLayer = (databaseUrl: string): Layer.Layer<JobRepository, RepositoryError> =>
  /^postgres(ql)?:\/\//u.test(databaseUrl) ? postgresLayer(databaseUrl) : sqliteLayer(sqlitePath(databaseUrl))

/**
 * Chooses the repository backend from `database_url`: `sqlite:<path>` (the default, `<data_dir>/marketpipe.db`) or,
 * once its layer lands, `postgres://`. Opening the database runs pending migrations.
 */
import { Effect, Layer } from "effect"
import { Reactivity } from "effect/reactivity"
import { SqlClient } from "effect/sql"
import { RepositoryError } from "../domain/errors.ts"
import { JobRepository } from "./job-repository.ts"
import { makeSqlJobRepository } from "./sql-job-repository.ts"
import * as SqliteClient from "./sqlite/client.ts"
import { migrateSqlite } from "./sqlite/migrations.ts"

/** The SQLite file a `sqlite:` URL names (`sqlite::memory:` for an in-memory database). */
export const sqlitePath = (url: string): string => url.replace(/^sqlite:(\/\/)?/u, "")

export const sqliteLayer = (path: string): Layer.Layer<JobRepository, RepositoryError> =>
  Layer.effect(
    JobRepository,
    Effect.gen(function* () {
      const client = yield* SqliteClient.make(path)
      yield* migrateSqlite.pipe(Effect.provideService(SqlClient.SqlClient, client))
      return yield* makeSqlJobRepository.pipe(Effect.provideService(SqlClient.SqlClient, client))
    }).pipe(
      Effect.provide(Reactivity.layer),
      Effect.mapError((e) => new RepositoryError({ reason: `SQLite database ${path}: ${e.message}` }))
    )
  )

export const repositoryLayer = (databaseUrl: string): Layer.Layer<JobRepository, RepositoryError> =>
  sqliteLayer(sqlitePath(databaseUrl))

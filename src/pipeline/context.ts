/**
 * What a run needs from its surroundings: the loaded config, the trading calendar and a way to get a provider's
 * plugin. The CLI builds it from flags and the environment; the pipeline never reads either itself.
 */
import { existsSync } from "node:fs"
import { type Effect, Layer } from "effect"
import type { LoadedConfig } from "../config/load.ts"
import type { TradingCalendar } from "../domain/calendar.ts"
import type { RepositoryError, UsageError } from "../domain/errors.ts"
import { type ParquetSink, threadedParquetSinkLayer } from "../lake/parquet-sink.ts"
import type { ProviderPlugin } from "../providers/contract.ts"
import { type Repository, repositoryLayer, sqlitePath } from "../repository/layer.ts"

export interface RunContext {
  readonly loaded: LoadedConfig
  readonly calendar: TradingCalendar
  /** A provider's plugin by name (importing a configured plugin only when asked, see `cli/app.ts`). */
  readonly plugin: (name: string) => Effect.Effect<ProviderPlugin, UsageError>
}

export type Storage = Repository | ParquetSink

/**
 * The layers that read and write the lake and the repository. Lake writes run on the lake writer threads
 * (`lake/write-pool.ts`): started by the first write, stopped when the layer is released.
 */
export const storageLayer = (ctx: Pick<RunContext, "loaded">): Layer.Layer<Storage, RepositoryError> =>
  threadedParquetSinkLayer(ctx.loaded.dataDir).pipe(Layer.provideMerge(repositoryLayer(ctx.loaded.databaseUrl)))

/** Whether the run's SQLite database has not been created yet (Postgres always exists). */
export const noDatabaseYet = (ctx: Pick<RunContext, "loaded">): boolean => {
  const url = ctx.loaded.databaseUrl
  return url.startsWith("sqlite:") && !existsSync(sqlitePath(url))
}

/**
 * The same, for commands that only read: with no SQLite database yet there is nothing to read, and an empty
 * in-memory one answers instead, so `jobs list` or `ledger` in a fresh directory creates no file.
 */
export const readStorageLayer = (ctx: Pick<RunContext, "loaded">): Layer.Layer<Storage, RepositoryError> =>
  noDatabaseYet(ctx)
    ? threadedParquetSinkLayer(ctx.loaded.dataDir).pipe(Layer.provideMerge(repositoryLayer("sqlite::memory:")))
    : storageLayer(ctx)

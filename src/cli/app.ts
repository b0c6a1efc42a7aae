/**
 * What every command needs before it touches disk: the loaded config, the calendar and, for commands that write,
 * the repository and sink layers. Building these never creates files, so a bad flag leaves the data dir untouched.
 */
import { Effect, Layer, Option } from "effect"
import { type LoadedConfig, loadConfig } from "../config/load.ts"
import { makeCalendar, type TradingCalendar } from "../domain/calendar.ts"
import { UsageError } from "../domain/errors.ts"
import { type LoadedPlugin, loadPlugins } from "../providers/loader.ts"
import { builtinPlugins } from "../providers/registry.ts"
import type { JobRepository } from "../repository/job-repository.ts"
import { repositoryLayer } from "../repository/layer.ts"
import { type ParquetSink, parquetSinkLayer } from "../storage/parquet-sink.ts"

export interface CommonFlags {
  readonly config: Option.Option<string>
  readonly dataDir: Option.Option<string>
  readonly json: boolean
}

export interface Environment {
  readonly env: Readonly<Record<string, string | undefined>>
  readonly cwd: string
}

export const currentEnvironment = (): Environment => ({ env: { ...process.env }, cwd: process.cwd() })

export interface App {
  readonly loaded: LoadedConfig
  readonly calendar: TradingCalendar
  /** Built-in plugins and those named under `plugins:` in the config. */
  readonly plugins: ReadonlyArray<LoadedPlugin>
}

export const loadApp = (flags: CommonFlags, environment: Environment) =>
  loadConfig({
    path: Option.getOrUndefined(flags.config),
    dataDir: Option.getOrUndefined(flags.dataDir),
    env: environment.env,
    cwd: environment.cwd
  }).pipe(
    Effect.flatMap((loaded) =>
      loadPlugins(loaded.config.plugins ?? [], {
        configFile: loaded.file,
        cwd: environment.cwd,
        builtin: builtinPlugins
      }).pipe(
        Effect.map(
          (plugins): App => ({
            loaded,
            plugins,
            calendar: makeCalendar({
              closures: loaded.config.calendar?.closures ?? [],
              earlyCloses: loaded.config.calendar?.early_closes ?? []
            })
          })
        )
      )
    )
  )

/** The layers that read and write the lake and the repository. */
export const storageLayer = (
  app: App
): Layer.Layer<JobRepository | ParquetSink, import("../domain/errors.ts").RepositoryError> =>
  Layer.mergeAll(repositoryLayer(app.loaded.databaseUrl), parquetSinkLayer(app.loaded.dataDir))

/** Runs a synchronous input check, turning its `UsageError` into a typed failure. */
export const checkInput = <A>(f: () => A): Effect.Effect<A, UsageError> =>
  Effect.try({
    try: f,
    catch: (e) => (e instanceof UsageError ? e : new UsageError({ field: "input", reason: String(e) }))
  })

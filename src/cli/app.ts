/**
 * What every command needs before it touches disk: the loaded config, the calendar and the plugins (the pipeline's
 * `RunContext`). Building these never creates files, so a bad flag leaves the data dir untouched.
 */
import { Effect, Option } from "effect"
import { type LoadedConfig, loadConfig } from "../config/load.ts"
import { makeCalendar } from "../domain/calendar.ts"
import { UsageError } from "../domain/errors.ts"
import type { RunContext } from "../pipeline/context.ts"
import type { ProviderPlugin } from "../providers/contract.ts"
import { type LoadedPlugin, loadPlugin } from "../providers/loader.ts"
import { builtinPlugins, findPlugin } from "../providers/registry.ts"

export interface CommonFlags {
  readonly config: Option.Option<string>
  readonly dataDir: Option.Option<string>
  /** Absent where a caller builds flags by hand: the main lake. */
  readonly dataset?: Option.Option<string>
  readonly json: boolean
}

export interface Environment {
  readonly env: Readonly<Record<string, string | undefined>>
  readonly cwd: string
}

export const currentEnvironment = (): Environment => ({ env: { ...process.env }, cwd: process.cwd() })

export interface App extends RunContext {
  /**
   * A provider's plugin by name. A built-in needs nothing loaded. A plugin named under `plugins:` is code that runs
   * with the user's credentials, so it is imported only here — when a command needs that provider — and only from
   * a config the user trusts (`LoadedConfig.trusted`).
   */
  readonly plugin: (name: string) => Effect.Effect<ProviderPlugin, UsageError>
  /** Built-ins and, from a trusted config, every configured plugin (imported), for `providers list|matrix`. */
  readonly allPlugins: Effect.Effect<ReadonlyArray<LoadedPlugin>, UsageError>
}

const untrusted = (loaded: LoadedConfig) =>
  new UsageError({
    field: "config plugins",
    reason: `${loaded.file} was found in the working directory, so the plugins it names are not loaded (a plugin is code that runs with your credentials); pass --config ${loaded.file} or set MARKETPIPE_CONFIG to trust it`
  })

/** Imports configured plugins lazily and once each, in the order the config lists them. */
function pluginsOf(loaded: LoadedConfig, cwd: string): Pick<App, "plugin" | "allPlugins"> {
  const specs = loaded.config.plugins ?? []
  const found: Array<LoadedPlugin> = builtinPlugins.map((plugin) => ({ plugin, source: "builtin" }))
  let next = 0
  const loadNext = Effect.suspend(() => {
    const index = next
    return loadPlugin(specs[index] as string, index, { configFile: loaded.file, cwd, taken: found }).pipe(
      Effect.tap((plugin) =>
        Effect.sync(() => {
          found.push(plugin)
          next = index + 1
        })
      )
    )
  })
  const plugin = (name: string): Effect.Effect<ProviderPlugin, UsageError> =>
    Effect.gen(function* () {
      const known = found.find((p) => p.plugin.name === name)
      if (known !== undefined) return known.plugin
      if (next < specs.length && !loaded.trusted) return yield* untrusted(loaded)
      // Only the plugins up to the one asked for are imported.
      while (next < specs.length) {
        const loadedPlugin = yield* loadNext
        if (loadedPlugin.plugin.name === name) return loadedPlugin.plugin
      }
      const lookup = findPlugin(
        name,
        found.map((p) => p.plugin)
      )
      return lookup._tag === "Found" ? lookup.plugin : yield* lookup.error
    })
  const allPlugins = Effect.gen(function* () {
    if (loaded.trusted) while (next < specs.length) yield* loadNext
    return [...found]
  })
  return { plugin, allPlugins }
}

export const loadApp = (flags: CommonFlags, environment: Environment) =>
  loadConfig({
    path: Option.getOrUndefined(flags.config),
    dataDir: Option.getOrUndefined(flags.dataDir),
    dataset: Option.getOrUndefined(flags.dataset ?? Option.none()),
    env: environment.env,
    cwd: environment.cwd
  }).pipe(
    Effect.map(
      (loaded): App => ({
        loaded,
        ...pluginsOf(loaded, environment.cwd),
        calendar: makeCalendar({
          closures: loaded.config.calendar?.closures ?? [],
          earlyCloses: loaded.config.calendar?.early_closes ?? []
        })
      })
    )
  )

/** Runs a synchronous input check, turning its `UsageError` into a typed failure. */
export const checkInput = <A>(f: () => A): Effect.Effect<A, UsageError> =>
  Effect.try({
    try: f,
    catch: (e) => (e instanceof UsageError ? e : new UsageError({ field: "input", reason: String(e) }))
  })

/**
 * What the doctor examines, and its first check: the run context as a run would load it (the CLI's `loadApp`) or,
 * when the config does not load, the defaults a run without it would use, so the checks after it (data dir, disk,
 * DuckDB, …) still report. Loading never creates a file, so neither does this.
 */
import { join, resolve } from "node:path"
import { Effect, type Result } from "effect"
import { checkDatabaseUrl } from "../config/database-url.ts"
import { readInputFile } from "../config/input-file.ts"
import { CONFIG_MAX_BYTES, type Env, type LoadedConfig } from "../config/load.ts"
import { CURRENT_CONFIG_VERSION } from "../config/schema.ts"
import { parseConfigYaml } from "../config/yaml.ts"
import { makeCalendar, type TradingCalendar } from "../domain/calendar.ts"
import { UsageError } from "../domain/errors.ts"
import type { RunContext } from "../pipeline/context.ts"
import type { ProviderPlugin } from "../providers/contract.ts"
import { findPlugin } from "../providers/registry.ts"
import { type CheckResult, fail, pass, warn } from "./check.ts"

/** Where a run would look when the config says nothing: the `--data-dir` flag, the environment, the directory. */
export interface DoctorSource {
  readonly dataDir: string | undefined
  readonly env: Env
  readonly cwd: string
}

export interface DoctorTarget {
  /** The run context as loaded, or why the config did not load. */
  readonly app: Result.Result<RunContext, UsageError>
  readonly config: LoadedConfig["config"]
  /** The environment after `.env`, as plugins see it. */
  readonly env: Env
  readonly dataDir: string
  /** The repository's URL; a bad `DATABASE_URL` fails the repository check only. */
  readonly databaseUrl: Effect.Effect<string, UsageError>
  readonly plugin: (name: string) => Effect.Effect<ProviderPlugin, UsageError>
  readonly calendar: TradingCalendar
}

/** The defaults of a run with no config file: flags and environment only, built-in plugins only. */
const defaultsTarget = (app: Result.Result<RunContext, UsageError>, source: DoctorSource): DoctorTarget => {
  const env = source.env
  const dataDir = resolve(source.cwd, source.dataDir ?? env.MARKETPIPE_DATA_DIR ?? "data")
  const [url, field] =
    env.DATABASE_URL !== undefined
      ? [env.DATABASE_URL, "DATABASE_URL"]
      : [`sqlite:${join(dataDir, "marketpipe.db")}`, "database_url"]
  return {
    app,
    config: {},
    env,
    dataDir,
    databaseUrl: Effect.try({
      try: () => checkDatabaseUrl(url, field, source.cwd),
      catch: (e) => (e instanceof UsageError ? e : new UsageError({ field, reason: String(e) }))
    }),
    plugin: (name) => {
      const lookup = findPlugin(name)
      return lookup._tag === "Found" ? Effect.succeed(lookup.plugin) : Effect.fail(lookup.error)
    },
    calendar: makeCalendar()
  }
}

/** The loaded run context as the doctor's target; when the config did not load, the defaults of `source`. */
export function doctorTarget(app: Result.Result<RunContext, UsageError>, source: DoctorSource): DoctorTarget {
  if (app._tag === "Failure") return defaultsTarget(app, source)
  const { loaded, plugin, calendar } = app.success
  return {
    app,
    config: loaded.config,
    env: loaded.env,
    dataDir: loaded.dataDir,
    databaseUrl: Effect.succeed(loaded.databaseUrl),
    plugin,
    calendar
  }
}

/** The `config_version` a config file itself says (a loaded file is upgraded to the current one). */
const writtenVersion = (file: string): unknown => {
  const data = parseConfigYaml(readInputFile(file, CONFIG_MAX_BYTES, "--config", "config file"))
  return typeof data === "object" && data !== null ? (data as Record<string, unknown>).config_version : undefined
}

/**
 * The config file parses and validates, and which `config_version` it is; no file is the embedded defaults; a
 * version newer than this build is a warning (it is read best-effort).
 */
export const configCheck = (target: DoctorTarget): Effect.Effect<CheckResult> =>
  Effect.sync(() => {
    const name = "config"
    const { app } = target
    if (app._tag === "Failure") return fail(name, `${app.failure.message} (the checks below use the defaults)`)
    const { file, notices } = app.success.loaded
    if (file === undefined) {
      return pass(
        name,
        `defaults: no config file (--config, $MARKETPIPE_CONFIG or ./marketpipe.yaml), so the embedded defaults (config_version ${CURRENT_CONFIG_VERSION})`
      )
    }
    const version = writtenVersion(file)
    if (typeof version !== "number") {
      return pass(name, `${file} parses (no config_version: read as version ${CURRENT_CONFIG_VERSION})`)
    }
    if (version > CURRENT_CONFIG_VERSION) {
      return warn(name, `${file} parses (config_version ${version}): ${notices.join("; ")}`)
    }
    if (version < CURRENT_CONFIG_VERSION) {
      return pass(
        name,
        `${file} parses (config_version ${version}, read as ${CURRENT_CONFIG_VERSION}; \`marketpipe config migrate ${file}\` rewrites it)`
      )
    }
    return pass(name, `${file} parses (config_version ${version})`)
  })

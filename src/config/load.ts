/**
 * Loads the config: file (flag `--config`, `MARKETPIPE_CONFIG`, or `./marketpipe.yaml` when present), `.env`,
 * `${VAR}` expansion, version check, schema decode, then environment and CLI overrides. Every failure is a
 * `UsageError` naming the field and what is allowed; nothing touches the data dir.
 */
import { existsSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { parseEnv } from "node:util"
import { Effect, Schema } from "effect"
import { UsageError } from "../domain/errors.ts"
import { checkDatabaseUrl } from "./database-url.ts"
import { withDataset } from "./dataset.ts"
import { expandEnv } from "./expand.ts"
import { readInputFile } from "./input-file.ts"
import { configSchemaOf, configVersions, isConfigVersion } from "./json-schema.ts"
import { upgradeData } from "./migrate.ts"
import { CURRENT_CONFIG_VERSION } from "./schema.ts"
import { unknownKeyError, usageErrorOf } from "./schema-issues.ts"
import { Config } from "./schema-v4.ts"
import { parseConfigYaml } from "./yaml.ts"

export type Env = Readonly<Record<string, string | undefined>>

export interface ConfigSource {
  /** `--config` flag. */
  readonly path?: string | undefined
  /** `--data-dir` flag. */
  readonly dataDir?: string | undefined
  /** `--dataset` flag: read and write that dataset instead of the main lake (`dataset.ts`). */
  readonly dataset?: string | undefined
  readonly env: Env
  readonly cwd: string
}

export interface LoadedConfig {
  readonly file: string | undefined
  /**
   * Whether the user chose this config (`--config`, or `MARKETPIPE_CONFIG` in the process environment) rather than
   * it being found in the working directory. Only a chosen config's plugins are loaded: a plugin is code.
   */
  readonly trusted: boolean
  readonly config: Config
  readonly dataDir: string
  readonly databaseUrl: string
  /** The dataset (`--dataset`) whose data dir and repository these are; absent for the main one. */
  readonly dataset?: string | undefined
  /** Environment after `.env` (process variables win over the file). */
  readonly env: Env
  /** Things the user should know but that do not stop the run (defaulted or newer version). */
  readonly notices: ReadonlyArray<string>
}

/** Reads `.env` from the working directory; variables already set in the process win. */
function withDotEnv(env: Env, cwd: string): Env {
  const path = join(cwd, ".env")
  if (!existsSync(path)) return env
  return { ...parseEnv(readFileSync(path, "utf8")), ...env }
}

/** Runs a check that throws `UsageError`, as a typed failure. */
const checkInput = <A>(f: () => A): Effect.Effect<A, UsageError> =>
  Effect.try({
    try: f,
    catch: (e) => (e instanceof UsageError ? e : new UsageError({ field: "config", reason: String(e) }))
  })

export const loadConfig = (source: ConfigSource): Effect.Effect<LoadedConfig, UsageError> =>
  checkInput(() => load(source)).pipe(
    Effect.flatten,
    Effect.flatMap((loaded) =>
      source.dataset === undefined
        ? Effect.succeed(loaded)
        : checkInput(() => withDataset(loaded, source.dataset as string))
    )
  )

/** A config is a few kilobytes; anything past this is not one (and must not be read, or parsed, whole). */
export const CONFIG_MAX_BYTES = 256 * 1024

function load(source: ConfigSource): Effect.Effect<LoadedConfig, UsageError> {
  const env = withDotEnv(source.env, source.cwd)
  const notices: Array<string> = []
  // `.env` lives in the working directory too: a MARKETPIPE_CONFIG it sets is found, not chosen.
  const chosen = source.path ?? source.env.MARKETPIPE_CONFIG
  const explicit = chosen ?? env.MARKETPIPE_CONFIG
  const implicit = join(source.cwd, "marketpipe.yaml")
  const file = explicit !== undefined ? resolve(source.cwd, explicit) : existsSync(implicit) ? implicit : undefined

  let raw: unknown = {}
  if (file !== undefined) {
    if (!existsSync(file)) {
      throw new UsageError({ field: "--config", reason: `config file ${file} does not exist` })
    }
    const text = readInputFile(file, CONFIG_MAX_BYTES, "--config", "config file")
    try {
      raw = parseConfigYaml(text) ?? {}
    } catch (e) {
      throw new UsageError({
        field: "--config",
        reason: `${file} is not valid YAML: ${(e as Error).message.split("\n")[0]}`
      })
    }
    if (typeof raw !== "object" || Array.isArray(raw)) {
      throw new UsageError({ field: "--config", reason: `${file} must hold a YAML mapping of config keys` })
    }
  }
  const record = raw as Record<string, unknown>
  return decodeVersioned(record, env, file, notices).pipe(
    Effect.flatMap((config) =>
      checkInput(() => {
        const dataDir = resolve(source.cwd, source.dataDir ?? env.MARKETPIPE_DATA_DIR ?? config.data_dir ?? "data")
        // A NUL cannot be in a path: caught here, it is a usage error instead of a failure when the file is opened.
        if (dataDir.includes("\u0000")) {
          throw new UsageError({
            field:
              source.dataDir !== undefined
                ? "--data-dir"
                : env.MARKETPIPE_DATA_DIR !== undefined
                  ? "MARKETPIPE_DATA_DIR"
                  : "config data_dir",
            reason: "a path may not hold a NUL character"
          })
        }
        const [url, field] =
          env.DATABASE_URL !== undefined
            ? [env.DATABASE_URL, "DATABASE_URL"]
            : config.database_url !== undefined
              ? [config.database_url, "config database_url"]
              : [`sqlite:${join(dataDir, "marketpipe.db")}`, "database_url"]
        const databaseUrl = checkDatabaseUrl(url, field, source.cwd)
        const trusted = file !== undefined && chosen !== undefined
        return { file, trusted, config, dataDir, databaseUrl, env, notices }
      })
    )
  )
}

/**
 * A config file's data decoded by its `config_version`: a version-1 file by the v1 Schema (strictly), then
 * upgraded to the current shape (`migrate.ts`); the current version strictly; a newer one best-effort, ignoring
 * keys this build does not know. `${VAR}`s are expanded from `env` first.
 */
export function decodeVersioned(
  record: Readonly<Record<string, unknown>>,
  env: Env,
  file: string | undefined,
  notices: Array<string>
): Effect.Effect<Config, UsageError> {
  const version = record.config_version
  let strict = true
  if (version === undefined) {
    if (file !== undefined) notices.push(`${file}: no config_version; reading it as version ${CURRENT_CONFIG_VERSION}`)
  } else if (typeof version !== "number" || !Number.isInteger(version) || version < 1) {
    return Effect.fail(
      new UsageError({
        field: "config config_version",
        reason: `${JSON.stringify(version)} is not supported; supported versions: ${configVersions.join(", ")}`
      })
    )
  } else if (version > CURRENT_CONFIG_VERSION) {
    strict = false
    notices.push(
      `config_version ${version} is newer than this build knows (${CURRENT_CONFIG_VERSION}); reading it best-effort and ignoring unknown keys — upgrade MarketPipe`
    )
  }
  const expanded = expandEnv(record, env, "") as Record<string, unknown>
  const decode = <S extends ReturnType<typeof configSchemaOf>>(schema: S, data: Record<string, unknown>) => {
    if (strict) {
      const hint = unknownKeyError(data, Object.keys(schema.fields), "config")
      if (hint !== undefined) return Effect.fail(hint)
    }
    return Schema.decodeUnknownEffect(schema)(data, {
      onExcessProperty: strict ? "error" : "ignore",
      errors: "all"
    }).pipe(Effect.mapError((e) => usageErrorOf(e, "config")))
  }
  // An older file is judged by its own version's Schema, then read as the current one.
  if (typeof version === "number" && version < CURRENT_CONFIG_VERSION && isConfigVersion(version)) {
    return Effect.flatMap(decode(configSchemaOf(version), expanded), () =>
      decode(Config, upgradeData(expanded, version, CURRENT_CONFIG_VERSION))
    )
  }
  return decode(Config, expanded)
}

/** `providers.<name>.base_url`, overridden by `MARKETPIPE_<NAME>_BASE_URL`. */
export const providerBaseUrl = (loaded: LoadedConfig, name: string): string | undefined =>
  loaded.env[`MARKETPIPE_${name.toUpperCase().replace(/[^A-Z0-9]/gu, "_")}_BASE_URL`] ??
  (loaded.config.providers?.[name]?.base_url as string | undefined)

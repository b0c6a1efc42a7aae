/**
 * `marketpipe config validate|migrate|schema`: check a config file against its version, migrate it to a newer
 * version (comments kept), and print a version's JSON Schema for editors.
 */
import { existsSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { resolve } from "node:path"
import { Effect, Option } from "effect"
import { readInputFile } from "../../config/input-file.ts"
import { configJsonSchema, isConfigVersion } from "../../config/json-schema.ts"
import { CONFIG_MAX_BYTES, decodeVersioned, loadConfig } from "../../config/load.ts"
import { migrateText } from "../../config/migrate.ts"
import { CURRENT_CONFIG_VERSION } from "../../config/schema.ts"
import { parseConfigYaml } from "../../config/yaml.ts"
import { UsageError } from "../../domain/errors.ts"
import { tempPathFor } from "../../lake/atomic-file.ts"
import { checkInput, currentEnvironment, type Environment } from "../app.ts"
import { makeOutput } from "../output.ts"

const existing = (file: string, environment: Environment) => {
  const path = resolve(environment.cwd, file)
  return existsSync(path)
    ? Effect.succeed(path)
    : Effect.fail(new UsageError({ field: "FILE", reason: `${path} does not exist` }))
}

export const configValidateMain = (
  flags: { readonly file: string; readonly json: boolean },
  environment: Environment = currentEnvironment()
) =>
  Effect.gen(function* () {
    const path = yield* existing(flags.file, environment)
    const loaded = yield* loadConfig({ path, env: environment.env, cwd: environment.cwd })
    const written = (yield* checkInput(() =>
      parseConfigYaml(readInputFile(path, CONFIG_MAX_BYTES, "FILE", "config file"))
    )) as { config_version?: unknown } | null
    const version = typeof written?.config_version === "number" ? written.config_version : undefined
    const out = makeOutput({ json: flags.json, tty: false })
    for (const notice of loaded.notices) out.notice(notice)
    if (flags.json) return out.result(JSON.stringify({ file: path, valid: true, version: version ?? null }))
    const older =
      version !== undefined && version < CURRENT_CONFIG_VERSION
        ? ` (read as version ${CURRENT_CONFIG_VERSION}; \`marketpipe config migrate ${flags.file}\` rewrites it)`
        : ""
    out.result(`${path}: valid, config_version ${version ?? `missing, read as ${CURRENT_CONFIG_VERSION}`}${older}`)
  })

export const configMigrateMain = (
  flags: { readonly file: string; readonly to: Option.Option<number>; readonly out: Option.Option<string> },
  environment: Environment = currentEnvironment()
) =>
  Effect.gen(function* () {
    const path = yield* existing(flags.file, environment)
    const text = yield* checkInput(() => readInputFile(path, CONFIG_MAX_BYTES, "FILE", "config file"))
    const migrated = yield* checkInput(() => migrateText(text, Option.getOrUndefined(flags.to)))
    // The result must be a valid file of its version before anything is written.
    const data = (yield* checkInput(() => parseConfigYaml(migrated.text))) as Record<string, unknown>
    yield* decodeVersioned(data ?? {}, environment.env, path, [])
    const out = makeOutput({ json: false, tty: false })
    if (Option.isNone(flags.out)) {
      process.stdout.write(migrated.text)
    } else {
      const target = resolve(environment.cwd, flags.out.value)
      const temp = tempPathFor(target)
      yield* Effect.try({
        try: () => {
          writeFileSync(temp, migrated.text)
          renameSync(temp, target)
        },
        catch: (e) => {
          rmSync(temp, { force: true })
          return new UsageError({ field: "--out", reason: `cannot write ${target}: ${(e as Error).message}` })
        }
      })
      out.notice(`wrote ${target}`)
    }
    out.notice(
      migrated.from === migrated.to
        ? `${path} is already version ${migrated.to}; nothing to migrate`
        : `${path}: migrated from version ${migrated.from} to ${migrated.to}`
    )
  })

export const configSchemaMain = (flags: { readonly version: Option.Option<number> }) =>
  Effect.gen(function* () {
    const version = Option.getOrUndefined(flags.version) ?? CURRENT_CONFIG_VERSION
    if (!isConfigVersion(version)) {
      return yield* new UsageError({
        field: "--version",
        reason: `${version} is not a config version; use 1 to ${CURRENT_CONFIG_VERSION}`
      })
    }
    process.stdout.write(`${JSON.stringify(configJsonSchema(version), null, 2)}\n`)
  })

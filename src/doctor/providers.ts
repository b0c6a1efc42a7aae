/**
 * The providers check, one result per provider the config names (`providers:` keys and `ingest.provider`, which
 * defaults to `fake`): its plugin loads (a configured third-party plugin only from a trusted config, as every command
 * loads it), and the environment variables its `capabilities.credentials` lists are set. Only the variables' names
 * are ever printed, never a value.
 */
import { Effect } from "effect"
import type { Env, LoadedConfig } from "../config/load.ts"
import type { UsageError } from "../domain/errors.ts"
import type { ProviderPlugin } from "../providers/contract.ts"
import { type CheckResult, type CheckStatus, fail, pass, warn } from "./check.ts"

/** The provider a run uses when neither `--provider` nor `ingest.provider` names one. */
export const DEFAULT_PROVIDER = "fake"

/**
 * Variables a plugin accepts in place of one another: the contract lists credential names alone, so the pairs that
 * stand for one credential are known here. Polygon renamed itself Massive and reads either key.
 */
const ALTERNATIVES: ReadonlyArray<ReadonlyArray<string>> = [["POLYGON_API_KEY", "MASSIVE_API_KEY"]]

/** A plugin's credentials as groups: each group is one credential, met when any variable in it is set. */
export function credentialGroups(credentials: ReadonlyArray<string>): ReadonlyArray<ReadonlyArray<string>> {
  const groups: Array<ReadonlyArray<string>> = []
  for (const name of credentials) {
    if (groups.some((g) => g.includes(name))) continue
    const alternatives = ALTERNATIVES.find((a) => a.includes(name))
    groups.push(alternatives === undefined ? [name] : alternatives.filter((a) => credentials.includes(a)))
  }
  return groups
}

/** A variable counts as set when it holds more than white space (plugins trim what they read). */
export const isSet = (env: Env, name: string): boolean => (env[name] ?? "").trim() !== ""

/** The providers a config names, the ingest provider first. */
export function configuredProviders(config: LoadedConfig["config"]): ReadonlyArray<string> {
  return [...new Set([config.ingest?.provider ?? DEFAULT_PROVIDER, ...Object.keys(config.providers ?? {})])]
}

/**
 * The verdict on a plugin's credentials: pass when every credential is set (or it needs none), warn when some are,
 * fail when none are — and fail for the ingest provider whenever one is missing, since a run could not start.
 */
export function credentialsVerdict(
  plugin: ProviderPlugin,
  env: Env,
  ingest: boolean
): { readonly status: CheckStatus; readonly detail: string } {
  const groups = credentialGroups(plugin.capabilities.credentials)
  if (groups.length === 0) return { status: "pass", detail: "needs no credentials" }
  const shown = groups.map((group) => {
    const names = group.map((name) => `${name} ${isSet(env, name) ? "set" : "missing"}`).join(", ")
    return group.length > 1 ? `${names} (either one)` : names
  })
  const met = groups.filter((group) => group.some((name) => isSet(env, name))).length
  const status: CheckStatus = met === groups.length ? "pass" : ingest ? "fail" : met === 0 ? "fail" : "warn"
  return { status, detail: `credentials: ${shown.join("; ")}` }
}

/** One provider: its plugin, then its credentials. */
const providerResult = (
  name: string,
  ingest: boolean,
  plugin: (name: string) => Effect.Effect<ProviderPlugin, UsageError>,
  env: Env
): Effect.Effect<CheckResult> => {
  const check = `provider ${name}`
  const role = ingest ? "ingest.provider" : "configured"
  return plugin(name).pipe(
    Effect.map((found) => {
      const { status, detail } = credentialsVerdict(found, env, ingest)
      const result = status === "pass" ? pass : status === "warn" ? warn : fail
      return result(check, `${role}, plugin loads; ${detail}`)
    }),
    Effect.catch((e) => Effect.succeed(fail(check, `${role}, plugin does not load: ${e.reason}`)))
  )
}

export const providersCheck = (target: {
  readonly config: LoadedConfig["config"]
  readonly env: Env
  readonly plugin: (name: string) => Effect.Effect<ProviderPlugin, UsageError>
}): Effect.Effect<ReadonlyArray<CheckResult>> => {
  const names = configuredProviders(target.config)
  // One after the other: configured plugins are imported in the order the config lists them, once each.
  return Effect.forEach(names, (name, i) => providerResult(name, i === 0, target.plugin, target.env))
}

/**
 * Loads third-party plugins named under `plugins:` in the config: a module path (relative to the config file) or
 * an npm package (resolved from the working directory's node_modules). Each default export must satisfy the
 * plugin contract; a wrong contract version or a malformed plugin is a `UsageError` naming the entry, never a crash.
 * Works from source and from the compiled binary, which can `import()` a file by path.
 */
import { existsSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, isAbsolute, join, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { Effect } from "effect"
import { shown, UsageError } from "../domain/errors.ts"
import { timeframes } from "../domain/timeframe.ts"
import { type ProviderPlugin, SUPPORTED_CONTRACT_VERSIONS } from "./contract.ts"

export interface LoadedPlugin {
  readonly plugin: ProviderPlugin
  /** Where it came from: `builtin`, a file path or a package name. */
  readonly source: string
}

const isPath = (spec: string) => spec.startsWith(".") || spec.startsWith("/") || isAbsolute(spec)

/** The file to import for a spec, or why there is none. */
function locate(spec: string, baseDir: string): string | { readonly problem: string } {
  if (isPath(spec)) {
    const path = resolve(baseDir, spec)
    return existsSync(path) ? path : { problem: `file ${path.length > 200 ? shown(path, 200) : path} does not exist` }
  }
  try {
    return createRequire(join(baseDir, "package.json")).resolve(spec)
  } catch {
    return { problem: `package ${shown(spec)} is not installed in ${baseDir} (npm install it there, or give a path)` }
  }
}

/** What is wrong with a module's default export, or `undefined` when it satisfies a contract version we load. */
export function contractProblem(candidate: unknown): string | undefined {
  if (candidate === null || typeof candidate !== "object") return "its default export is not a plugin object"
  const p = candidate as Record<string, unknown>
  if (typeof p.contractVersion !== "number") return "it has no numeric contractVersion"
  if (!SUPPORTED_CONTRACT_VERSIONS.includes(p.contractVersion)) {
    return `it was written for plugin contract v${p.contractVersion}; this MarketPipe supports ${SUPPORTED_CONTRACT_VERSIONS.map((v) => `v${v}`).join(", ")}`
  }
  if (typeof p.name !== "string" || !/^[a-z][a-z0-9_-]{0,31}$/u.test(p.name)) {
    return "its name must be 1-32 lower-case letters, digits, '-' or '_', starting with a letter"
  }
  if (typeof p.make !== "function") return "it has no make(host, settings) function"
  const caps = p.capabilities as Record<string, unknown> | undefined
  if (caps === undefined || typeof caps !== "object") return "it declares no capabilities"
  for (const key of ["feeds", "timeframes", "adjustments", "credentials"]) {
    if (!Array.isArray(caps[key])) return `capabilities.${key} must be a list`
  }
  const unknownFrame = (caps.timeframes as Array<unknown>).find(
    (t) => !(timeframes as ReadonlyArray<unknown>).includes(t)
  )
  if (unknownFrame !== undefined)
    return `capabilities.timeframes has '${String(unknownFrame)}'; allowed: ${timeframes.join(", ")}`
  if (typeof caps.defaultFeed !== "string" || !(caps.feeds as Array<unknown>).includes(caps.defaultFeed)) {
    return "capabilities.defaultFeed must be one of capabilities.feeds"
  }
  for (const key of ["maxBarsPerRequest", "maxSymbolsPerRequest"]) {
    if (typeof caps[key] !== "number" || (caps[key] as number) < 1)
      return `capabilities.${key} must be a positive number`
  }
  return referenceProblem(caps.reference) ?? corporateActionsProblem(caps.corporateActions)
}

/** What is wrong with `capabilities.corporateActions` (contract v3, optional). */
function corporateActionsProblem(actions: unknown): string | undefined {
  if (actions === undefined) return undefined
  if (actions === null || typeof actions !== "object") return "capabilities.corporateActions must be an object"
  const a = actions as Record<string, unknown>
  for (const key of ["splits", "dividends"]) {
    if (typeof a[key] !== "boolean") return `capabilities.corporateActions.${key} must be true or false`
  }
  return undefined
}

/** What is wrong with `capabilities.reference` (contract v2, optional). */
function referenceProblem(reference: unknown): string | undefined {
  if (reference === undefined) return undefined
  if (reference === null || typeof reference !== "object") return "capabilities.reference must be an object"
  const r = reference as Record<string, unknown>
  for (const key of ["pointInTime", "delisted", "marketDay"]) {
    if (typeof r[key] !== "boolean") return `capabilities.reference.${key} must be true or false`
  }
  if (!Array.isArray(r.detailFields)) return "capabilities.reference.detailFields must be a list"
  return undefined
}

export interface LoadOptions {
  readonly configFile: string | undefined
  readonly cwd: string
}

/** Imports one configured plugin (entry `index` of `plugins:`) and checks it against the contract. */
export const loadPlugin = (
  spec: string,
  index: number,
  options: LoadOptions & { readonly taken: ReadonlyArray<LoadedPlugin> }
): Effect.Effect<LoadedPlugin, UsageError> =>
  Effect.gen(function* () {
    const field = `config plugins[${index}]`
    const baseDir = isPath(spec) && options.configFile !== undefined ? dirname(options.configFile) : options.cwd
    const file = locate(spec, baseDir)
    if (typeof file !== "string")
      return yield* new UsageError({ field, reason: `cannot load plugin ${shown(spec)}: ${file.problem}` })
    const module = yield* Effect.tryPromise({
      try: () => import(pathToFileURL(file).href) as Promise<{ default?: unknown }>,
      catch: (e) =>
        new UsageError({
          field,
          reason: `plugin ${shown(spec)} failed to load: ${String((e as Error)?.message ?? e).split("\n")[0]} (a plugin may not import packages at run time: use the host's modules, or ship it bundled)`
        })
    })
    const problem = contractProblem(module.default)
    if (problem !== undefined)
      return yield* new UsageError({ field, reason: `${shown(spec)} is not a MarketPipe plugin: ${problem}` })
    const plugin = module.default as ProviderPlugin
    const clash = options.taken.find((l) => l.plugin.name === plugin.name)
    if (clash !== undefined) {
      return yield* new UsageError({
        field,
        reason: `plugin name '${plugin.name}' from ${shown(spec)} is already taken by ${clash.source}`
      })
    }
    return { plugin, source: spec }
  })

/** The built-ins followed by every plugin in `specs`, in order. */
export const loadPlugins = (
  specs: ReadonlyArray<string>,
  options: LoadOptions & { readonly builtin: ReadonlyArray<ProviderPlugin> }
): Effect.Effect<ReadonlyArray<LoadedPlugin>, UsageError> =>
  Effect.gen(function* () {
    const loaded: Array<LoadedPlugin> = options.builtin.map((plugin) => ({ plugin, source: "builtin" }))
    for (const [i, spec] of specs.entries()) loaded.push(yield* loadPlugin(spec, i, { ...options, taken: loaded }))
    return loaded
  })

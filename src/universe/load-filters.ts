/**
 * Reads a `filters.yml`: a regular file of at most 1 MiB, YAML, `filters_version` 1 (or none), every key known. Every
 * failure is a `UsageError` naming the key and what is allowed (exit 2); nothing is read past the first problem.
 */
import { Effect, Schema } from "effect"
import { readInputFile } from "../config/input-file.ts"
import { unknownKeyError, usageErrorOf } from "../config/schema-issues.ts"
import { parseConfigYaml } from "../config/yaml.ts"
import { UsageError } from "../domain/errors.ts"
import { CURRENT_FILTERS_VERSION, FiltersV1 } from "./filters.ts"

export const FILTERS_MAX_BYTES = 1024 * 1024

/** The filters in `text` (from `file`, for the messages). */
export const parseFilters = (text: string, file: string): Effect.Effect<FiltersV1, UsageError> =>
  Effect.suspend(() => {
    let raw: unknown
    try {
      raw = parseConfigYaml(text) ?? {}
    } catch (e) {
      return Effect.fail(
        new UsageError({ field: "--filters", reason: `${file} is not valid YAML: ${(e as Error).message}` })
      )
    }
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      return Effect.fail(
        new UsageError({ field: "--filters", reason: `${file} must hold a YAML mapping of filter keys` })
      )
    }
    const record = raw as Record<string, unknown>
    const version = record.filters_version
    if (version !== undefined && version !== CURRENT_FILTERS_VERSION) {
      return Effect.fail(
        new UsageError({
          field: "filters filters_version",
          reason: `${JSON.stringify(version)} is not supported; supported versions: ${CURRENT_FILTERS_VERSION}`
        })
      )
    }
    const unknown = unknownKeyError(record, Object.keys(FiltersV1.fields), "filters", (key) => key.slice(0, 40))
    if (unknown !== undefined) return Effect.fail(unknown)
    return Schema.decodeUnknownEffect(FiltersV1)(record, { onExcessProperty: "error", errors: "all" }).pipe(
      Effect.mapError((e) => usageErrorOf(e, "filters"))
    )
  })

/** The filters file at `path` (`--filters`). */
export const loadFilters = (path: string): Effect.Effect<FiltersV1, UsageError> =>
  Effect.try({
    try: () => readInputFile(path, FILTERS_MAX_BYTES, "--filters", "filters file"),
    catch: (e) => (e instanceof UsageError ? e : new UsageError({ field: "--filters", reason: String(e) }))
  }).pipe(Effect.flatMap((text) => parseFilters(text, path)))

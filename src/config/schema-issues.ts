/** A Schema decode failure of a user's file as a `UsageError`: the first issue's key path and message, then the rest's paths. */
import { type Schema, SchemaIssue } from "effect"
import { UsageError } from "../domain/errors.ts"

/** `what` names the file's kind in the field (`config`, `filters`): `config ingest.concurrency`. */
export const usageErrorOf = (error: Schema.SchemaError, what: string): UsageError => {
  const issues = SchemaIssue.makeFormatterStandardSchemaV1()(error.issue).issues
  const first = issues[0]
  const field = (first?.path ?? []).map((p) => String(typeof p === "object" ? p.key : p)).join(".")
  const rest =
    issues.length > 1
      ? ` (and ${issues.length - 1} more: ${issues
          .slice(1)
          .map((i) => (i.path ?? []).map(String).join("."))
          .join(", ")})`
      : ""
  return new UsageError({
    field: field === "" ? what : `${what} ${field}`,
    reason: `${first?.message ?? error.message}${rest}`
  })
}

/**
 * The first key of `raw` that is not one of `allowed`, as a `UsageError` listing what is (`config ingset: unknown
 * key; allowed keys: …`); `undefined` when every key is known. The key is echoed as given, `shown` cuts a long one.
 */
export const unknownKeyError = (
  raw: Readonly<Record<string, unknown>>,
  allowed: ReadonlyArray<string>,
  what: string,
  shown: (key: string) => string = (key) => key
): UsageError | undefined => {
  const unknown = Object.keys(raw).find((k) => !allowed.includes(k))
  return unknown === undefined
    ? undefined
    : new UsageError({ field: `${what} ${shown(unknown)}`, reason: `unknown key; allowed keys: ${allowed.join(", ")}` })
}

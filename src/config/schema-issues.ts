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

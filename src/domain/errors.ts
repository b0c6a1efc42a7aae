/** Errors every layer can raise. Each one says what went wrong in words a user can act on. */
import { Data } from "effect"

/** How much of a user's input an error message repeats: enough to recognise it, never a whole file or flood. */
export const SHOWN_CHARS = 40

/** Input quoted for an error message, cut to `SHOWN_CHARS` (with how long it really was) and control characters escaped. */
export function shown(raw: string, max: number = SHOWN_CHARS): string {
  const visible = (text: string) =>
    Array.from(text, (c) => {
      const code = c.charCodeAt(0)
      return code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, "0")}` : c
    }).join("")
  return raw.length <= max ? `'${visible(raw)}'` : `'${visible(raw.slice(0, max))}…' (${raw.length} characters)`
}

/** Bad CLI input or config: exit code 2, nothing written. `field` names the flag or config key. */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly field: string; readonly reason: string }> {
  override get message(): string {
    return `${this.field}: ${this.reason}`
  }
}

/** A provider could not deliver bars (after its retries). */
export class ProviderError extends Data.TaggedError("ProviderError")<{
  readonly provider: string
  readonly reason: string
  readonly retryable: boolean
  /** The whole run cannot succeed (rejected credentials): stop the job instead of failing partitions one by one. */
  readonly fatal?: boolean
  /** The provider kept failing (5xx, 429, timeouts) until the retries ran out: not about this request's content. */
  readonly exhausted?: boolean
  /** The failure is about the symbol (unknown ticker), not the days asked for: asking for fewer days cannot help. */
  readonly aboutSymbol?: boolean
}> {
  override get message(): string {
    return `provider ${this.provider}: ${this.reason}`
  }
}

/** Reading or writing the lake failed. */
export class StorageError extends Data.TaggedError("StorageError")<{ readonly path: string; readonly reason: string }> {
  override get message(): string {
    return `storage ${this.path}: ${this.reason}`
  }
}

/** The job repository (SQLite / Postgres) failed. */
export class RepositoryError extends Data.TaggedError("RepositoryError")<{ readonly reason: string }> {
  override get message(): string {
    return `repository: ${this.reason}`
  }
}

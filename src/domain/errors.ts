/** Errors every layer can raise. Each one says what went wrong in words a user can act on. */
import { Data } from "effect"

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

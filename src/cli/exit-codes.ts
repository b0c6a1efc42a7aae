/** Exit codes (design §7): 0 ok, 1 runtime failure, 2 bad usage or config (nothing written), 3 failed partitions. */
import { Data } from "effect"

export const ExitCode = { ok: 0, failure: 1, usage: 2, partial: 3 } as const

/** The run finished, but some partitions failed; they are listed in the summary. */
export class PartitionsFailed extends Data.TaggedError("PartitionsFailed")<{
  readonly count: number
  readonly jobId: number
}> {
  override get message(): string {
    return `job ${this.jobId} finished with ${this.count} failed partition(s); see \`marketpipe jobs show ${this.jobId}\``
  }
}

/** `ledger verify` found claims the lake cannot back (and was not asked to repair them). */
export class UnbackedClaims extends Data.TaggedError("UnbackedClaims")<{ readonly count: number }> {
  override get message(): string {
    return `${this.count} ledger claim(s) the lake cannot back; \`marketpipe ledger verify --repair\` marks them missing so the next backfill fetches them again`
  }
}

/**
 * Failover along `providers_chain`: after a provider's job, the days the next provider should fill — partitions that
 * failed after their retries, and session days the provider answered with no bars at all — and the chain that applies
 * to a frame. The fill is an ordinary job of the next provider over exactly those days, so its bars keep their real
 * provenance and reach the ledger like any others; `Ledger.noteFilled` then says why each day came from it.
 */
import { Effect } from "effect"
import type { ProvidersChainConfig } from "../config/schema-v3.ts"
import type { Timeframe } from "../domain/timeframe.ts"
import { Jobs } from "../repository/jobs.ts"
import { Ledger } from "../repository/ledger.ts"
import type { JobRecord } from "../repository/model.ts"

/** The providers a frame's runs go through, in order: its own chain, else `default`, else the one list; or none. */
export function chainFor(chain: ProvidersChainConfig | undefined, frame: Timeframe): ReadonlyArray<string> | undefined {
  if (chain === undefined) return undefined
  if (Array.isArray(chain)) return chain as ReadonlyArray<string>
  const byFrame = chain as Readonly<Record<string, ReadonlyArray<string> | undefined>>
  return byFrame[frame] ?? byFrame.default
}

export interface DayToFill {
  readonly symbol: string
  readonly day: string
  /** What the provider before did, in words (`alpaca failed: HTTP 503 …`, `alpaca returned no bars`). */
  readonly why: string
}

/** The days job `job` left for the next provider of the chain, by symbol then day. */
export const daysToFill = (job: JobRecord) =>
  Effect.gen(function* () {
    const partitions = yield* Jobs.use((j) => j.partitions(job.id))
    const failed = partitions
      .filter((p) => p.frame === job.frame && p.state === "failed")
      .map(
        (p): DayToFill => ({
          symbol: p.symbol,
          day: p.day,
          why: `${job.provider} failed: ${p.error ?? "unknown error"}`
        })
      )
    const coverage = yield* Ledger.use((l) =>
      l.coverage({ frame: job.frame, symbols: job.symbols, from: job.startDay, to: job.endDay })
    )
    const empty = coverage
      .filter((r) => r.jobId === job.id && r.status === "empty" && r.expected > 0)
      .map((r): DayToFill => ({ symbol: r.symbol, day: r.day, why: `${job.provider} returned no bars` }))
    return [...failed, ...empty].sort((a, b) =>
      a.symbol === b.symbol ? (a.day < b.day ? -1 : 1) : a.symbol < b.symbol ? -1 : 1
    )
  })

/** Notes on the ledger which of `fills` job `job` filled (recorded done with bars), and why. */
export const noteFills = (job: JobRecord, fills: ReadonlyArray<DayToFill>) =>
  Effect.gen(function* () {
    const done = new Set(
      (yield* Jobs.use((j) => j.partitions(job.id)))
        .filter((p) => p.state === "done")
        .map((p) => `${p.symbol}|${p.day}`)
    )
    const filled = fills
      .filter((f) => done.has(`${f.symbol}|${f.day}`))
      .map((f) => ({ frame: job.frame, symbol: f.symbol, day: f.day, why: `${f.why}; filled by ${job.provider}` }))
    yield* Ledger.use((l) => l.noteFilled(filled))
    return filled.length
  })

/**
 * Failover along `providers_chain`: after a provider's job, the days the next provider should fill — partitions that
 * failed after their retries, and session days the provider answered with no bars at all — and the chain that applies
 * to a frame. The fill is an ordinary job of the next provider over exactly those days, so its bars keep their real
 * provenance and reach the ledger like any others, each with why it came from there (`filled_for`), written in the
 * same transaction as the day.
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
    // Empty days of this provider in the job's window, this job's or an earlier one's (a run killed before its fill
    // left them, and the ledger's covering them keeps this job from asking again).
    const asked = new Set(job.symbols)
    const empty = coverage
      .filter(
        (r) =>
          asked.has(r.symbol) &&
          r.status === "empty" &&
          r.expected > 0 &&
          r.provider === job.provider &&
          r.session === job.session
      )
      .map((r): DayToFill => ({ symbol: r.symbol, day: r.day, why: `${job.provider} returned no bars` }))
    return [...failed, ...empty].sort((a, b) =>
      a.symbol === b.symbol ? (a.day < b.day ? -1 : 1) : a.symbol < b.symbol ? -1 : 1
    )
  })

/** The reason to record with each day the next provider fills: what the one before did, and who filled it. */
export function fillReasons(
  fills: ReadonlyArray<DayToFill>,
  filler: string
): (symbol: string, day: string) => string | undefined {
  const why = new Map(fills.map((f) => [`${f.symbol}|${f.day}`, `${f.why}; filled by ${filler}`]))
  return (symbol, day) => why.get(`${symbol}|${day}`)
}

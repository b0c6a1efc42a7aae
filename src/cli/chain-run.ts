/**
 * `ohlcv ingest` and `ohlcv backfill` along `providers_chain` (when no `--provider` is given and the frame has a
 * chain): the first provider runs the request; each next one fills, as its own job, the days the one before failed
 * (after its retries) or answered with no bars. What still fails at the end of the chain fails the run.
 */
import { Effect, Option } from "effect"
import { storageLayer } from "../pipeline/context.ts"
import { type DayToFill, daysToFill, fillReasons } from "../pipeline/failover.ts"
import type { IngestRequest, IngestSummary } from "../pipeline/ingest.ts"
import { type RunOutcome, runJob } from "../pipeline/job.ts"
import { connectProvider, type ProviderChoice, requestFor, resolveProvider } from "../pipeline/provider-choice.ts"
import type { App } from "./app.ts"
import { PartitionsFailed } from "./exit-codes.ts"
import { printSummary, summaryJson } from "./job-summary.ts"
import type { Output } from "./output.ts"

/** The request without its provider's parts: what to fetch, and how much the ledger already covers. */
export type ChainRequest = Pick<
  IngestRequest,
  "kind" | "symbols" | "from" | "to" | "covered" | "listed" | "now" | "filling"
>

/** The request narrowed to exactly the days left to fill: everything else counts as covered. */
function fillRequest(base: ChainRequest, fills: ReadonlyArray<DayToFill>): ChainRequest {
  const wanted = new Set(fills.map((f) => `${f.symbol}|${f.day}`))
  const days = fills.map((f) => f.day).sort()
  const symbols = base.symbols.filter((s) => fills.some((f) => f.symbol === s))
  return {
    ...base,
    symbols,
    from: (days[0] ?? base.from) as ChainRequest["from"],
    to: (days.at(-1) ?? base.to) as ChainRequest["to"],
    covered: (symbol: string, day: string) => !wanted.has(`${symbol}|${day}`)
  }
}

const hooksFor = (out: Output) => ({
  notice: (line: string) => out.notice(line),
  progress: (p: Parameters<Output["progress"]>[0], elapsedMs: number) => out.progress(p, elapsedMs),
  fetched: () => out.done()
})

export const runChain = (
  chain: ReadonlyArray<string>,
  choice: ProviderChoice,
  base: ChainRequest,
  app: App,
  out: Output,
  json: boolean
) =>
  Effect.gen(function* () {
    const storage = storageLayer(app)
    const outcomes: Array<RunOutcome> = []
    for (const [i, name] of chain.entries()) {
      // Each provider with its own feed: --feed speaks of the first.
      const resolved = yield* resolveProvider(
        { ...choice, provider: Option.some(name), ...(i === 0 ? {} : { feed: Option.none() }) },
        app
      )
      const before = outcomes.at(-1)
      const fills = before === undefined ? [] : yield* daysToFill(before.summary.job).pipe(Effect.provide(storage))
      if (before !== undefined && fills.length === 0) break
      const request = before === undefined ? base : { ...fillRequest(base, fills), filling: fillReasons(fills, name) }
      if (before !== undefined && !json) {
        out.notice(
          `${name} fills ${fills.length} day(s) ${before.summary.job.provider} left (${fills[0]?.why}${fills.length > 1 ? ", …" : ""})`
        )
      }
      const client = yield* connectProvider(resolved, app)
      // The provider's own settings win over whatever the base request carried from the first.
      const outcome = yield* runJob({ ...request, ...requestFor(resolved, app), client }, app, hooksFor(out))
      outcomes.push(outcome)
      if (!json) printSummary(out, outcome, false)
    }
    if (json) out.result(JSON.stringify({ chain: outcomes.map((o) => summaryJson(o.summary)) }))
    const last = outcomes.at(-1)?.summary as IngestSummary
    // What the last provider failed is what the chain could not fill (its empty days are answers, not failures).
    const failed = last.job.partitionsFailed
    if (failed > 0) return yield* new PartitionsFailed({ count: failed, jobId: last.job.id })
    return last
  })

/**
 * `ohlcv ingest` and `ohlcv backfill` after their input is checked: the run with progress shown, then its summary
 * (the job, its counts, what failed and why).
 */
import { Effect } from "effect"
import type { IngestRequest, IngestSummary } from "../pipeline/ingest.ts"
import { type RunOutcome, runJob } from "../pipeline/job.ts"
import type { App } from "./app.ts"
import { PartitionsFailed } from "./exit-codes.ts"
import { type Output, table } from "./output.ts"

export const summaryJson = (s: IngestSummary) => ({
  job: s.job,
  trading_days: s.tradingDays,
  plan: s.plan,
  failures: s.failures,
  rejected_by_rule: s.rejectedByRule,
  warnings_by_rule: s.warningsByRule,
  ...(s.revalidated === undefined ? {} : { revalidated: s.revalidated })
})

export function printSummary(out: Output, { summary: s, aggregation }: RunOutcome, json: boolean): void {
  if (json) {
    out.result(JSON.stringify({ ...summaryJson(s), ...(aggregation === undefined ? {} : { aggregation }) }))
    return
  }
  const j = s.job
  const lines = [
    `job ${j.id} ${j.state}: ${j.kind} ${j.provider}/${j.feed} ${j.frame} ${j.symbols.length} symbol(s) ${j.startDay}..${j.endDay} (${s.tradingDays} trading days)`,
    `  partitions: ${j.partitionsDone} done, ${j.partitionsFailed} failed of ${j.partitionsTotal}${s.plan.covered > 0 ? `; ${s.plan.covered} skipped (already in the ledger)` : ""}`,
    `  bars: ${j.barsWritten} written, ${j.barsRejected} rejected`
  ]
  if (j.state === "cancelled") {
    const unrun = j.partitionsTotal - j.partitionsDone - j.partitionsFailed
    lines.push(`  cancelled (jobs cancel): ${unrun} partition(s) not run; \`marketpipe jobs retry ${j.id}\` runs them`)
  }
  if (s.revalidated !== undefined) {
    const { revised, unchanged } = s.revalidated
    lines.push(
      `  revalidated: ${unchanged} day(s) as the ledger has them, ${revised} rewritten by the provider${revised > 0 ? " (marketpipe revisions list)" : ""}`
    )
  }
  if (s.tradingDays === 0) lines.push("  no trading days in this range (weekends and holidays only)")
  if (s.plan.notClosed.length > 0)
    lines.push(`  left for later (session not closed yet): ${s.plan.notClosed.join(", ")}`)
  for (const [rule, n] of Object.entries(s.rejectedByRule)) lines.push(`  quarantined by ${rule}: ${n}`)
  for (const [rule, n] of Object.entries(s.warningsByRule)) lines.push(`  warnings from ${rule}: ${n}`)
  if (Object.keys(s.rejectedByRule).length + Object.keys(s.warningsByRule).length > 0) {
    lines.push(`  report: marketpipe ohlcv validate --show ${j.id}`)
  }
  if (aggregation !== undefined && Object.keys(aggregation.rebuilt).length > 0) {
    const frames = Object.entries(aggregation.rebuilt).map(([frame, n]) => `${frame} ${n}`)
    lines.push(`  aggregated days: ${frames.join(", ")} (${aggregation.barsWritten} bars)`)
  }
  if (s.failures.length > 0) {
    // Split requests fail day by day; show one line per symbol and reason.
    const merged = new Map<string, { symbol: string; error: string; days: Array<string> }>()
    for (const f of s.failures) {
      const m = merged.get(`${f.symbol}|${f.error}`) ?? { symbol: f.symbol, error: f.error, days: [] }
      m.days.push(...f.days)
      merged.set(`${f.symbol}|${f.error}`, m)
    }
    lines.push("  failed:")
    lines.push(
      table(
        ["symbol", "days", "error"],
        [...merged.values()].map((m) => {
          const days = [...m.days].sort()
          return [
            m.symbol,
            days.length === 1 ? `${days[0]}` : `${days[0]}..${days[days.length - 1]} (${days.length})`,
            m.error
          ]
        })
      ).replace(/^/gmu, "    ")
    )
  }
  out.result(lines.join("\n"))
}

/**
 * Runs the job and prints its summary. Fails with `PartitionsFailed` (exit 3) when some partitions failed; they are
 * recorded, so the next backfill retries them.
 */
export const finishRun = (request: Omit<IngestRequest, "owner" | "rules">, app: App, out: Output, json: boolean) =>
  Effect.gen(function* () {
    const outcome = yield* runJob(request, app, {
      notice: (line) => out.notice(line),
      progress: (p, elapsedMs) => out.progress(p, elapsedMs),
      fetched: () => out.done()
    })
    printSummary(out, outcome, json)
    const { job, failures } = outcome.summary
    if (failures.length > 0) return yield* new PartitionsFailed({ count: job.partitionsFailed, jobId: job.id })
    return outcome.summary
  })

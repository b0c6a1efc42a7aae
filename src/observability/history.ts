/**
 * Metrics that survive the process. A CLI run ends by storing its counters in the repository; `metrics serve` and
 * long-lived workers start by adding the stored totals, so a dashboard shows what every past run did. Ledger gauges
 * (completeness, freshness) are computed from the repository itself, so they are never per-process either.
 */
import { Clock, Effect } from "effect"
import type { Counter } from "prom-client"
import type { TradingCalendar } from "../domain/calendar.ts"
import { JobRepository } from "../repository/job-repository.ts"
import type { MetricSample } from "../repository/model.ts"
import { type MetricsShape, persistedCounters } from "./metrics.ts"

export async function snapshotCounters(m: MetricsShape): Promise<Array<MetricSample>> {
  const out: Array<MetricSample> = []
  for (const counter of persistedCounters(m)) {
    const data = await counter.get()
    for (const v of data.values) {
      if (v.value === 0) continue
      out.push({
        name: data.name,
        labels: Object.fromEntries(Object.entries(v.labels).map(([k, x]) => [k, String(x)])),
        value: v.value
      })
    }
  }
  return out
}

/** Stores this process's counters as one run (call once, at the end of a CLI run). */
export const persistRun = (m: MetricsShape, runId: string) =>
  Effect.gen(function* () {
    const samples = yield* Effect.promise(() => snapshotCounters(m))
    if (samples.length > 0) yield* JobRepository.use((r) => r.recordMetricSamples(runId, samples))
    return samples.length
  })

/** Adds the stored totals of past runs to this process's counters. */
export const restoreHistory = (m: MetricsShape) =>
  Effect.gen(function* () {
    const totals = yield* JobRepository.use((r) => r.metricTotals({}))
    const byName = new Map(
      persistedCounters(m).map((c) => [(c as unknown as { name: string }).name, c as unknown as Counter<string>])
    )
    for (const t of totals) byName.get(t.name)?.inc(t.labels, t.value)
    return totals.length
  })

/** Sets the completeness and freshness gauges from the ledger, per provider, feed and frame. */
export const refreshLedgerGauges = (m: MetricsShape, calendar: TradingCalendar) =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    for (const s of yield* JobRepository.use((r) => r.coverageSummary())) {
      const labels = { provider: s.provider, feed: s.feed, frame: s.frame }
      if (s.expected > 0) m.completeness.set(labels, s.observed / s.expected)
      const close = s.newestComplete === null ? undefined : calendar.session(s.newestComplete, "regular")?.close
      if (close !== undefined) m.freshness.set(labels, Math.max(0, (now - close) / 1000))
    }
  })

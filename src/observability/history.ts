/**
 * Metrics that survive the process. A CLI run ends by storing its counters and its latency histogram (bucket counts
 * per `le`, `_sum` and `_count`, per label set) in the repository, zeros included, so the label sets a run knew exist
 * later too; `metrics serve` starts by adding the stored totals, so a dashboard shows what every past run did. Ledger
 * gauges (completeness, freshness) are computed from the repository itself, so they are never per-process either.
 * Before a run stores its samples and whenever serving, the series the dashboard and alerts select are made to exist
 * at zero for every provider, feed and frame known from the run, the stored history and the ledger.
 */
import { Clock, Effect } from "effect"
import type { Counter } from "prom-client"
import type { TradingCalendar } from "../domain/calendar.ts"
import { Ledger } from "../repository/ledger.ts"
import { MetricHistory } from "../repository/metric-history.ts"
import type { CoverageSummary, MetricSample } from "../repository/model.ts"
import {
  initialiseKnownSeries,
  type KnownSeries,
  knownFromLabels,
  knownFromRegistry,
  type MetricsShape,
  mergeKnown,
  persistedCounters,
  persistedHistograms
} from "./metrics.ts"

const stringLabels = (labels: Readonly<Record<string, string | number | undefined>>) =>
  Object.fromEntries(
    Object.entries(labels)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => [k, String(x)])
  )

/** Every counter value and histogram sample of the registry, zeros included (a zero says the label set exists). */
export async function snapshotMetrics(m: MetricsShape): Promise<Array<MetricSample>> {
  const out: Array<MetricSample> = []
  for (const counter of persistedCounters(m)) {
    const data = await counter.get()
    for (const v of data.values) out.push({ name: data.name, labels: stringLabels(v.labels), value: v.value })
  }
  for (const histogram of persistedHistograms(m)) {
    for (const v of (await histogram.get()).values) {
      // Label sets in one order (the histogram's labels, then `le`), so stored rows of one series group together.
      const { le, ...rest } = v.labels as Readonly<Record<string, string | number | undefined>>
      const labels = Object.fromEntries(
        histogram.labelNames.flatMap((n) => (rest[n] === undefined ? [] : [[n, rest[n]]]))
      )
      out.push({
        name: v.metricName ?? histogram.name,
        labels: stringLabels(le === undefined ? labels : { ...labels, le }),
        value: v.value
      })
    }
  }
  return out
}

/** The provider/feed pairs of the ledger (its frames are left out: derived frames are built, not ingested). */
const ledgerSources = (summary: ReadonlyArray<CoverageSummary>): KnownSeries => ({
  sources: summary.map((s) => ({ provider: s.provider, feed: s.feed })),
  framed: []
})

/**
 * Stores this process's counters and histograms as one run (call once, at the end of a CLI run). The provider, feed
 * and frame label sets the run produced are first completed at zero (every status class, rule, state...).
 */
export const persistRun = (m: MetricsShape, runId: string) =>
  Effect.gen(function* () {
    const samples = yield* Effect.promise(async () => {
      initialiseKnownSeries(m, await knownFromRegistry(m))
      return snapshotMetrics(m)
    })
    if (samples.length > 0) yield* MetricHistory.use((h) => h.record(runId, samples))
    return samples.length
  })

/** What a serving process has taken from the stored history so far, per metric and label set. */
export type HistorySync = Map<string, number>

export const newHistorySync = (): HistorySync => new Map()

/**
 * Brings this process's counters and histograms up to the stored totals of past runs, then makes the known series
 * exist (those of every provider, feed and frame in the history, and of every provider and feed in the ledger).
 * Run again — before every scrape, for `metrics serve` — it adds only what runs stored since (`synced` keeps what
 * was taken), so a long-lived server shows timer-driven runs as they finish, not only those before it started.
 */
export const restoreHistory = (m: MetricsShape, synced: HistorySync = newHistorySync()) =>
  Effect.gen(function* () {
    const totals = yield* MetricHistory.use((h) => h.totals({}))
    const counters = new Map(
      persistedCounters(m).map((c) => [(c as unknown as { name: string }).name, c as unknown as Counter<string>])
    )
    const histograms = persistedHistograms(m)
    for (const t of totals) {
      const key = `${t.name}${JSON.stringify(t.labels)}`
      const delta = t.value - (synced.get(key) ?? 0)
      // Totals only grow; a smaller one means stored history was pruned, and a counter never goes back.
      if (delta <= 0) continue
      synced.set(key, t.value)
      const counter = counters.get(t.name)
      if (counter !== undefined) counter.inc(t.labels, delta)
      else for (const h of histograms) if (h.restore({ ...t, value: delta })) break
    }
    const ledger = yield* Ledger.use((l) => l.summary())
    initialiseKnownSeries(m, mergeKnown(knownFromLabels(totals.map((t) => t.labels)), ledgerSources(ledger)))
    return totals.length
  })

/**
 * Sets the completeness and freshness gauges from the ledger, per provider, feed and frame, and makes the known series
 * exist: those of the ledger's providers and feeds, and the completions of what the registry already holds (a live
 * process's first request shows its retry and wait series at zero at the next scrape).
 */
export const refreshLedgerGauges = (m: MetricsShape, calendar: TradingCalendar) =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const summary = yield* Ledger.use((l) => l.summary())
    const registry = yield* Effect.promise(() => knownFromRegistry(m))
    initialiseKnownSeries(m, mergeKnown(registry, ledgerSources(summary)))
    for (const s of summary) {
      const labels = { provider: s.provider, feed: s.feed, frame: s.frame }
      if (s.expected > 0) m.completeness.set(labels, s.observed / s.expected)
      const close = s.newestComplete === null ? undefined : calendar.session(s.newestComplete, "regular")?.close
      if (close !== undefined) m.freshness.set(labels, Math.max(0, (now - close) / 1000))
    }
  })

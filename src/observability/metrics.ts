/**
 * MarketPipe's Prometheus metrics: a prom-client registry provided as an Effect layer (`Metrics`). The CLI builds
 * one per process; each test builds its own. The provider kit is handed the instance when its client is made,
 * because plugins run without an Effect context of their own. Every series about a
 * provider carries `provider` and `feed` (and `frame` where it applies). Counters and the latency histogram of short
 * runs are also written to the repository (`metrics_samples`), so `metrics serve` starts from the real totals of past
 * runs, not from zero. The label sets a dashboard panel or alert selects exist from the first scrape, at zero
 * (`initialiseKnownSeries`), so "no retries yet" is a 0 and not an empty panel.
 */
import { Context, Layer } from "effect"
import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client"
import { splitRules } from "../domain/split-check.ts"
import { configurableRules, structuralRules } from "../domain/validation.ts"
import type { JobKind, JobState, PartitionState } from "../repository/model.ts"
import { VERSION } from "../version.ts"
import { RestorableHistogram } from "./restorable-histogram.ts"

export const metricNames = {
  requests: "marketpipe_provider_requests_total",
  errors: "marketpipe_provider_errors_total",
  latency: "marketpipe_provider_request_duration_seconds",
  retries: "marketpipe_provider_retries_total",
  rateLimitWaits: "marketpipe_rate_limit_waits_total",
  rateLimitWaitSeconds: "marketpipe_rate_limit_wait_seconds_total",
  barsIngested: "marketpipe_bars_ingested_total",
  barsQuarantined: "marketpipe_bars_quarantined_total",
  barsWarned: "marketpipe_bars_warned_total",
  partitions: "marketpipe_partitions_total",
  gapsFound: "marketpipe_backfill_gaps_found_total",
  gapsFilled: "marketpipe_backfill_gaps_filled_total",
  jobs: "marketpipe_jobs_total",
  reconcileDifferences: "marketpipe_reconcile_differences_total",
  revisions: "marketpipe_revisions_total",
  completeness: "marketpipe_ledger_completeness_ratio",
  freshness: "marketpipe_data_freshness_seconds",
  eventLoopLag: "event_loop_lag_seconds",
  buildInfo: "marketpipe_build_info"
} as const

const source = ["provider", "feed"] as const
const framed = ["provider", "feed", "frame"] as const

export function makeMetrics() {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 })
  const counter = <L extends string>(name: string, help: string, labelNames: ReadonlyArray<L>) =>
    new Counter({ name, help, labelNames: [...labelNames], registers: [registry] })
  const gauge = <L extends string>(name: string, help: string, labelNames: ReadonlyArray<L>) =>
    new Gauge({ name, help, labelNames: [...labelNames], registers: [registry] })
  const m = {
    registry,
    requests: counter(metricNames.requests, "Provider HTTP requests by status class", [...source, "status_class"]),
    errors: counter(metricNames.errors, "Provider request failures by class (4xx, 5xx, transport, timeout, body)", [
      ...source,
      "status_class"
    ]),
    latency: new RestorableHistogram({
      name: metricNames.latency,
      help: "Provider request latency",
      labelNames: source,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry]
    }),
    retries: counter(metricNames.retries, "Provider requests retried after a retryable failure", source),
    rateLimitWaits: counter(metricNames.rateLimitWaits, "Requests that waited for a rate-limit token", source),
    rateLimitWaitSeconds: counter(metricNames.rateLimitWaitSeconds, "Time spent waiting for rate-limit tokens", source),
    barsIngested: counter(metricNames.barsIngested, "Bars written to the lake", framed),
    barsQuarantined: counter(metricNames.barsQuarantined, "Bars kept out of the lake by an error rule", [
      ...framed,
      "rule"
    ]),
    barsWarned: counter(metricNames.barsWarned, "Bars kept with a warning", [...framed, "rule"]),
    partitions: counter(metricNames.partitions, "Partitions (symbol-days) finished, by state", [...framed, "state"]),
    gapsFound: counter(metricNames.gapsFound, "Partitions a backfill found missing from the ledger", framed),
    gapsFilled: counter(metricNames.gapsFilled, "Partitions a backfill filled", framed),
    jobs: counter(metricNames.jobs, "Jobs finished, by kind and state", ["kind", "state"]),
    reconcileDifferences: counter(
      metricNames.reconcileDifferences,
      "Differences `reconcile` found between two sources, by class",
      ["class", "provider_a", "provider_b"]
    ),
    revisions: counter(
      metricNames.revisions,
      "Days a revalidation found rewritten by their provider (and rewrote in the lake)",
      framed
    ),
    completeness: gauge(metricNames.completeness, "Observed over expected bars in the ledger", framed),
    freshness: gauge(metricNames.freshness, "Seconds since the end of the newest complete bar", framed),
    eventLoopLag: gauge(metricNames.eventLoopLag, "Event loop lag (delay of a timer due now)", []),
    buildInfo: gauge(metricNames.buildInfo, "Build information", ["version", "runtime"])
  }
  m.buildInfo.set({ version: VERSION, runtime: typeof Bun !== "undefined" ? `bun ${Bun.version}` : "deno/node" }, 1)
  return m
}

export type MetricsShape = ReturnType<typeof makeMetrics>

export class Metrics extends Context.Service<Metrics, MetricsShape>()("marketpipe/Metrics") {
  /** A new registry each time the layer is built: whoever provides it decides how far it is shared. */
  static readonly layer = Layer.sync(Metrics, makeMetrics)
}

/** Counters that persist across runs (every counter; the gauges come from the ledger). */
export const persistedCounters = (m: MetricsShape) => [
  m.requests,
  m.errors,
  m.retries,
  m.rateLimitWaits,
  m.rateLimitWaitSeconds,
  m.barsIngested,
  m.barsQuarantined,
  m.barsWarned,
  m.partitions,
  m.gapsFound,
  m.gapsFilled,
  m.jobs,
  m.reconcileDifferences,
  m.revisions
]

/** Histograms that persist across runs: bucket counts, sum and count per label set. */
export const persistedHistograms = (m: MetricsShape) => [m.latency]

/**
 * The label values MarketPipe itself gives series (those not taken from a run's provider, feed and frame): what the
 * kit's status classes, the ingest's partition and job outcomes and the rule set can produce.
 */
export const knownLabelValues = {
  /** `requests` by status class: answers (2xx and the error classes) and failed tries (transport, timeout, body). */
  requestClasses: ["2xx", "4xx", "5xx", "transport", "timeout", "body"],
  errorClasses: ["4xx", "5xx", "transport", "timeout", "body"],
  /** Partitions are counted when they finish. */
  partitionStates: ["done", "failed"] satisfies ReadonlyArray<PartitionState>,
  /** Jobs counted when they finish (ingest and backfill; aggregation and revalidation are not counted). */
  jobKinds: ["ingest", "backfill"] satisfies ReadonlyArray<JobKind>,
  jobStates: ["succeeded", "partial", "failed", "cancelled"] satisfies ReadonlyArray<JobState>,
  /** Any rule may be configured as an error; structural rules always are. */
  quarantineRules: [...configurableRules, ...structuralRules],
  warningRules: [...configurableRules, ...splitRules],
  /** What `reconcile` classifies a difference as (`reconcile/compare.ts`). */
  reconcileClasses: ["missing_a", "missing_b", "price", "volume", "shift"]
} as const

export interface Source {
  readonly provider: string
  readonly feed: string
}

export interface FramedSource extends Source {
  readonly frame: string
}

/** The two providers a `reconcile` run compared (`provider_a`, `provider_b`). */
export interface ProviderPair {
  readonly providerA: string
  readonly providerB: string
}

/** Provider/feed pairs and provider/feed/frame triples whose series should exist, and the pairs reconciled. */
export interface KnownSeries {
  readonly sources: ReadonlyArray<Source>
  readonly framed: ReadonlyArray<FramedSource>
  readonly reconciled?: ReadonlyArray<ProviderPair>
}

const uniqueBy = <A>(items: Iterable<A>, key: (a: A) => string): Array<A> => [
  ...new Map([...items].map((a) => [key(a), a])).values()
]

/**
 * The provider/feed(/frame) label sets that samples carry (a sample without provider and feed adds nothing), and the
 * provider pairs of reconcile samples.
 */
export function knownFromLabels(
  labelSets: Iterable<Readonly<Record<string, string | number | undefined>>>
): KnownSeries {
  const sources: Array<Source> = []
  const framed: Array<FramedSource> = []
  const reconciled: Array<ProviderPair> = []
  for (const l of labelSets) {
    if (l.provider_a !== undefined && l.provider_b !== undefined) {
      reconciled.push({ providerA: String(l.provider_a), providerB: String(l.provider_b) })
    }
    if (l.provider === undefined || l.feed === undefined) continue
    const s = { provider: String(l.provider), feed: String(l.feed) }
    sources.push(s)
    if (l.frame !== undefined) framed.push({ ...s, frame: String(l.frame) })
  }
  return { sources, framed, reconciled }
}

/** The union of several `KnownSeries`, without repeats. */
export const mergeKnown = (...all: ReadonlyArray<KnownSeries>): KnownSeries => ({
  sources: uniqueBy(
    all.flatMap((k) => [...k.sources, ...k.framed]).map((s) => ({ provider: s.provider, feed: s.feed })),
    (s) => `${s.provider}\u0000${s.feed}`
  ),
  framed: uniqueBy(
    all.flatMap((k) => k.framed).map((s) => ({ provider: s.provider, feed: s.feed, frame: s.frame })),
    (s) => `${s.provider}\u0000${s.feed}\u0000${s.frame}`
  ),
  reconciled: uniqueBy(
    all.flatMap((k) => k.reconciled ?? []),
    (p) => `${p.providerA}\u0000${p.providerB}`
  )
})

/** What this registry's counters and histograms already hold series for (the ledger gauges are left out). */
export async function knownFromRegistry(m: MetricsShape): Promise<KnownSeries> {
  const labelSets: Array<Readonly<Record<string, string | number | undefined>>> = []
  for (const metric of [...persistedCounters(m), ...persistedHistograms(m)]) {
    for (const v of (await metric.get()).values) labelSets.push(v.labels)
  }
  return knownFromLabels(labelSets)
}

/**
 * Makes every series the dashboard and the alerts select exist, at zero where nothing was counted yet: request,
 * error (per status class), retry, rate-limit and latency series per provider and feed (a feed only counted through
 * its bars, like the fake provider's, gets them too, and so appears in the dashboard's provider list); bars, gaps,
 * partitions (per state) and validation series (per rule) per provider, feed and frame; jobs per kind and state;
 * reconcile differences per class for every provider pair reconciled. Adding zero never changes a value, so this can
 * run as often as wanted.
 */
export function initialiseKnownSeries(m: MetricsShape, known: KnownSeries): void {
  const k = mergeKnown(known)
  for (const s of k.sources) {
    const labels = { provider: s.provider, feed: s.feed }
    for (const status_class of knownLabelValues.requestClasses) m.requests.inc({ ...labels, status_class }, 0)
    for (const status_class of knownLabelValues.errorClasses) m.errors.inc({ ...labels, status_class }, 0)
    m.retries.inc(labels, 0)
    m.rateLimitWaits.inc(labels, 0)
    m.rateLimitWaitSeconds.inc(labels, 0)
    m.latency.zero(labels)
  }
  for (const f of k.framed) {
    const labels = { provider: f.provider, feed: f.feed, frame: f.frame }
    m.barsIngested.inc(labels, 0)
    m.gapsFound.inc(labels, 0)
    m.gapsFilled.inc(labels, 0)
    m.revisions.inc(labels, 0)
    for (const state of knownLabelValues.partitionStates) m.partitions.inc({ ...labels, state }, 0)
    for (const rule of knownLabelValues.quarantineRules) m.barsQuarantined.inc({ ...labels, rule }, 0)
    for (const rule of knownLabelValues.warningRules) m.barsWarned.inc({ ...labels, rule }, 0)
  }
  for (const kind of knownLabelValues.jobKinds) {
    for (const state of knownLabelValues.jobStates) m.jobs.inc({ kind, state }, 0)
  }
  for (const p of k.reconciled ?? []) {
    for (const c of knownLabelValues.reconcileClasses) {
      m.reconcileDifferences.inc({ class: c, provider_a: p.providerA, provider_b: p.providerB }, 0)
    }
  }
}

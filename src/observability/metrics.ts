/**
 * MarketPipe's Prometheus metrics: one prom-client registry per process, provided as an Effect layer (`Metrics`)
 * and also reachable from the provider kit, which plugins use without an Effect context. Every series about a
 * provider carries `provider` and `feed` (and `frame` where it applies). Counters of short runs are also written to
 * the repository (`metrics_samples`), so `metrics serve` starts from the real totals of past runs, not from zero.
 */
import { Context, Layer } from "effect"
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client"
import { VERSION } from "../version.ts"

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
    latency: new Histogram({
      name: metricNames.latency,
      help: "Provider request latency",
      labelNames: [...source],
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
    completeness: gauge(metricNames.completeness, "Observed over expected bars in the ledger", framed),
    freshness: gauge(metricNames.freshness, "Seconds since the end of the newest complete bar", framed),
    eventLoopLag: gauge(metricNames.eventLoopLag, "Event loop lag (delay of a timer due now)", []),
    buildInfo: gauge(metricNames.buildInfo, "Build information", ["version", "runtime"])
  }
  m.buildInfo.set({ version: VERSION, runtime: typeof Bun !== "undefined" ? `bun ${Bun.version}` : "deno/node" }, 1)
  return m
}

export type MetricsShape = ReturnType<typeof makeMetrics>

let processMetrics: MetricsShape | undefined
/** The process-wide instance (created on first use). */
export const currentMetrics = (): MetricsShape => {
  processMetrics ??= makeMetrics()
  return processMetrics
}

export class Metrics extends Context.Service<Metrics, MetricsShape>()("marketpipe/Metrics") {
  static readonly layer = Layer.sync(Metrics, currentMetrics)
}

/** Counters that persist across runs (everything but gauges and histograms). */
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
  m.jobs
]

import { describe, expect, test } from "bun:test"
import { join } from "node:path"
import { Effect, Layer, Option } from "effect"
import { metricsShowMain } from "../../src/cli/commands/metrics.ts"
import { makeCalendar } from "../../src/domain/calendar.ts"
import { persistRun, refreshLedgerGauges, restoreHistory } from "../../src/observability/history.ts"
import { knownLabelValues, makeMetrics } from "../../src/observability/metrics.ts"
import { sqliteLayer } from "../../src/repository/layer.ts"
import { MetricHistory } from "../../src/repository/metric-history.ts"
import { backfillFlags, backfillIn } from "../support/backfill.ts"
import { capture } from "../support/capture.ts"
import { useTempDirs } from "../support/temp.ts"

const fresh = useTempDirs("mp-metrics-")

const valueOf = async (m: ReturnType<typeof makeMetrics>, name: string, labels: Record<string, string>) =>
  (await m.registry.getSingleMetric(name)?.get())?.values.find((v) =>
    Object.entries(labels).every(([k, x]) => v.labels[k] === x)
  )?.value

describe("metrics history", () => {
  test("two separate runs store their counters; metrics show reports the combined totals", async () => {
    const cwd = fresh()
    // Each backfill is its own CLI run: its counters are stored when it ends.
    await backfillIn(
      cwd,
      backfillFlags({ symbols: Option.some("AAPL"), from: Option.some("2024-03-04"), to: Option.some("2024-03-05") })
    )
    await backfillIn(
      cwd,
      backfillFlags({
        symbols: Option.some("AAPL,MSFT"),
        from: Option.some("2024-03-04"),
        to: Option.some("2024-03-06")
      })
    )
    const show = async (metric?: string) =>
      JSON.parse(
        (
          await capture(() =>
            Effect.runPromise(
              metricsShowMain(
                {
                  metric: metric === undefined ? Option.none() : Option.some(metric),
                  since: Option.none(),
                  config: Option.none(),
                  dataDir: Option.none(),
                  json: true
                },
                { env: {}, cwd }
              )
            )
          )
        ).stdout
      ) as Array<{ name: string; labels: Record<string, string>; value: number; runs: number }>
    const bars = (await show("marketpipe_bars_ingested_total")).find((t) => t.labels.provider === "fake")
    // The in-process test runs share one registry, so compare against what the two runs wrote: 2 days, then 4 new days.
    expect(bars?.runs).toBe(2)
    expect(bars?.labels).toMatchObject({ provider: "fake", feed: "synthetic", frame: "1m" })
    const gaps = (await show("marketpipe_backfill_gaps_found_total"))[0]
    expect(gaps?.runs).toBe(2)
    const all = await show()
    expect(new Set(all.map((t) => t.name))).toContain("marketpipe_partitions_total")
    const table = await capture(() =>
      Effect.runPromise(
        metricsShowMain(
          {
            metric: Option.none(),
            since: Option.some("2000-01-01"),
            config: Option.none(),
            dataDir: Option.none(),
            json: false
          },
          { env: {}, cwd }
        )
      )
    )
    expect(table.stdout).toMatch(/marketpipe_bars_ingested_total\s+provider=fake,feed=synthetic,frame=1m\s+\d+\s+2/)
    const text = await capture(() =>
      Effect.runPromise(
        metricsShowMain(
          {
            metric: Option.some("nope_total"),
            since: Option.none(),
            config: Option.none(),
            dataDir: Option.none(),
            json: false
          },
          { env: {}, cwd }
        )
      )
    )
    expect(text.stdout).toMatch(/no metrics recorded yet/)
    const bad = await Effect.runPromiseExit(
      metricsShowMain(
        {
          metric: Option.none(),
          since: Option.some("yesterday-ish"),
          config: Option.none(),
          dataDir: Option.none(),
          json: true
        },
        { env: {}, cwd }
      )
    )
    expect(bad._tag).toBe("Failure")
  })

  test("a fresh registry restored from history starts at the stored totals; ledger gauges come from the repository", async () => {
    const dir = fresh()
    const layer = Layer.mergeAll(sqliteLayer(join(dir, "mp.db")))
    const first = makeMetrics()
    first.barsIngested.inc({ provider: "p", feed: "f", frame: "1m" }, 100)
    first.errors.inc({ provider: "p", feed: "f", status_class: "5xx" }, 2)
    const second = makeMetrics()
    second.barsIngested.inc({ provider: "p", feed: "f", frame: "1m" }, 50)
    await Effect.runPromise(
      Effect.gen(function* () {
        // Two counted series, and the zeros that complete them (every status class, rule, state, the histogram...).
        const stored = yield* persistRun(first, "run-1")
        expect(stored).toBeGreaterThan(2)
        yield* persistRun(second, "run-2")
      }).pipe(Effect.provide(layer))
    )
    const serving = makeMetrics()
    await Effect.runPromise(restoreHistory(serving).pipe(Effect.provide(layer)))
    expect(await valueOf(serving, "marketpipe_bars_ingested_total", { provider: "p" })).toBe(150)
    expect(await valueOf(serving, "marketpipe_provider_errors_total", { status_class: "5xx" })).toBe(2)

    const cwd = fresh()
    await backfillIn(
      cwd,
      backfillFlags({ symbols: Option.some("AAPL"), from: Option.some("2024-03-04"), to: Option.some("2024-03-05") })
    )
    const gauges = makeMetrics()
    await Effect.runPromise(
      refreshLedgerGauges(gauges, makeCalendar()).pipe(Effect.provide(sqliteLayer(join(cwd, "data", "marketpipe.db"))))
    )
    expect(await valueOf(gauges, "marketpipe_ledger_completeness_ratio", { provider: "fake", frame: "1m" })).toBe(1)
    const lag = await valueOf(gauges, "marketpipe_data_freshness_seconds", { provider: "fake", frame: "1m" })
    expect(lag).toBeGreaterThan(0)
  })

  test("a run's latency histogram is stored per bucket and restored: buckets, sum and count add up over runs", async () => {
    const layer = sqliteLayer(join(fresh(), "mp.db"))
    const source = { provider: "p", feed: "f" }
    const first = makeMetrics()
    for (const seconds of [0.07, 0.07, 3]) first.latency.observe(source, seconds)
    const second = makeMetrics()
    second.latency.observe(source, 0.2)
    second.latency.observe({ provider: "p", feed: "g" }, 40)
    await Effect.runPromise(
      Effect.gen(function* () {
        yield* persistRun(first, "run-1")
        yield* persistRun(second, "run-2")
      }).pipe(Effect.provide(layer))
    )
    const totals = await Effect.runPromise(
      MetricHistory.use((r) => r.totals({ name: "marketpipe_provider_request_duration_seconds_bucket" })).pipe(
        Effect.provide(layer)
      )
    )
    expect(totals.find((t) => t.labels.feed === "f" && t.labels.le === "0.1")).toMatchObject({ value: 2, runs: 2 })
    expect(totals.find((t) => t.labels.feed === "f" && t.labels.le === "+Inf")).toMatchObject({ value: 4, runs: 2 })

    const serving = makeMetrics()
    await Effect.runPromise(restoreHistory(serving).pipe(Effect.provide(layer)))
    const series = async () => {
      const out = new Map<string, number>()
      for (const v of (await serving.latency.get()).values) {
        const labels = v.labels as Record<string, string | number>
        out.set(`${v.metricName}|${labels.feed}|${labels.le ?? ""}`, v.value)
      }
      return out
    }
    const name = "marketpipe_provider_request_duration_seconds"
    let restored = await series()
    expect(restored.get(`${name}_bucket|f|0.05`)).toBe(0)
    expect(restored.get(`${name}_bucket|f|0.1`)).toBe(2)
    expect(restored.get(`${name}_bucket|f|0.25`)).toBe(3)
    expect(restored.get(`${name}_bucket|f|5`)).toBe(4)
    expect(restored.get(`${name}_bucket|f|+Inf`)).toBe(4)
    expect(restored.get(`${name}_count|f|`)).toBe(4)
    expect(restored.get(`${name}_sum|f|`)).toBeCloseTo(3.34, 9)
    expect(restored.get(`${name}_bucket|g|30`)).toBe(0)
    expect(restored.get(`${name}_bucket|g|+Inf`)).toBe(1)
    // A process that observes after the restore adds to the stored totals.
    serving.latency.observe(source, 0.2)
    restored = await series()
    expect(restored.get(`${name}_bucket|f|0.25`)).toBe(4)
    expect(restored.get(`${name}_count|f|`)).toBe(5)
  })

  test("a run stores the series it never counted at zero; serve shows them, and the ledger's providers and feeds", async () => {
    const layer = sqliteLayer(join(fresh(), "mp.db"))
    const run = makeMetrics()
    run.requests.inc({ provider: "alpaca", feed: "iex", status_class: "2xx" }, 3)
    run.latency.observe({ provider: "alpaca", feed: "iex" }, 0.3)
    run.barsIngested.inc({ provider: "alpaca", feed: "iex", frame: "1m" }, 390)
    await Effect.runPromise(persistRun(run, "run-1").pipe(Effect.provide(layer)))
    const totals = await Effect.runPromise(MetricHistory.use((r) => r.totals({})).pipe(Effect.provide(layer)))
    const stored = (name: string, labels: Record<string, string>) =>
      totals.find((t) => t.name === name && JSON.stringify(t.labels) === JSON.stringify(labels))?.value
    const iex = { provider: "alpaca", feed: "iex" }
    expect(stored("marketpipe_provider_retries_total", iex)).toBe(0)
    expect(stored("marketpipe_rate_limit_waits_total", iex)).toBe(0)
    expect(stored("marketpipe_rate_limit_wait_seconds_total", iex)).toBe(0)
    for (const status_class of knownLabelValues.errorClasses) {
      expect(stored("marketpipe_provider_errors_total", { ...iex, status_class }), status_class).toBe(0)
    }
    expect(stored("marketpipe_provider_requests_total", { ...iex, status_class: "2xx" })).toBe(3)
    const iex1m = { ...iex, frame: "1m" }
    for (const rule of knownLabelValues.quarantineRules) {
      expect(stored("marketpipe_bars_quarantined_total", { ...iex1m, rule }), rule).toBe(0)
    }
    for (const rule of knownLabelValues.warningRules) {
      expect(stored("marketpipe_bars_warned_total", { ...iex1m, rule }), rule).toBe(0)
    }
    expect(stored("marketpipe_partitions_total", { ...iex1m, state: "failed" })).toBe(0)
    expect(stored("marketpipe_backfill_gaps_found_total", iex1m)).toBe(0)
    expect(stored("marketpipe_jobs_total", { kind: "backfill", state: "partial" })).toBe(0)

    const serving = makeMetrics()
    await Effect.runPromise(restoreHistory(serving).pipe(Effect.provide(layer)))
    expect(await valueOf(serving, "marketpipe_provider_retries_total", iex)).toBe(0)
    expect(await valueOf(serving, "marketpipe_bars_quarantined_total", { ...iex1m, rule: "ohlc_consistency" })).toBe(0)
    expect(await valueOf(serving, "marketpipe_bars_ingested_total", iex1m)).toBe(390)
    expect(await valueOf(serving, "marketpipe_jobs_total", { kind: "ingest", state: "failed" })).toBe(0)

    // From the ledger alone (a fresh registry, nothing restored): its providers and feeds get their request series at
    // zero; its frames do not (derived frames are built, never ingested or backfilled).
    const cwd = fresh()
    await backfillIn(
      cwd,
      backfillFlags({ symbols: Option.some("AAPL"), from: Option.some("2024-03-04"), to: Option.some("2024-03-05") })
    )
    const fromLedger = makeMetrics()
    await Effect.runPromise(
      refreshLedgerGauges(fromLedger, makeCalendar()).pipe(
        Effect.provide(sqliteLayer(join(cwd, "data", "marketpipe.db")))
      )
    )
    const fake = { provider: "fake", feed: "synthetic" }
    expect(await valueOf(fromLedger, "marketpipe_provider_requests_total", { ...fake, status_class: "2xx" })).toBe(0)
    expect(await valueOf(fromLedger, "marketpipe_rate_limit_waits_total", fake)).toBe(0)
    expect(await valueOf(fromLedger, "marketpipe_ledger_completeness_ratio", { ...fake, frame: "5m" })).toBe(1)
    expect(await valueOf(fromLedger, "marketpipe_bars_ingested_total", { ...fake, frame: "5m" })).toBeUndefined()
  })
})

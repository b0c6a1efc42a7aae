import { describe, expect, test } from "bun:test"
import { join } from "node:path"
import { Effect, Layer, Option } from "effect"
import { metricsShowMain } from "../../src/cli/commands/metrics.ts"
import { makeCalendar } from "../../src/domain/calendar.ts"
import { persistRun, refreshLedgerGauges, restoreHistory } from "../../src/observability/history.ts"
import { makeMetrics } from "../../src/observability/metrics.ts"
import { sqliteLayer } from "../../src/repository/layer.ts"
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
        expect(yield* persistRun(first, "run-1")).toBe(2)
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
})

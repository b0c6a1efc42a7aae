/**
 * Case `backfill`: the binary's `ohlcv backfill --provider alpaca` from the emulator as its own process, which
 * enforces a quota per key (fixed windows with Alpaca's `X-Ratelimit-*` headers, 429 past it); the config gives the
 * plugin the same quota, as a user on that plan sets it. A fresh emulator per run, so no run inherits another's
 * window. Reported against the quota floor: the least wall time the quota allows for the requests the run needed,
 * a burst of the quota, then one request per period / quota. Aggregation off: this is the fetch path.
 */
import { type BenchCase, reported } from "./lib/case.ts"
import { startEmulatorProcess } from "./lib/emulator-process.ts"
import { inTempDir, type JobRun, noAggregation, runJob, writeConfig } from "./lib/marketpipe.ts"
import { runsOr, sizes, spanLabel } from "./lib/sizes.ts"
import { count, median, megabytes, ratio, seconds } from "./lib/stats.ts"

export const backfillCase: BenchCase = {
  name: "backfill",
  title: "backfill under a quota (emulator in its own process) vs the quota floor",
  run: (ctx) =>
    inTempDir("backfill", async (dir) => {
      const span = sizes.backfill
      const quota = sizes.backfillQuota
      const runs = runsOr(3)
      const config = writeConfig(
        dir,
        "quota.yaml",
        `${noAggregation}providers:\n  alpaca:\n    rate_limit:\n      requests: ${quota.requests}\n      per_seconds: ${quota.perSeconds}\n`
      )
      const results: Array<{ run: JobRun; served: number; limited: number; floorMs: number }> = []
      for (let i = 0; i < runs; i++) {
        const emulator = await startEmulatorProcess(["--rate-limit", `alpaca=${quota.requests}/${quota.perSeconds}`])
        try {
          const run = await runJob(ctx.binary, {
            command: "backfill",
            provider: "alpaca",
            span,
            config,
            env: emulator.alpacaEnv
          })
          const stats = await emulator.stats()
          const limited = stats.rateLimited
          const served = (stats.byPath["/v2/stocks/bars"] ?? 0) - limited
          const floorMs = Math.max(0, served - quota.requests) * ((quota.perSeconds * 1000) / quota.requests)
          results.push({ run, served, limited, floorMs })
          console.log(
            `  run ${i + 1}/${runs}: ${seconds(run.ms)}, floor ${seconds(floorMs)}, ${served} requests, ${limited} answered 429`
          )
        } finally {
          await emulator.stop()
        }
      }
      const bars = results[0]?.run.bars ?? 0
      for (const r of results) if (r.run.bars !== bars) throw new Error(`runs wrote ${r.run.bars} and ${bars} bars`)
      const wallMs = median(results.map((r) => r.run.ms))
      const floorMs = median(results.map((r) => r.floorMs))
      const over = median(results.map((r) => (r.floorMs > 0 ? r.run.ms / r.floorMs : Number.NaN)))
      const verdict = reported("backfill wall / quota floor", over, ratio(over))
      ctx.record("backfill", [
        ctx.label(`${spanLabel(span)}, ${quota.requests} req / ${quota.perSeconds} s`),
        runs,
        count(bars),
        seconds(wallMs),
        seconds(floorMs),
        verdict.shown,
        `${count(median(results.map((r) => r.served)))} (${count(median(results.map((r) => r.limited)))} answered 429)`,
        megabytes(median(results.map((r) => r.run.maxRssBytes)))
      ])
      return [verdict]
    })
}

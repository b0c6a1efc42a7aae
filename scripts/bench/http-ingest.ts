/**
 * Case `http`: the binary's `ohlcv ingest --provider alpaca` over HTTP from the emulator running as its own process
 * with every page pre-rendered (`emulator.ts --page-cache`, warmed by one untimed pass before anything is timed),
 * no quota on either side (the quota has its own case, `backfill`). Baseline in the same run: `--provider fake` of
 * the same symbols and days. Both with `aggregation: {after_ingest: false}`, so the ratio is the cost of the wire
 * (requests, JSON pages of the extended session, decoding) against bars made in process; runs interleaved.
 */
import { atLeast, type BenchCase, verdictCell } from "./lib/case.ts"
import { startEmulatorProcess } from "./lib/emulator-process.ts"
import { inTempDir, type JobRun, noAggregation, runJob, writeConfig } from "./lib/marketpipe.ts"
import { runsOr, sizes, spanLabel } from "./lib/sizes.ts"
import { count, median, megabytes, seconds } from "./lib/stats.ts"

// The plugin's own client-side limit (Alpaca's Basic plan, 200/min) lifted as for an unlimited plan.
const unlimited = "providers:\n  alpaca:\n    rate_limit:\n      requests: 1000000\n      per_seconds: 1\n"

export const httpCase: BenchCase = {
  name: "http",
  title: "HTTP ingest (alpaca plugin, emulator in its own process, pages pre-rendered) vs the fake provider",
  run: (ctx) =>
    inTempDir("http", async (dir) => {
      const span = sizes.http
      const runs = runsOr(3)
      const config = writeConfig(dir, "http.yaml", `${noAggregation}${unlimited}`)
      const emulator = await startEmulatorProcess(["--page-cache"])
      const http: Array<JobRun> = []
      const fake: Array<JobRun> = []
      let requests = 0
      try {
        const overHttp = () =>
          runJob(ctx.binary, { command: "ingest", provider: "alpaca", span, config, env: emulator.alpacaEnv })
        const inProcess = () => runJob(ctx.binary, { command: "ingest", provider: "fake", span, config })
        const warm = await overHttp()
        await inProcess()
        console.log(`  warm-up (renders every page once, untimed): ${seconds(warm.ms)}`)
        await emulator.resetStats()
        for (let i = 0; i < runs; i++) {
          http.push(await overHttp())
          fake.push(await inProcess())
          console.log(`  run ${i + 1}/${runs}: HTTP ${seconds(http[i]?.ms ?? 0)}, fake ${seconds(fake[i]?.ms ?? 0)}`)
        }
        const stats = await emulator.stats()
        requests = (stats.byPath["/v2/stocks/bars"] ?? 0) / runs
      } finally {
        await emulator.stop()
      }
      const bars = fake[0]?.bars ?? 0
      for (const r of [...http, ...fake]) if (r.bars !== bars) throw new Error(`runs wrote ${r.bars} and ${bars} bars`)
      const httpMs = median(http.map((r) => r.ms))
      const fakeMs = median(fake.map((r) => r.ms))
      const rate = (ms: number) => bars / (ms / 1000)
      const verdict = atLeast("HTTP ingest / fake-provider ingest", rate(httpMs) / rate(fakeMs), 0.6)
      ctx.record("http", [
        ctx.label(spanLabel(span)),
        runs,
        count(bars),
        count(requests),
        `${seconds(httpMs)}, ${count(rate(httpMs))}/s`,
        `${seconds(fakeMs)}, ${count(rate(fakeMs))}/s`,
        verdictCell(verdict),
        megabytes(median(http.map((r) => r.maxRssBytes)))
      ])
      return [verdict]
    })
}

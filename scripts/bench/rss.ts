/**
 * Case `rss`: peak resident memory of the binary's `ohlcv backfill --provider fake` with the default config (as a
 * user runs it: aggregation on) over a short span (100 symbols × 2 months) and a long one (× 2 years), each into a
 * fresh data dir; runs interleaved. Peak RSS is the kernel's high-water mark for the process (`lib/child.ts`).
 * Targets: the long span ≤ 300 MB, and ≤ 1.3× the short one (memory must not grow with the range).
 */
import { atMost, type BenchCase, verdictCell } from "./lib/case.ts"
import { type JobRun, runJob } from "./lib/marketpipe.ts"
import { runsOr, sizes, spanLabel } from "./lib/sizes.ts"
import { count, median, megabytes, seconds } from "./lib/stats.ts"

export const rssCase: BenchCase = {
  name: "rss",
  title: "peak RSS of backfill, 2 months vs 2 years",
  run: async (ctx) => {
    const runs = runsOr(3)
    const short: Array<JobRun> = []
    const long: Array<JobRun> = []
    for (let i = 0; i < runs; i++) {
      short.push(await runJob(ctx.binary, { command: "backfill", provider: "fake", span: sizes.rssShort }))
      long.push(await runJob(ctx.binary, { command: "backfill", provider: "fake", span: sizes.rssLong }))
      const [s, l] = [short[i], long[i]] as [JobRun, JobRun]
      console.log(
        `  run ${i + 1}/${runs}: short ${megabytes(s.maxRssBytes)} in ${seconds(s.ms)}, long ${megabytes(l.maxRssBytes)} in ${seconds(l.ms)}`
      )
    }
    const shortRss = median(short.map((r) => r.maxRssBytes))
    const longRss = median(long.map((r) => r.maxRssBytes))
    const verdicts = [
      atMost("peak RSS, long span", longRss / 2 ** 20, 300, " MB"),
      atMost("peak RSS, long / short span", longRss / shortRss, 1.3)
    ]
    const cell = (rs: ReadonlyArray<JobRun>) =>
      `${count(rs[0]?.bars ?? 0)} bars, ${seconds(median(rs.map((r) => r.ms)))}, ${megabytes(median(rs.map((r) => r.maxRssBytes)))}`
    ctx.record("rss", [
      ctx.label(`${spanLabel(sizes.rssShort)} / ${spanLabel(sizes.rssLong)}`),
      runs,
      cell(short),
      cell(long),
      ...verdicts.map(verdictCell)
    ])
    return verdicts
  }
}

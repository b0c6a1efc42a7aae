/**
 * Case `ingest`: the compiled binary's `ohlcv ingest --provider fake` of a span of regular-session 1m bars into a
 * fresh data dir (fake → validate → Parquet → ledger, the whole binary as a user runs it), once with the default
 * config (aggregation on) and once with `aggregation: {after_ingest: false}`. Baseline in the same run: DuckDB
 * generating as many bars and writing them as ZSTD Parquet partitioned by symbol and month (`lib/duck-bars.ts`).
 * The three are interleaved in each run, so a noisy neighbour hits all of them alike.
 */
import { DuckDBInstance } from "@duckdb/node-api"
import { atLeast, type BenchCase, verdictCell } from "./lib/case.ts"
import { duckWriteBars } from "./lib/duck-bars.ts"
import { inTempDir, type JobRun, noAggregation, runJob, writeConfig } from "./lib/marketpipe.ts"
import { runsOr, sizes, spanLabel } from "./lib/sizes.ts"
import { count, median, megabytes, seconds } from "./lib/stats.ts"

export const ingestCase: BenchCase = {
  name: "ingest",
  title: "ingest (fake → validate → Parquet, whole binary) vs DuckDB generate + COPY",
  run: (ctx) =>
    inTempDir("ingest", async (dir) => {
      const span = sizes.ingest
      const runs = runsOr(3)
      const off = writeConfig(dir, "no-aggregation.yaml", noAggregation)
      const db = await DuckDBInstance.create(":memory:")
      const conn = await db.connect()
      const on: Array<JobRun> = []
      const without: Array<JobRun> = []
      const duck: Array<{ rows: number; ms: number }> = []
      try {
        for (let i = 0; i < runs; i++) {
          on.push(await runJob(ctx.binary, { command: "ingest", provider: "fake", span }))
          without.push(await runJob(ctx.binary, { command: "ingest", provider: "fake", span, config: off }))
          duck.push(await inTempDir("duck", (out) => duckWriteBars(conn, span, out)))
          const [a, b, c] = [on[i], without[i], duck[i]] as [JobRun, JobRun, { ms: number }]
          console.log(`  run ${i + 1}/${runs}: on ${seconds(a.ms)}, off ${seconds(b.ms)}, DuckDB ${seconds(c.ms)}`)
        }
      } finally {
        conn.closeSync()
        db.closeSync()
      }
      const bars = on[0]?.bars ?? 0
      for (const r of [...on, ...without]) if (r.bars !== bars) throw new Error(`runs wrote ${r.bars} and ${bars} bars`)
      if (duck[0]?.rows !== bars) throw new Error(`DuckDB wrote ${duck[0]?.rows} rows, the binary ${bars} bars`)
      const onMs = median(on.map((r) => r.ms))
      const offMs = median(without.map((r) => r.ms))
      const duckMs = median(duck.map((r) => r.ms))
      const rate = (ms: number) => bars / (ms / 1000)
      const verdicts = [
        atLeast("ingest, aggregation on / DuckDB", rate(onMs) / rate(duckMs), 0.5),
        atLeast("ingest, aggregation off / DuckDB", rate(offMs) / rate(duckMs), 0.8)
      ]
      ctx.record("ingest", [
        ctx.label(spanLabel(span)),
        runs,
        count(bars),
        `${seconds(onMs)}, ${count(rate(onMs))}/s`,
        `${seconds(offMs)}, ${count(rate(offMs))}/s`,
        `${seconds(duckMs)}, ${count(rate(duckMs))}/s`,
        ...verdicts.map(verdictCell),
        `${megabytes(median(on.map((r) => r.maxRssBytes)))} / ${megabytes(median(without.map((r) => r.maxRssBytes)))}`
      ])
      return verdicts
    })
}

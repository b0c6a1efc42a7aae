/**
 * Case `aggregate`: the binary's standalone `ohlcv aggregate --force` (every frame of every day rebuilt from 1m) over
 * the shared lake (`lib/lake.ts`, 100 symbols × 12 months), against DuckDB computing the same six session-anchored
 * GROUP BYs over the same 1m files and writing each as ZSTD Parquet; runs interleaved. Ratio = DuckDB's time over
 * ours (our 1m bars/s over DuckDB's).
 */
import { join } from "node:path"
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api"
import { atLeast, type BenchCase, verdictCell } from "./lib/case.ts"
import { type ChildRun, cleanEnv, runChild } from "./lib/child.ts"
import { ensureLake } from "./lib/lake.ts"
import { inTempDir } from "./lib/marketpipe.ts"
import { runsOr, sizes, spanLabel } from "./lib/sizes.ts"
import { count, median, megabytes, seconds } from "./lib/stats.ts"

const frames = [
  ["5m", 5],
  ["15m", 15],
  ["30m", 30],
  ["1h", 60],
  ["4h", 240],
  ["1d", 1440]
] as const

/** Buckets anchored at 09:30 New York, regular session only; `is_partial` when a bucket has fewer minutes than its size. */
const groupBy = (files: string, minutes: number, out: string) => `COPY (
  WITH m AS (SELECT *, timezone('America/New_York', ts) AS lt FROM read_parquet('${files}')),
  k AS (SELECT *, date_trunc('day', lt) + INTERVAL 570 MINUTE AS lopen FROM m),
  b AS (SELECT *, floor(date_diff('minute', lopen, lt) / ${minutes}) AS bucket FROM k
        WHERE lt >= lopen AND lt < date_trunc('day', lt) + INTERVAL 960 MINUTE)
  SELECT symbol, timezone('America/New_York', lopen + to_minutes(CAST(bucket * ${minutes} AS BIGINT))) AS ts,
    arg_min(open, ts) AS open, max(high) AS high, min(low) AS low, arg_max(close, ts) AS close, sum(volume) AS volume,
    sum(vwap * volume) / sum(volume) AS vwap, sum(trade_count) AS trade_count, count(*) < ${minutes} AS is_partial
  FROM b GROUP BY symbol, lopen, bucket
) TO '${out}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (symbol))`

const duckAggregate = (conn: DuckDBConnection, dataDir: string): Promise<number> =>
  inTempDir("agg-duck", async (dir) => {
    const files = join(dataDir, "ohlcv", "frame=1m", "*", "*.parquet")
    const started = performance.now()
    for (const [frame, minutes] of frames) await conn.run(groupBy(files, minutes, join(dir, frame)))
    return performance.now() - started
  })

export const aggregateCase: BenchCase = {
  name: "aggregate",
  title: "standalone re-aggregation (ohlcv aggregate --force) vs DuckDB GROUP BY",
  run: async (ctx) => {
    const lake = await ensureLake(ctx.binary)
    const runs = runsOr(3)
    const db = await DuckDBInstance.create(":memory:")
    const conn = await db.connect()
    const ours: Array<ChildRun> = []
    const duck: Array<number> = []
    try {
      for (let i = 0; i < runs; i++) {
        ours.push(
          await runChild([ctx.binary, "ohlcv", "aggregate", "--force", "--json"], {
            cwd: join(lake.dataDir, ".."),
            env: cleanEnv({ MARKETPIPE_DATA_DIR: lake.dataDir })
          })
        )
        duck.push(await duckAggregate(conn, lake.dataDir))
        console.log(`  run ${i + 1}/${runs}: MarketPipe ${seconds(ours[i]?.ms ?? 0)}, DuckDB ${seconds(duck[i] ?? 0)}`)
      }
    } finally {
      conn.closeSync()
      db.closeSync()
    }
    const oursMs = median(ours.map((r) => r.ms))
    const duckMs = median(duck)
    const rate = (ms: number) => lake.bars / (ms / 1000)
    const verdict = atLeast("aggregate --force / DuckDB's GROUP BYs", duckMs / oursMs, 1.0)
    ctx.record("aggregate", [
      ctx.label(`${spanLabel(sizes.lake)}, 6 frames`),
      runs,
      count(lake.bars),
      `${seconds(oursMs)}, ${count(rate(oursMs))}/s`,
      `${seconds(duckMs)}, ${count(rate(duckMs))}/s`,
      verdictCell(verdict),
      megabytes(median(ours.map((r) => r.maxRssBytes)))
    ])
    return [verdict]
  }
}

/**
 * Benchmark (on demand: `npm run bench:aggregate`; BENCH_SYMBOLS, BENCH_MONTHS): build 5m, 15m, 30m, 1h, 4h and 1d from
 * ~10 M 1m bars (100 symbols x 12 months of the fake provider), against DuckDB doing the same session-anchored
 * GROUP BYs over the same files and writing them as Parquet. Appends a row to BENCHMARKS.md.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { cpus, tmpdir, totalmem } from "node:os"
import { join } from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import { Effect, Layer, Option } from "effect"
import { runAggregation } from "../../src/aggregation/run.ts"
import { ingestMain } from "../../src/cli/commands/ingest.ts"
import { makeCalendar } from "../../src/domain/calendar.ts"
import { parquetSinkLayer } from "../../src/lake/parquet-sink.ts"
import { sqliteLayer } from "../../src/repository/layer.ts"
import { ingestFlags } from "../../test/support/ingest.ts"
import { runServices } from "../../test/support/run-services.ts"
import { recordRow } from "./record.ts"

const months = Number(process.env.BENCH_MONTHS ?? 12)
const symbols = Array.from(
  { length: Number(process.env.BENCH_SYMBOLS ?? 100) },
  (_, i) => `S${String(i).padStart(3, "0")}`
)
const to = new Date(Date.UTC(2024, months, 0)).toISOString().slice(0, 10)
const cwd = mkdtempSync(join(tmpdir(), "mp-bench-agg-"))
writeFileSync(join(cwd, "marketpipe.yaml"), "config_version: 1\naggregation:\n  after_ingest: false\n")
const dataDir = join(cwd, "data")

await Effect.runPromise(
  ingestMain(ingestFlags({ symbols: symbols.join(","), start: "2024-01-01", end: to, concurrency: Option.some(4) }), {
    env: {},
    cwd
  }).pipe(Effect.provide(runServices()))
)

const frames = ["5m", "15m", "30m", "1h", "4h", "1d"] as const
const started = performance.now()
const summary = await Effect.runPromise(
  runAggregation({ calendar: makeCalendar(), frames, session: "regular", symbols: [], from: "2024-01-01", to }).pipe(
    Effect.provide(Layer.mergeAll(sqliteLayer(join(dataDir, "marketpipe.db")), parquetSinkLayer(dataDir)))
  )
)
const ours = (performance.now() - started) / 1000

const db = await DuckDBInstance.create(":memory:")
const conn = await db.connect()
const count = await conn.runAndReadAll(
  `SELECT count(*) AS n FROM read_parquet('${dataDir}/ohlcv/frame=1m/*/*.parquet')`
)
const bars = Number((count.getRowObjects()[0] as { n: bigint }).n)
mkdirSync(join(cwd, "duck"), { recursive: true })
const duckStarted = performance.now()
for (const [frame, minutes] of [
  ["5m", 5],
  ["15m", 15],
  ["30m", 30],
  ["1h", 60],
  ["4h", 240],
  ["1d", 1440]
] as const) {
  await conn.run(`COPY (
    WITH m AS (SELECT *, timezone('America/New_York', ts) AS lt FROM read_parquet('${dataDir}/ohlcv/frame=1m/*/*.parquet')),
    k AS (SELECT *, date_trunc('day', lt) + INTERVAL 570 MINUTE AS lopen FROM m),
    b AS (SELECT *, floor(date_diff('minute', lopen, lt) / ${minutes}) AS bucket FROM k WHERE lt >= lopen AND lt < date_trunc('day', lt) + INTERVAL 960 MINUTE)
    SELECT symbol, timezone('America/New_York', lopen + to_minutes(CAST(bucket * ${minutes} AS BIGINT))) AS ts,
      arg_min(open, ts) AS open, max(high) AS high, min(low) AS low, arg_max(close, ts) AS close, sum(volume) AS volume,
      sum(vwap * volume) / sum(volume) AS vwap, sum(trade_count) AS trade_count, count(*) < ${minutes} AS is_partial
    FROM b GROUP BY symbol, lopen, bucket
  ) TO '${join(cwd, "duck", frame)}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (symbol))`)
}
const duck = (performance.now() - duckStarted) / 1000
conn.closeSync()
db.closeSync()
rmSync(cwd, { recursive: true, force: true })

const row = {
  bars,
  ours: ours.toFixed(1),
  duck: duck.toFixed(1),
  oursRate: Math.round(bars / ours),
  duckRate: Math.round(bars / duck),
  written: summary.barsWritten
}
console.log(JSON.stringify(row))
recordRow("aggregate", [
  new Date().toISOString().slice(0, 10),
  `${symbols.length} sym x ${months} month(s), 6 frames`,
  bars.toLocaleString("en"),
  `${row.ours} s`,
  row.oursRate.toLocaleString("en"),
  `${row.duck} s`,
  row.duckRate.toLocaleString("en"),
  `${((bars / ours / (bars / duck)) * 100).toFixed(0)}%`,
  `${cpus().length} x ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Bun ${Bun.version}`
])

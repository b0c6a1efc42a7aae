/**
 * Benchmark (run on demand: `npm run bench`): fake-provider ingest of 100 symbols x 20 trading days of 1m bars,
 * then, in the same run, DuckDB writing the same rows as ZSTD Parquet (the baseline). Prints bars/s and peak RSS
 * and appends the result to BENCHMARKS.md with the machine it ran on.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { cpus, tmpdir, totalmem } from "node:os"
import { join } from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import { Effect, Option } from "effect"
import { ingestMain } from "../../src/cli/commands/ingest.ts"
import { ingestFlags } from "../../test/support/ingest.ts"
import { runServices } from "../../test/support/run-services.ts"
import { recordRow } from "./record.ts"

const symbols = Array.from({ length: 100 }, (_, i) => `S${String(i).padStart(3, "0")}`).join(",")
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 4)
const cwd = mkdtempSync(join(tmpdir(), "mp-bench-"))
// The ingest path alone: higher frames have their own benchmark (bench:aggregate).
writeFileSync(join(cwd, "marketpipe.yaml"), "config_version: 1\naggregation:\n  after_ingest: false\n")

const started = performance.now()
const summary = await Effect.runPromise(
  ingestMain(ingestFlags({ symbols, start: "2024-03-01", end: "2024-03-28", concurrency: Option.some(concurrency) }), {
    env: {},
    cwd
  }).pipe(Effect.provide(runServices()))
)
const seconds = (performance.now() - started) / 1000
const bars = summary.job.barsWritten
const peakRssMb = process.resourceUsage().maxRSS / 1024

const db = await DuckDBInstance.create(":memory:")
const conn = await db.connect()
await conn.run(
  `CREATE TABLE bars AS SELECT * FROM read_parquet('${join(cwd, "data/ohlcv")}/*/*/*.parquet', hive_partitioning = true)`
)
const duckStarted = performance.now()
await conn.run(`COPY bars TO '${join(cwd, "duck")}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (frame, symbol))`)
const duckSeconds = (performance.now() - duckStarted) / 1000
conn.closeSync()
db.closeSync()
rmSync(cwd, { recursive: true, force: true })

const row = {
  date: new Date().toISOString().slice(0, 10),
  machine: `${cpus().length} x ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Bun ${Bun.version}`,
  bars,
  seconds: seconds.toFixed(2),
  barsPerSecond: Math.round(bars / seconds),
  peakRssMb: Math.round(peakRssMb),
  duckdbBarsPerSecond: Math.round(bars / duckSeconds)
}
console.log(JSON.stringify(row))
recordRow("ingest", [
  row.date,
  `ingest 100 sym x 20 days 1m, concurrency ${concurrency}`,
  row.bars,
  `${row.seconds} s`,
  row.barsPerSecond.toLocaleString("en"),
  `${row.peakRssMb} MB`,
  row.duckdbBarsPerSecond.toLocaleString("en"),
  row.machine
])

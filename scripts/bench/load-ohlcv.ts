/**
 * Benchmark (run on demand: `bun scripts/bench/load-ohlcv.ts`): `loadOhlcv()` over a lake of 100 symbols x the
 * 2024 trading year of regular-session 1m bars from the fake provider (built once in a temp dir, then reused;
 * `BENCH_LAKE_DIR` picks another place), against DuckDB reading the same files in the same process.
 *
 * Cases: one symbol-year (median of several runs; target <= 50 ms) and the 100-symbol year scan (rows/s; target
 * >= half of DuckDB's rate). The DuckDB baseline runs `SELECT ... FROM read_parquet(...)` with the same range and
 * columns and moves every value into JS typed arrays (strings into an array), the shape `loadOhlcv` returns; DuckDB
 * "in-engine" is the same query materialized in DuckDB's own vectors without making JS values, for reference.
 * Appends the results to the `<!-- bench:load -->` table of BENCHMARKS.md (`BENCH_RECORD=0` only prints them).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { cpus, tmpdir, totalmem } from "node:os"
import { join } from "node:path"
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api"
import { Effect, Option } from "effect"
import { ingestMain } from "../../src/cli/commands/ingest.ts"
import { loadOhlcv, resolveTime } from "../../src/lake/load/load-ohlcv.ts"
import { ingestFlags } from "../../test/support/ingest.ts"
import { runServices } from "../../test/support/run-services.ts"
import { recordRow } from "./record.ts"

const SYMBOLS = Array.from({ length: 100 }, (_, i) => `S${String(i).padStart(3, "0")}`)
const START = "2024-01-01"
const END = "2025-01-01" // half-open: the whole of 2024 in New York
const cwd = process.env.BENCH_LAKE_DIR ?? join(tmpdir(), "mp-bench-load-2024")
const dataDir = join(cwd, "data")
const readyFile = join(cwd, "lake-ready.json")

async function buildLake(): Promise<void> {
  if (existsSync(readyFile)) {
    console.error(`reusing the lake in ${cwd}`)
    return
  }
  console.error(`building 100 symbols x 2024 of 1m bars in ${cwd} (ingest and aggregation: a minute or two)...`)
  const started = performance.now()
  const summary = await Effect.runPromise(
    ingestMain(
      ingestFlags({ symbols: SYMBOLS.join(","), start: "2024-01-01", end: "2024-12-31", concurrency: Option.some(4) }),
      { env: {}, cwd }
    ).pipe(Effect.provide(runServices()))
  )
  const seconds = (performance.now() - started) / 1000
  writeFileSync(readyFile, JSON.stringify({ bars: summary.job.barsWritten, seconds }))
  console.error(`built: ${summary.job.barsWritten} bars in ${seconds.toFixed(1)} s`)
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

/** Median wall time (ms) of `runs` calls after `warmup` unmeasured ones, and the row count the last call gave. */
async function time(warmup: number, runs: number, f: () => Promise<number>): Promise<{ ms: number; rows: number }> {
  let rows = 0
  for (let i = 0; i < warmup; i++) rows = await f()
  const times: Array<number> = []
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    rows = await f()
    times.push(performance.now() - t0)
  }
  return { ms: median(times), rows }
}

const loadRows = async (symbols: ReadonlyArray<string>): Promise<number> =>
  (await loadOhlcv({ symbols, start: START, end: END, dataDir })).length

const startMs = resolveTime("start", START)
const endMs = resolveTime("end", END)

/** The query DuckDB answers: the same files, range and columns (ts as epoch ms, as loadOhlcv returns it). */
const duckSql = (symbols: ReadonlyArray<string>) =>
  `SELECT symbol, epoch_ms(ts) AS ts, open, high, low, close, volume, trade_count::DOUBLE AS trade_count, vwap
   FROM read_parquet('${join(dataDir, "ohlcv", "frame=1m", symbols.length === 1 ? `symbol=${symbols[0]}` : "*")}/*.parquet',
     hive_partitioning = false)
   WHERE ts >= to_timestamp(${startMs / 1000}) AND ts < to_timestamp(${endMs / 1000})`

/** DuckDB into JS: the rows moved into typed arrays (symbols into an array) chunk by chunk, as loadOhlcv returns. */
async function duckRows(conn: DuckDBConnection, symbols: ReadonlyArray<string>): Promise<number> {
  const result = await conn.stream(duckSql(symbols))
  const parts: Array<{ symbol: Array<string>; numbers: Array<Float64Array> }> = []
  let rows = 0
  for (;;) {
    const chunk = await result.fetchChunk()
    if (chunk === null || chunk.rowCount === 0) break
    const n = chunk.rowCount
    const symbol = new Array<string>(n)
    const sv = chunk.getColumnVector(0)
    for (let i = 0; i < n; i++) symbol[i] = String(sv.getItem(i))
    const numbers: Array<Float64Array> = []
    for (let c = 1; c < 9; c++) {
      const v = chunk.getColumnVector(c)
      const out = new Float64Array(n)
      for (let i = 0; i < n; i++) {
        const x = v.getItem(i)
        out[i] = x === null ? Number.NaN : Number(x)
      }
      numbers.push(out)
    }
    parts.push({ symbol, numbers })
    rows += n
  }
  // Concatenate, as loadOhlcv hands back one array per column.
  const symbol = new Array<string>(rows)
  const columns = Array.from({ length: 8 }, () => new Float64Array(rows))
  let at = 0
  for (const p of parts) {
    for (let i = 0; i < p.symbol.length; i++) symbol[at + i] = p.symbol[i] as string
    for (const [c, column] of columns.entries()) column.set(p.numbers[c] as Float64Array, at)
    at += p.symbol.length
  }
  return rows
}

/** DuckDB in-engine: the result materialized in DuckDB's own vectors, no JS values made (its upper bound). */
const duckNative = async (conn: DuckDBConnection, symbols: ReadonlyArray<string>): Promise<number> =>
  (await conn.runAndReadAll(duckSql(symbols))).currentRowCount

await buildLake()

const db = await DuckDBInstance.create(":memory:")
const conn = await db.connect()

const measure = async (symbols: ReadonlyArray<string>, warmup: number, runs: number) => {
  Bun.gc(true)
  const load = await time(warmup, runs, () => loadRows(symbols))
  Bun.gc(true)
  const duck = await time(warmup, runs, () => duckRows(conn, symbols))
  Bun.gc(true)
  const native = await time(warmup, runs, () => duckNative(conn, symbols))
  if (load.rows !== duck.rows || load.rows !== native.rows) {
    throw new Error(`row counts differ: loadOhlcv ${load.rows}, DuckDB ${duck.rows} / ${native.rows}`)
  }
  return { load, duck, native }
}
const one = await measure(["S042"], 3, 11)
const all = await measure(SYMBOLS, 1, 3)
conn.closeSync()
db.closeSync()

const date = new Date().toISOString().slice(0, 10)
const machine = `${cpus().length} x ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Bun ${Bun.version}`
const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024)
const rate = (rows: number, ms: number) => Math.round(rows / (ms / 1000))
const cases = [
  { name: "1 symbol x 2024, 1m, all columns", m: one, target: "<= 50 ms" },
  { name: "100 symbols x 2024, 1m, all columns", m: all, target: ">= 0.5 x DuckDB" }
]
const record = process.env.BENCH_RECORD !== "0"
for (const { name, m, target } of cases) {
  const row = {
    case: name,
    rows: m.load.rows,
    loadMs: Number(m.load.ms.toFixed(1)),
    loadRowsPerSecond: rate(m.load.rows, m.load.ms),
    duckMs: Number(m.duck.ms.toFixed(1)),
    duckRowsPerSecond: rate(m.duck.rows, m.duck.ms),
    ratio: Number((m.duck.ms / m.load.ms).toFixed(2)),
    duckNativeMs: Number(m.native.ms.toFixed(1)),
    duckNativeRowsPerSecond: rate(m.native.rows, m.native.ms)
  }
  console.log(JSON.stringify(row))
  if (!record) continue
  recordRow("load", [
    date,
    name,
    row.rows.toLocaleString("en"),
    `${row.loadMs} ms`,
    row.loadRowsPerSecond.toLocaleString("en"),
    `${row.duckMs} ms`,
    row.duckRowsPerSecond.toLocaleString("en"),
    `${row.ratio} x`,
    `${row.duckNativeMs} ms`,
    row.duckNativeRowsPerSecond.toLocaleString("en"),
    target,
    `${peakRssMb} MB`,
    machine
  ])
}
console.error(`lake kept for the next run: ${cwd} (${JSON.parse(readFileSync(readyFile, "utf8")).bars} bars)`)

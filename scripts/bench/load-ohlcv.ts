/**
 * Case `load`: the public `loadOhlcv()` (from `mod.ts`, in this process, as research code calls it) over the shared
 * lake (`lib/lake.ts`): one symbol over the lake's whole range, and every symbol over it, all columns. Baseline in
 * the same run: DuckDB (`@duckdb/node-api`) answering the same range and columns over the same files with the result
 * moved into JS typed arrays chunk by chunk (the shape loadOhlcv returns); "in-engine" is that query materialised in
 * DuckDB's own vectors, no JS values made, for reference. Targets: one symbol-year ≤ 50 ms; every symbol ≥ 0.5× the
 * DuckDB → JS rate.
 */
import { join } from "node:path"
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api"
import { loadOhlcv } from "../../mod.ts"
import { atLeast, atMost, type BenchCase, verdictCell } from "./lib/case.ts"
import { ensureLake } from "./lib/lake.ts"
import { runsOr, sizes, spanLabel, symbolsOf } from "./lib/sizes.ts"
import { count, median, millis } from "./lib/stats.ts"

/** The day after `day`: loadOhlcv's range is half-open, the lake's span inclusive. */
const dayAfter = (day: string): string =>
  new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10)

const START = sizes.lake.from
const END = dayAfter(sizes.lake.to)

const loadRows = async (dataDir: string, symbols: ReadonlyArray<string>): Promise<number> =>
  (await loadOhlcv({ symbols, start: START, end: END, dataDir })).length

/** The query DuckDB answers: the same files, range (New York midnights) and columns (ts as epoch ms). */
const duckSql = (dataDir: string, symbols: ReadonlyArray<string>) =>
  `SELECT symbol, epoch_ms(ts) AS ts, open, high, low, close, volume, trade_count::DOUBLE AS trade_count, vwap
   FROM read_parquet('${join(dataDir, "ohlcv", "frame=1m", symbols.length === 1 ? `symbol=${symbols[0]}` : "*")}/*.parquet',
     hive_partitioning = false)
   WHERE ts >= timezone('America/New_York', TIMESTAMP '${START} 00:00:00')
     AND ts < timezone('America/New_York', TIMESTAMP '${END} 00:00:00')`

/** DuckDB into JS: each chunk's values moved into typed arrays (symbols into an array), then concatenated. */
async function duckRows(conn: DuckDBConnection, sql: string): Promise<number> {
  const result = await conn.stream(sql)
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

/** Median wall time (ms) of `runs` calls after `warmup` unmeasured ones, and the row count the calls gave. */
async function time(warmup: number, runs: number, f: () => Promise<number>): Promise<{ ms: number; rows: number }> {
  let rows = 0
  for (let i = 0; i < warmup; i++) rows = await f()
  const times: Array<number> = []
  for (let i = 0; i < runs; i++) {
    Bun.gc(true)
    const t0 = performance.now()
    rows = await f()
    times.push(performance.now() - t0)
  }
  return { ms: median(times), rows }
}

export const loadCase: BenchCase = {
  name: "load",
  title: "loadOhlcv vs DuckDB → JS",
  run: async (ctx) => {
    const lake = await ensureLake(ctx.binary)
    const all = symbolsOf(sizes.lake.symbols)
    const db = await DuckDBInstance.create(":memory:")
    const conn = await db.connect()
    const measure = async (symbols: ReadonlyArray<string>, warmup: number, runs: number) => {
      const load = await time(warmup, runs, () => loadRows(lake.dataDir, symbols))
      const duck = await time(warmup, runs, () => duckRows(conn, duckSql(lake.dataDir, symbols)))
      const native = await time(warmup, runs, async () =>
        Number((await conn.runAndReadAll(duckSql(lake.dataDir, symbols))).currentRowCount)
      )
      if (load.rows !== duck.rows || load.rows !== native.rows) {
        throw new Error(`row counts differ: loadOhlcv ${load.rows}, DuckDB ${duck.rows} / ${native.rows}`)
      }
      return { load, duck, native, runs }
    }
    let one: Awaited<ReturnType<typeof measure>>
    let every: Awaited<ReturnType<typeof measure>>
    try {
      one = await measure([all[42 % all.length] as string], 3, 11)
      every = await measure(all, 1, runsOr(3))
    } finally {
      conn.closeSync()
      db.closeSync()
    }
    const rate = (rows: number, ms: number) => rows / (ms / 1000)
    const verdicts = [
      atMost("loadOhlcv, one symbol over the lake", one.load.ms, 50, " ms"),
      atLeast(
        "loadOhlcv, every symbol / DuckDB → JS",
        rate(every.load.rows, every.load.ms) / rate(every.duck.rows, every.duck.ms),
        0.5
      )
    ]
    for (const [m, what, verdict] of [
      [one, `1 of ${spanLabel(sizes.lake)}`, verdicts[0]],
      [every, spanLabel(sizes.lake), verdicts[1]]
    ] as const) {
      ctx.record("load", [
        ctx.label(`${what}, 1m, all columns`),
        m.runs,
        count(m.load.rows),
        `${millis(m.load.ms)}, ${count(rate(m.load.rows, m.load.ms))}/s`,
        `${millis(m.duck.ms)}, ${count(rate(m.duck.rows, m.duck.ms))}/s`,
        `${(m.duck.ms / m.load.ms).toFixed(2)}×`,
        `${millis(m.native.ms)}, ${count(rate(m.native.rows, m.native.ms))}/s`,
        verdict === undefined ? "" : verdictCell(verdict)
      ])
    }
    return verdicts
  }
}

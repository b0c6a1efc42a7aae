/**
 * Benchmark (run on demand: `npm run bench:encode`): the lake's file encoder on one core, in one process. Cases are
 * fake-provider 1m bars (the regular session, no nulls): a symbol-month (21 trading days, 8,190 rows) and 270
 * trading days from 2024-01-02 (104,760 rows: more than one 100,000-row group) encoded by
 *   - the writer before issue 12 (hyparquet-writer, `test/support/legacy-writer.ts`),
 *   - the direct writer (`encodeBars`) and its variants (ZSTD level 1 / 2 / 3, ts DELTA_BINARY_PACKED / PLAIN),
 *   - `zstdCompressSync` of the raw column bytes alone (8 numeric columns x 8 bytes a row, per row group, at levels
 *     1 / 2 / 3): the ceiling of any ZSTD-compressed writer.
 * For reference, DuckDB writing the same rows from one of its tables (`COPY ... (FORMAT parquet, COMPRESSION zstd)`,
 * one thread, to a temp file) in the same run: its Parquet write rate is the target of the whole ingest.
 * Each figure is the median of BENCH_RUNS (default 9) timed calls after 3 untimed ones, all variants taking turns;
 * prints a Markdown table (wall and CPU time: on a shared machine CPU time is the steadier one).
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs"
import { cpus, loadavg, tmpdir, totalmem } from "node:os"
import { join } from "node:path"
import { constants, zstdCompressSync } from "node:zlib"
import { DuckDBInstance } from "@duckdb/node-api"
import { type BarBatch, emptyBatch, makeCalendar, type Symbol } from "../../mod.ts"
import { generateSession } from "../../plugins/fake/generate.ts"
import { type DaySlice, encodeBars, encodeBarsWith, lakeWriterOptions } from "../../src/lake/file-format.ts"
import { legacyEncodeBars } from "../../test/support/legacy-writer.ts"

const RUNS = Number(process.env.BENCH_RUNS ?? 9)
const WARMUP = 3
const calendar = makeCalendar()
const symbol = "AAPL" as Symbol

function tradingDays(from: string, count: number): Array<string> {
  const out: Array<string> = []
  for (let t = Date.parse(`${from}T12:00:00Z`); out.length < count; t += 86_400_000) {
    const day = new Date(t).toISOString().slice(0, 10)
    if (calendar.session(day, "regular") !== undefined) out.push(day)
  }
  return out
}

function slicesOf(days: ReadonlyArray<string>): Array<DaySlice> {
  return days.map((day) => {
    const session = calendar.session(day, "regular")
    if (session === undefined) throw new Error(`${day} is not a trading day`)
    const batch: BarBatch = generateSession(
      symbol,
      session,
      { seed: "bench", missingRate: 0, invalidEvery: 0 },
      emptyBatch
    )
    return { day, batch, provider: "fake", feed: "synthetic" }
  })
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

interface Timing {
  readonly wallMs: number
  readonly cpuMs: number
  readonly bytes: number
}

/**
 * Median wall and CPU ms (user + system of the process) of each of `fs` over RUNS rounds, after WARMUP: one call of
 * each per round, in turn, so a change in the shared machine's load falls on every variant alike. CPU time is the
 * steadier figure when other processes take turns on the cores. Also the last call's result (the file's bytes).
 */
function timeAll(fs: ReadonlyArray<() => number>): Array<Timing> {
  const bytes = fs.map(() => 0)
  const walls = fs.map((): Array<number> => [])
  const cpus = fs.map((): Array<number> => [])
  for (let round = 0; round < WARMUP + RUNS; round++) {
    fs.forEach((f, i) => {
      // Collect the previous variant's garbage outside the timing, or the next one pays for it.
      Bun.gc(true)
      const c0 = process.cpuUsage()
      const t0 = performance.now()
      bytes[i] = f()
      const wall = performance.now() - t0
      const cpu = process.cpuUsage(c0)
      if (round < WARMUP) return
      walls[i]?.push(wall)
      cpus[i]?.push((cpu.user + cpu.system) / 1000)
    })
  }
  return fs.map((_, i) => ({ wallMs: median(walls[i] ?? []), cpuMs: median(cpus[i] ?? []), bytes: bytes[i] ?? 0 }))
}

/** The numeric columns' raw bytes, per row group, compressed: what every ZSTD writer must at least spend. */
function zstdCeiling(slices: ReadonlyArray<DaySlice>, level: number): number {
  const rows = slices.reduce((n, s) => n + s.batch.ts.length, 0)
  const params = { params: { [constants.ZSTD_c_compressionLevel]: level } }
  let bytes = 0
  for (const pick of ["ts", "open", "high", "low", "close", "volume", "tradeCount", "vwap"] as const) {
    const column = new Float64Array(rows)
    let at = 0
    for (const s of slices) {
      column.set(s.batch[pick], at)
      at += s.batch.ts.length
    }
    for (let from = 0; from < rows; from += 100_000) {
      const part = new Uint8Array(column.buffer, from * 8, Math.min(100_000, rows - from) * 8)
      bytes += zstdCompressSync(part, params).length
    }
  }
  return bytes
}

const cases = [
  { name: "1m symbol-month (21 days)", slices: slicesOf(tradingDays("2024-03-01", 21)) },
  { name: "1m, 270 days from 2024-01-02 (2 row groups)", slices: slicesOf(tradingDays("2024-01-02", 270)) }
]

const direct = (level: number, timestamps: "DELTA_BINARY_PACKED" | "PLAIN") => ({
  name: `direct, zstd ${level}, ts ${timestamps === "PLAIN" ? "PLAIN" : "delta"}`,
  run: (s: ReadonlyArray<DaySlice>) => encodeBarsWith(symbol, s, {}, { ...lakeWriterOptions, level, timestamps }).length
})

const variants: ReadonlyArray<{ name: string; run: (slices: ReadonlyArray<DaySlice>) => number }> = [
  { name: "before: hyparquet-writer (zstd 3)", run: (s) => legacyEncodeBars(symbol, s, {}).length },
  {
    name: `after: encodeBars (zstd ${lakeWriterOptions.level}, ts delta)`,
    run: (s) => encodeBars(symbol, s, {}).length
  },
  direct(1, "DELTA_BINARY_PACKED"),
  direct(3, "DELTA_BINARY_PACKED"),
  direct(1, "PLAIN"),
  direct(2, "PLAIN"),
  direct(3, "PLAIN"),
  ...[1, 2, 3].map((level) => ({
    name: `ceiling: zstdCompressSync of the raw columns, level ${level}`,
    run: (s: ReadonlyArray<DaySlice>) => zstdCeiling(s, level)
  }))
]

/** DuckDB's own Parquet writer on the same rows (loaded once into a table), one thread: median ms of COPY. */
async function duckdbCopy(slices: ReadonlyArray<DaySlice>): Promise<Timing> {
  const dir = mkdtempSync(join(tmpdir(), "mp-bench-encode-"))
  const instance = await DuckDBInstance.create(":memory:", { threads: "1" })
  const connection = await instance.connect()
  try {
    const source = join(dir, "source.parquet")
    writeFileSync(source, encodeBars(symbol, slices, {}))
    await connection.run(`CREATE TABLE bars AS SELECT * FROM read_parquet('${source}')`)
    const out = join(dir, "out.parquet")
    const walls: Array<number> = []
    const cpuTimes: Array<number> = []
    for (let round = 0; round < WARMUP + RUNS; round++) {
      const c0 = process.cpuUsage()
      const t0 = performance.now()
      await connection.run(`COPY bars TO '${out}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100000)`)
      const wall = performance.now() - t0
      const cpu = process.cpuUsage(c0)
      if (round < WARMUP) continue
      walls.push(wall)
      cpuTimes.push((cpu.user + cpu.system) / 1000)
    }
    return { wallMs: median(walls), cpuMs: median(cpuTimes), bytes: statSync(out).size }
  } finally {
    connection.closeSync()
    instance.closeSync()
    rmSync(dir, { recursive: true, force: true })
  }
}

const cpu = cpus()[0]?.model ?? "unknown CPU"
console.log(
  `${cpus().length} x ${cpu}, ${Math.round(totalmem() / 1024 ** 3)} GiB, Bun ${Bun.version}, load average ${loadavg()[0]?.toFixed(1)}; median of ${RUNS} runs after ${WARMUP} warm-up\n`
)
console.log("| case | rows | encoder | wall ms | CPU ms | rows/s (CPU) | rows/s (wall) | file bytes | bytes/row |")
console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
const perSecond = (rows: number, ms: number) => Math.round(rows / (ms / 1000)).toLocaleString("en-US")
for (const c of cases) {
  const rows = c.slices.reduce((n, s) => n + s.batch.ts.length, 0)
  const results = [...timeAll(variants.map((v) => () => v.run(c.slices))), await duckdbCopy(c.slices)]
  ;[...variants, { name: "reference: DuckDB COPY TO parquet (zstd, 1 thread)" }].forEach((v, i) => {
    const { wallMs, cpuMs, bytes } = results[i] ?? { wallMs: 0, cpuMs: 0, bytes: 0 }
    const cells = [
      c.name,
      rows.toLocaleString("en-US"),
      v.name,
      wallMs.toFixed(2),
      cpuMs.toFixed(2),
      perSecond(rows, cpuMs),
      perSecond(rows, wallMs),
      bytes.toLocaleString("en-US"),
      (bytes / rows).toFixed(2)
    ]
    console.log(`| ${cells.join(" | ")} |`)
  })
}

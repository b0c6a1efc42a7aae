import { describe, expect, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { Effect, Exit, Fiber, Layer, Option } from "effect"
import { runAggregation } from "../../src/aggregation/run.ts"
import { type AggregateFlags, aggregateMain, parseFrames } from "../../src/cli/commands/aggregate.ts"
import { exitCodeOf } from "../../src/cli/main.ts"
import { makeCalendar } from "../../src/domain/calendar.ts"
import { fileKeyId } from "../../src/lake/layout.ts"
import { makeParquetSink, ParquetSink } from "../../src/lake/parquet-sink.ts"
import { repositoryLayer } from "../../src/repository/layer.ts"
import { capture } from "../support/capture.ts"
import { aggregateFlags, ingestFlags, ingestIn } from "../support/ingest.ts"
import { duckdb, lakeGlob } from "../support/lake.ts"
import { useTempDirs } from "../support/temp.ts"

const calendar = makeCalendar()
const fresh = useTempDirs("mp-agg-")

const aggregate = async (cwd: string, over: Partial<AggregateFlags> = {}) =>
  JSON.parse((await capture(() => Effect.runPromise(aggregateMain(aggregateFlags(over), { env: {}, cwd })))).stdout)

/** DuckDB's answer for session-anchored buckets of `minutes` over the 1m lake (regular session, New York time). */
const duckBuckets = (dataDir: string, minutes: number) =>
  duckdb<Record<string, string | number | null>>(`
    WITH m AS (
      SELECT symbol, ts, open, high, low, close, volume, vwap, trade_count, timezone('America/New_York', ts) AS lt
      FROM ${lakeGlob(dataDir)}
    ), k AS (
      SELECT *, date_trunc('day', lt) + INTERVAL 570 MINUTE AS lopen FROM m
    ), b AS (
      SELECT *, floor(date_diff('minute', lopen, lt) / ${minutes}) AS bucket FROM k
      WHERE lt >= lopen AND lt < date_trunc('day', lt) + INTERVAL 960 MINUTE
    )
    SELECT symbol, strftime(timezone('America/New_York', lopen + to_minutes(CAST(bucket * ${minutes} AS BIGINT))), '%Y-%m-%dT%H:%M:%SZ') AS ts,
      arg_min(open, ts) AS open, max(high) AS high, min(low) AS low, arg_max(close, ts) AS close, sum(volume) AS volume,
      round(sum(vwap * volume) / sum(volume), 6) AS vwap, sum(trade_count)::BIGINT AS trade_count, count(*) AS minutes
    FROM b GROUP BY symbol, lopen, bucket ORDER BY symbol, ts`)

const ours = (dataDir: string, frame: string) =>
  duckdb<Record<string, string | number | boolean | null>>(`
    SELECT symbol, strftime(ts, '%Y-%m-%dT%H:%M:%SZ') AS ts, open, high, low, close, volume, round(vwap, 6) AS vwap,
      trade_count, is_partial
    FROM ${lakeGlob(dataDir, frame)} ORDER BY symbol, ts`)

describe("aggregation over the lake", () => {
  test("5m, 1h and 1d built after an ingest equal DuckDB's session-anchored GROUP BY on the same 1m bars", async () => {
    const cwd = fresh()
    // Thin trading gives buckets with missing minutes; the range spans DST and the Black Friday early close.
    writeFileSync(join(cwd, "marketpipe.yaml"), "config_version: 1\nproviders:\n  fake:\n    missing_rate: 0.05\n")
    await capture(() => ingestIn(cwd, ingestFlags({ symbols: "AAPL,MSFT", start: "2024-03-07", end: "2024-03-12" })))
    await capture(() => ingestIn(cwd, ingestFlags({ symbols: "AAPL,MSFT", start: "2024-11-27", end: "2024-11-29" })))
    const dataDir = join(cwd, "data")
    for (const [frame, minutes] of [
      ["5m", 5],
      ["1h", 60],
      ["1d", 1440]
    ] as const) {
      const expected = await duckBuckets(dataDir, minutes)
      const got = await ours(dataDir, frame)
      expect(got.length).toBe(expected.length)
      got.forEach((row, i) => {
        const e = expected[i] as Record<string, string | number | null>
        expect(`${frame} ${row.symbol} ${row.ts}`).toBe(`${frame} ${e.symbol} ${e.ts}`)
        for (const c of ["open", "high", "low", "close", "volume", "trade_count"])
          expect(String(row[c])).toBe(String(e[c]))
        expect(Number(row.vwap)).toBeCloseTo(Number(e.vwap), 5)
        // A bucket is partial when minutes are missing or an early close cuts it short of its full-day length.
        const day = String(row.ts).slice(0, 10)
        const session = calendar.session(day, "regular")
        const offset = (Date.parse(String(row.ts)) - (session?.open ?? 0)) / 60_000
        const nominal = Math.min(minutes, 390 - offset)
        const actual = Math.min(minutes, ((session?.close ?? 0) - (session?.open ?? 0)) / 60_000 - offset)
        expect(`${frame} ${row.ts} ${row.is_partial}`).toBe(
          `${frame} ${row.ts} ${Number(e.minutes) < actual || actual < nominal}`
        )
      })
    }
  })

  test("incremental: only days whose 1m data changed are rebuilt; --force rebuilds all", async () => {
    const cwd = fresh()
    writeFileSync(
      join(cwd, "marketpipe.yaml"),
      "config_version: 1\naggregation:\n  after_ingest: false\n  frames: [5m, 1d]\n"
    )
    await capture(() => ingestIn(cwd, ingestFlags({ symbols: "AAPL", start: "2024-03-04", end: "2024-03-08" })))
    expect(await aggregate(cwd)).toMatchObject({ rebuilt: { "5m": 5, "1d": 5 }, unchanged: 0 })
    expect(await aggregate(cwd)).toMatchObject({ rebuilt: {}, unchanged: 10 })
    // New 1m data for one day (another seed): only that day is rebuilt.
    writeFileSync(
      join(cwd, "marketpipe.yaml"),
      "config_version: 1\naggregation:\n  after_ingest: false\n  frames: [5m, 1d]\nproviders:\n  fake:\n    seed: other\n"
    )
    await capture(() => ingestIn(cwd, ingestFlags({ symbols: "AAPL", start: "2024-03-06", end: "2024-03-06" })))
    expect(await aggregate(cwd)).toMatchObject({ rebuilt: { "5m": 1, "1d": 1 }, unchanged: 8 })
    const daily = await duckdb<{ n: string; o: number }>(
      `SELECT count(*) AS n, max(open) AS o FROM ${lakeGlob(join(cwd, "data"), "1d")}`
    )
    expect(daily[0]?.n).toBe("5")
    expect(await aggregate(cwd, { force: true, frames: Option.some("1d") })).toMatchObject({ rebuilt: { "1d": 5 } })
    const text = await capture(() =>
      Effect.runPromise(aggregateMain(aggregateFlags({ json: false }), { env: {}, cwd }))
    )
    expect(text.stdout).toMatch(/nothing to aggregate: every day is up to date/)
  })

  test("bad --frames is a usage error", async () => {
    expect(() => parseFrames("5m,2h")).toThrow(/'2h' cannot be built from 1m bars/)
    expect(() => parseFrames(" , ")).toThrow(/name at least one/)
    const exit = await Effect.runPromiseExit(
      aggregateMain(aggregateFlags({ frames: Option.some("1m") }), { env: {}, cwd: fresh() })
    )
    expect(Exit.isFailure(exit) && exitCodeOf(exit, () => {})).toBe(2)
  })
})

describe("an aggregation over months and years", () => {
  test("reads the 1m lake a month at a time, yet writes every file once: a yearly file when its year is done", async () => {
    const cwd = fresh()
    writeFileSync(join(cwd, "marketpipe.yaml"), "config_version: 1\naggregation:\n  after_ingest: false\n")
    const range = { symbols: "AAPL,MSFT", start: "2024-11-27", end: "2025-01-03" }
    expect(Exit.isSuccess((await capture(() => ingestIn(cwd, ingestFlags(range)))).value)).toBe(true)
    const dataDir = join(cwd, "data")
    const written: Array<string> = []
    const lake = makeParquetSink(dataDir)
    const recording = Layer.succeed(ParquetSink, {
      ...lake,
      writeDays: (key, days, metadata, after) => {
        written.push(fileKeyId(key))
        return lake.writeDays(key, days, metadata, after)
      }
    })
    const summary = await Effect.runPromise(
      runAggregation({
        calendar,
        frames: ["1h", "5m", "1d"],
        session: "regular",
        symbols: [],
        from: "2024-01-01",
        to: "2025-12-31",
        force: true
      }).pipe(Effect.provide(Layer.mergeAll(repositoryLayer(`sqlite:${join(dataDir, "marketpipe.db")}`), recording)))
    )
    // 2 symbols x 25 days: 2 in November (Thanksgiving closed), 21 in December, 2 in January; in the order asked.
    expect(summary.rebuilt).toEqual({ "1h": 50, "5m": 50, "1d": 50 })
    expect(Object.keys(summary.rebuilt)).toEqual(["1h", "5m", "1d"])
    expect(new Set(written).size).toBe(written.length)
    expect(written.filter((f) => f.startsWith("AAPL", f.indexOf("/") + 1))).toEqual([
      "5m/AAPL/2024-11",
      "5m/AAPL/2024-12",
      "1h/AAPL/2024",
      "1d/AAPL/2024",
      "5m/AAPL/2025-01",
      "1h/AAPL/2025",
      "1d/AAPL/2025"
    ])
    // What the files hold is what DuckDB's GROUP BY of the 1m bars gives, across the months and the year change.
    const expected = await duckBuckets(dataDir, 60)
    const got = await ours(dataDir, "1h")
    expect(got.map((r) => `${r.symbol} ${r.ts} ${r.open} ${r.close} ${r.volume}`)).toEqual(
      expected.map((r) => `${r.symbol} ${r.ts} ${r.open} ${r.close} ${r.volume}`)
    )
  })
})

describe("an aggregation that is stopped", () => {
  test("closes its job as interrupted instead of leaving it running", async () => {
    const cwd = fresh()
    const flags = ingestFlags({ symbols: "AAPL,MSFT,SPY,QQQ", start: "2024-02-01", end: "2024-03-28" })
    expect(Exit.isSuccess((await capture(() => ingestIn(cwd, flags))).value)).toBe(true)
    const dbPath = join(cwd, "data", "marketpipe.db")
    const fiber = Effect.runFork(aggregateMain(aggregateFlags({ force: true }), { env: {}, cwd }))
    // Interrupt (what Ctrl-C and SIGTERM do) once the aggregate job is underway: its first derived day is recorded.
    const underway = () => {
      const db = new DatabaseSync(dbPath, { readOnly: true })
      try {
        return (
          db
            .prepare(
              "SELECT count(*) AS n FROM partitions p JOIN jobs j ON j.id = p.job_id WHERE j.kind = 'aggregate' AND p.state = 'done'"
            )
            .get() as { n: number }
        ).n
      } finally {
        db.close()
      }
    }
    while (underway() === 0) await Effect.runPromise(Effect.yieldNow)
    await Effect.runPromise(Fiber.interrupt(fiber))
    const db = new DatabaseSync(dbPath, { readOnly: true })
    const job = db.prepare("SELECT state, error FROM jobs ORDER BY id DESC LIMIT 1").get()
    db.close()
    expect(job).toEqual({ state: "failed", error: "interrupted" })
  })
})

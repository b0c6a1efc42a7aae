import { afterEach, beforeEach, describe, expect, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { Effect, Exit, Option } from "effect"
import { jobsListMain, jobsShowMain } from "../../src/cli/commands/jobs.ts"
import { exitCodeOf } from "../../src/cli/main.ts"
import { failureTag, ingestFlags, ingestIn } from "../support/ingest.ts"
import { duckdb, lakeGlob, readLakeWithHyparquet } from "../support/lake.ts"
import { listFiles, removeDir, tempDir } from "../support/temp.ts"

let cwd = ""
let dataDir = ""
beforeEach(() => {
  cwd = tempDir()
  dataDir = join(cwd, "data")
})
afterEach(() => removeDir(cwd))

const threeByFive = ingestFlags({ symbols: "AAPL,MSFT,SPY", start: "2024-03-04", end: "2024-03-08" })

describe("ingest end to end (fake provider)", () => {
  test("3 symbols x 5 trading days land as Hive-partitioned Parquet that hyparquet and DuckDB read", async () => {
    const exit = await ingestIn(cwd, threeByFive)
    expect(Exit.isSuccess(exit)).toBe(true)
    expect(listFiles(join(dataDir, "ohlcv/frame=1m"))).toEqual([
      "symbol=AAPL/2024-03.parquet",
      "symbol=MSFT/2024-03.parquet",
      "symbol=SPY/2024-03.parquet"
    ])
    // Higher frames are built after the ingest: monthly files up to 30m, yearly from 1h.
    expect(listFiles(join(dataDir, "ohlcv")).filter((f) => f.includes("symbol=AAPL/"))).toEqual([
      "frame=15m/symbol=AAPL/2024-03.parquet",
      "frame=1d/symbol=AAPL/2024.parquet",
      "frame=1h/symbol=AAPL/2024.parquet",
      "frame=1m/symbol=AAPL/2024-03.parquet",
      "frame=30m/symbol=AAPL/2024-03.parquet",
      "frame=4h/symbol=AAPL/2024.parquet",
      "frame=5m/symbol=AAPL/2024-03.parquet"
    ])

    const rows = await readLakeWithHyparquet(dataDir)
    expect(rows.length).toBe(3 * 5 * 390)
    expect(rows[0]?.ts).toBeInstanceOf(Date)

    const types = await duckdb<{ column_name: string; column_type: string }>(
      `DESCRIBE SELECT * FROM ${lakeGlob(dataDir)}`
    )
    const typeOf = Object.fromEntries(types.map((t) => [t.column_name, t.column_type]))
    expect(typeOf).toMatchObject({
      ts: "TIMESTAMP WITH TIME ZONE",
      open: "DOUBLE",
      volume: "DOUBLE",
      trade_count: "BIGINT",
      vwap: "DOUBLE",
      frame: "VARCHAR",
      symbol: "VARCHAR"
    })
    const counts = await duckdb<{ symbol: string; frame: string; n: string; days: string; dups: string }>(
      `SELECT symbol, frame, count(*) AS n, count(DISTINCT ts::DATE) AS days, count(*) - count(DISTINCT ts) AS dups
       FROM ${lakeGlob(dataDir)} GROUP BY ALL ORDER BY symbol`
    )
    expect(counts).toEqual([
      { symbol: "AAPL", frame: "1m", n: "1950", days: "5", dups: "0" },
      { symbol: "MSFT", frame: "1m", n: "1950", days: "5", dups: "0" },
      { symbol: "SPY", frame: "1m", n: "1950", days: "5", dups: "0" }
    ])
    const first = await duckdb<{ first: string }>(`SELECT min(ts)::VARCHAR AS first FROM ${lakeGlob(dataDir)}`)
    expect(first[0]?.first).toBe("2024-03-04 14:30:00+00")
  })

  test("running the same ingest twice adds no duplicate; a wider range adds only the new days", async () => {
    await ingestIn(cwd, threeByFive)
    const before = await duckdb<{ n: string; h: string }>(
      `SELECT count(*) AS n, md5(string_agg(concat_ws('|', symbol, ts, open, high, low, close, volume, trade_count, vwap), ',' ORDER BY symbol, ts)) AS h FROM ${lakeGlob(dataDir)}`
    )
    await ingestIn(cwd, threeByFive)
    const again = await duckdb<{ n: string; h: string }>(
      `SELECT count(*) AS n, md5(string_agg(concat_ws('|', symbol, ts, open, high, low, close, volume, trade_count, vwap), ',' ORDER BY symbol, ts)) AS h FROM ${lakeGlob(dataDir)}`
    )
    expect(again).toEqual(before)

    await ingestIn(cwd, ingestFlags({ symbols: "AAPL,MSFT,SPY", start: "2024-02-29", end: "2024-03-12" }))
    const wider = await duckdb<{ symbol: string; n: string; days: string; dups: string }>(
      `SELECT symbol, count(*) AS n, count(DISTINCT ts::DATE) AS days, count(*) - count(DISTINCT ts) AS dups
       FROM ${lakeGlob(dataDir)} GROUP BY symbol ORDER BY symbol`
    )
    // 2024-02-29, 03-01, 03-04..03-08, 03-11, 03-12: nine trading days, February in its own file.
    expect(wider.map((r) => `${r.symbol} ${r.n} ${r.days} ${r.dups}`)).toEqual([
      "AAPL 3510 9 0",
      "MSFT 3510 9 0",
      "SPY 3510 9 0"
    ])
    expect(listFiles(join(dataDir, "ohlcv/frame=1m/symbol=AAPL"))).toEqual(["2024-02.parquet", "2024-03.parquet"])
    const unchanged = await duckdb<{ h: string }>(
      `SELECT md5(string_agg(concat_ws('|', symbol, ts, open, high, low, close, volume, trade_count, vwap), ',' ORDER BY symbol, ts)) AS h FROM ${lakeGlob(dataDir)} WHERE ts >= '2024-03-04' AND ts < '2024-03-09'`
    )
    expect(unchanged[0]?.h).toBe(before[0]?.h as string)
  })

  test("a failing symbol is recorded as failed partitions, the others land, and the exit code is 3", async () => {
    writeFileSync(join(cwd, "marketpipe.yaml"), "config_version: 1\nproviders:\n  fake:\n    fail_symbols: [MSFT]\n")
    const exit = await ingestIn(cwd, threeByFive)
    expect(failureTag(exit)).toBe("PartitionsFailed")
    const printed: Array<string> = []
    expect(exitCodeOf(exit, (l) => printed.push(l))).toBe(3)
    expect(printed.join()).toMatch(/5 failed partition\(s\)/)
    const symbols = await duckdb<{ symbol: string }>(`SELECT DISTINCT symbol FROM ${lakeGlob(dataDir)} ORDER BY 1`)
    expect(symbols.map((s) => s.symbol)).toEqual(["AAPL", "SPY"])
    const shown = await Effect.runPromise(
      jobsShowMain({ id: 1, config: Option.none(), dataDir: Option.none(), json: true }, { env: {}, cwd })
    ).then(() => "ok")
    expect(shown).toBe("ok")
  })

  test("broken bars are rejected one by one; their neighbours of the same symbol are kept", async () => {
    writeFileSync(join(cwd, "marketpipe.yaml"), "providers:\n  fake:\n    invalid_every: 130\n")
    const exit = await ingestIn(cwd, ingestFlags({ symbols: "AAPL", start: "2024-03-08", end: "2024-03-08" }))
    expect(Exit.isSuccess(exit)).toBe(true)
    if (Exit.isSuccess(exit)) {
      expect(exit.value.job.barsRejected).toBe(3)
      expect(exit.value.rejectedByRule).toEqual({ ohlc_consistency: 3 })
    }
    const n = await duckdb<{ n: string }>(`SELECT count(*) AS n FROM ${lakeGlob(dataDir)}`)
    expect(n[0]?.n).toBe("387")
  })

  test("a range of weekends and holidays runs, writes nothing to the lake, and says so", async () => {
    const exit = await ingestIn(cwd, ingestFlags({ symbols: "AAPL", start: "2024-12-25", end: "2024-12-25" }))
    expect(Exit.isSuccess(exit) && exit.value.tradingDays).toBe(0)
    expect(listFiles(dataDir).some((f) => f.startsWith("ohlcv"))).toBe(false)
  })

  test("bad input fails with UsageError before anything is written", async () => {
    const cases = [
      ingestFlags({ symbols: "../x", start: "2024-03-04", end: "2024-03-08" }),
      ingestFlags({ symbols: "AAPL", start: "2024-03-09", end: "2024-03-08" }),
      ingestFlags({ symbols: "AAPL", start: "2024-03-04", end: "2024-03-08", provider: Option.some("nope") }),
      ingestFlags({ symbols: "AAPL", start: "2024-03-04", end: "2024-03-08", frame: Option.some("5m") }),
      ingestFlags({ symbols: "AAPL", start: "2024-03-04", end: "2024-03-08", feed: Option.some("sip") }),
      ingestFlags({ symbols: "AAPL", start: "2024-03-04", end: "2024-03-08", concurrency: Option.some(0) })
    ]
    for (const flags of cases) {
      const exit = await ingestIn(cwd, flags)
      expect(failureTag(exit)).toBe("UsageError")
      expect(exitCodeOf(exit, () => {})).toBe(2)
    }
    writeFileSync(join(cwd, "bad.yaml"), "providers:\n  fake:\n    missing_rate: 7\n")
    const exit = await ingestIn(cwd, { ...threeByFive, config: Option.some("bad.yaml") })
    expect(failureTag(exit)).toBe("UsageError")
    expect(listFiles(cwd)).toEqual(["bad.yaml"])
  })

  test("jobs list reports past runs", async () => {
    await ingestIn(cwd, threeByFive)
    const lines: Array<string> = []
    const write = process.stdout.write.bind(process.stdout)
    process.stdout.write = ((chunk: string) => lines.push(String(chunk)) > 0) as typeof process.stdout.write
    try {
      await Effect.runPromise(
        jobsListMain({ limit: 5, config: Option.none(), dataDir: Option.none(), json: false }, { env: {}, cwd })
      )
    } finally {
      process.stdout.write = write
    }
    expect(lines.join("")).toMatch(
      /1\s+ingest\s+succeeded\s+fake\/synthetic\s+1m\s+3\s+2024-03-04\.\.2024-03-08\s+15\s+0\s+5850/
    )
  })
})

import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { cpSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Effect, Exit, Option } from "effect"
import { type QueryFlags, queryMain } from "../../src/cli/commands/query.ts"
import { exitCodeOf } from "../../src/cli/main.ts"
import { table } from "../../src/cli/output.ts"
import { timeframes } from "../../src/domain/timeframe.ts"
import { capture } from "../support/capture.ts"
import { compiledBinary, run } from "../support/cli.ts"
import { failureTag, ingestFlags, ingestIn } from "../support/ingest.ts"
import { queryFlags } from "../support/query.ts"
import { endlessQuery, signalWhenBusy } from "../support/signal.ts"
import { listFiles, removeDir, tempDir } from "../support/temp.ts"

const dirs: Array<string> = []
const fresh = (prefix = "mp-query-") => {
  const d = tempDir(prefix)
  dirs.push(d)
  return d
}

/** A lake from a real ingest (3 symbols x 5 days of 1m, plus whatever frames the ingest aggregates). */
let full = ""
/** The same 1m files only: every other view has no files. */
let onlyMinutes = ""

beforeAll(async () => {
  full = fresh()
  const ingested = await capture(() =>
    ingestIn(full, ingestFlags({ symbols: "AAPL,MSFT,SPY", start: "2024-03-04", end: "2024-03-08" }))
  )
  expect(Exit.isSuccess(ingested.value)).toBe(true)
  onlyMinutes = fresh()
  cpSync(join(full, "data/ohlcv/frame=1m"), join(onlyMinutes, "data/ohlcv/frame=1m"), { recursive: true })
})
afterAll(() => {
  for (const d of dirs) removeDir(d)
})

const flags = queryFlags

const query = (cwd: string, sql: string, over: Partial<QueryFlags> = {}) =>
  capture(() => Effect.runPromiseExit(queryMain(flags(sql, over), { env: {}, cwd })))

const json = async (cwd: string, sql: string, over: Partial<QueryFlags> = {}) => {
  const r = await query(cwd, sql, { ...over, json: true })
  if (Exit.isFailure(r.value)) throw new Error(`query failed: ${String(r.value.cause)}`)
  return JSON.parse(r.stdout) as Array<Record<string, unknown>>
}

/** A view's columns the way the README suggests (DESCRIBE is refused: it is not a SELECT). */
const columnsSql = (view: string) =>
  `SELECT column_name, data_type AS column_type FROM information_schema.columns WHERE table_name = '${view}' ORDER BY ordinal_position`

const exitCode = (exit: Exit.Exit<unknown, unknown>) => exitCodeOf(exit, () => {})

describe("query over the lake (in-process)", () => {
  test("the issue's GROUP BY ALL as a table: one row per symbol, 5 days x 390 bars each", async () => {
    const r = await query(full, "SELECT symbol, count(*) FROM bars_1m GROUP BY ALL")
    expect(Exit.isSuccess(r.value)).toBe(true)
    const [header, ...rows] = r.stdout.trimEnd().split("\n")
    expect(header).toBe("symbol  count_star()")
    expect(rows.sort()).toEqual(["AAPL    1950", "MSFT    1950", "SPY     1950"])
    expect(r.stderr).toBe("")
  })

  const bySymbol = "SELECT symbol, count(*) AS bars FROM bars_1m GROUP BY ALL ORDER BY symbol"

  test("table output is output.ts's table()", async () => {
    const r = await query(full, bySymbol)
    expect(r.stdout).toBe(
      `${table(
        ["symbol", "bars"],
        [
          ["AAPL", "1950"],
          ["MSFT", "1950"],
          ["SPY", "1950"]
        ]
      )}\n`
    )
  })

  test("--csv: a header and one line per row, quoted where needed", async () => {
    const r = await query(full, bySymbol, { csv: true })
    expect(r.stdout).toBe("symbol,bars\nAAPL,1950\nMSFT,1950\nSPY,1950\n")
    const quoted = await query(full, `SELECT 'a,b' AS x, 'say "hi"' AS y, NULL AS z`, { csv: true })
    expect(quoted.stdout).toBe(`x,y,z\n"a,b","say ""hi""",\n`)
  })

  test("--json: an array of row objects; counts are numbers, timestamps ISO-8601 UTC", async () => {
    expect(await json(full, bySymbol)).toEqual([
      { symbol: "AAPL", bars: 1950 },
      { symbol: "MSFT", bars: 1950 },
      { symbol: "SPY", bars: 1950 }
    ])
    const [span] = await json(full, "SELECT min(ts) AS first, max(ts) AS last, count(*) AS n FROM bars_1m")
    // 09:30 and 15:59 New York (EST, before the March DST change) = 14:30 and 20:59 UTC.
    expect(span).toEqual({ first: "2024-03-04T14:30:00.000Z", last: "2024-03-08T20:59:00.000Z", n: 5850 })
  })

  test("timestamps print as ISO UTC in tables too", async () => {
    const r = await query(full, "SELECT ts FROM bars_1m WHERE symbol = 'AAPL' ORDER BY ts LIMIT 2")
    expect(r.stdout).toBe("ts\n2024-03-04T14:30:00.000Z\n2024-03-04T14:31:00.000Z\n")
  })

  test("--limit keeps the first N rows and says so on stderr; 0 means every row", async () => {
    const sql = "SELECT symbol, ts FROM bars_1m ORDER BY symbol, ts"
    const five = await query(full, sql, { limit: 5, csv: true })
    expect(five.stdout.trimEnd().split("\n")).toHaveLength(1 + 5)
    expect(five.stderr).toMatch(/first 5 rows.*--limit 0/)
    expect(await json(full, sql, { limit: 0 })).toHaveLength(5850)
    // The default is 1000.
    expect(await json(full, sql)).toHaveLength(1000)
    // Exactly N rows: nothing was cut, so no notice.
    const exact = await query(full, bySymbol, { limit: 3 })
    expect(exact.stdout.trimEnd().split("\n")).toHaveLength(4)
    expect(exact.stderr).toBe("")
  })

  test("the Hive keys frame and symbol are columns of every bars view", async () => {
    expect(await json(full, "SELECT DISTINCT frame, symbol FROM bars_1m ORDER BY symbol")).toEqual([
      { frame: "1m", symbol: "AAPL" },
      { frame: "1m", symbol: "MSFT" },
      { frame: "1m", symbol: "SPY" }
    ])
    for (const frame of timeframes) {
      const columns = (await json(onlyMinutes, columnsSql(`bars_${frame}`))).map((c) => c.column_name)
      expect(columns).toEqual(expect.arrayContaining(["symbol", "frame", "ts", "open", "close", "volume"]))
    }
  })

  test("aggregated frames read with their is_partial column", async () => {
    const days = await json(full, "SELECT frame, count(*) AS n, count(is_partial) AS flagged FROM bars_1d GROUP BY ALL")
    expect(days).toEqual([{ frame: "1d", n: 15, flagged: 15 }])
  })

  test("views for frames with no files yet count zero rows, with the right columns", async () => {
    expect(await json(onlyMinutes, "SELECT count(*) AS n FROM bars_5m")).toEqual([{ n: 0 }])
    for (const frame of timeframes.filter((f) => f !== "1m"))
      expect(await json(onlyMinutes, `SELECT count(*) AS n FROM bars_${frame}`)).toEqual([{ n: 0 }])
    expect(await json(onlyMinutes, "SELECT count(*) AS n FROM quarantine")).toEqual([{ n: 0 }])
    const types = await json(onlyMinutes, columnsSql("bars_5m"))
    expect(Object.fromEntries(types.map((t) => [t.column_name, t.column_type]))).toEqual({
      symbol: "VARCHAR",
      ts: "TIMESTAMP WITH TIME ZONE",
      open: "DOUBLE",
      high: "DOUBLE",
      low: "DOUBLE",
      close: "DOUBLE",
      volume: "DOUBLE",
      trade_count: "BIGINT",
      vwap: "DOUBLE",
      provider: "VARCHAR",
      feed: "VARCHAR",
      is_partial: "BOOLEAN",
      frame: "VARCHAR"
    })
    const quarantine = (await json(onlyMinutes, columnsSql("quarantine"))).map((c) => c.column_name)
    expect(quarantine).toEqual(expect.arrayContaining(["symbol", "ts", "rule", "severity", "frame"]))
    // The same views work where the data dir does not exist at all.
    const nothing = fresh()
    const r = await query(nothing, "SELECT count(*) AS n FROM bars_1m", { json: true })
    expect(JSON.parse(r.stdout)).toEqual([{ n: 0 }])
    expect(r.stderr).toMatch(/no Parquet files/)
    expect(existsSync(join(nothing, "data"))).toBe(false)
  })

  test("quarantine reads quarantined bars with their rule and severity and the frame and symbol keys", async () => {
    const cwd = fresh()
    writeFileSync(join(cwd, "marketpipe.yaml"), "config_version: 1\nproviders:\n  fake: { invalid_every: 97 }\n")
    const ingested = await capture(() =>
      ingestIn(cwd, ingestFlags({ symbols: "AAPL,MSFT", start: "2024-03-04", end: "2024-03-05" }))
    )
    const rejected = JSON.parse(ingested.stdout).job.barsRejected
    expect(rejected).toBeGreaterThan(0)
    const rows = await json(
      cwd,
      "SELECT frame, count(*) AS n, count(DISTINCT symbol) AS symbols, bool_and(rule <> '' AND severity <> '') AS labelled FROM quarantine GROUP BY ALL"
    )
    expect(rows).toEqual([{ frame: "1m", n: rejected, symbols: 2, labelled: true }])
  })

  test("a numeric ticker stays a string (the Hive key is not cast to a number)", async () => {
    const cwd = fresh()
    const from = join(onlyMinutes, "data/ohlcv/frame=1m/symbol=AAPL")
    cpSync(from, join(cwd, "data/ohlcv/frame=1m/symbol=7203"), { recursive: true })
    expect(await json(cwd, "SELECT DISTINCT symbol FROM bars_1m")).toEqual([{ symbol: "7203" }])
  })

  test("--data-dir and MARKETPIPE_DATA_DIR choose the lake", async () => {
    const elsewhere = fresh()
    const viaFlag = await json(elsewhere, "SELECT count(*) AS n FROM bars_1m", {
      dataDir: Option.some(join(full, "data"))
    })
    expect(viaFlag).toEqual([{ n: 5850 }])
    const r = await capture(() =>
      Effect.runPromiseExit(
        queryMain(flags("SELECT count(*) AS n FROM bars_1m", { json: true }), {
          env: { MARKETPIPE_DATA_DIR: join(full, "data") },
          cwd: elsewhere
        })
      )
    )
    expect(JSON.parse(r.stdout)).toEqual([{ n: 5850 }])
  })

  test("a SQL error exits 2 with DuckDB's message", async () => {
    const r = await query(full, "SELECT nope FROM bars_1m")
    expect(failureTag(r.value)).toBe("UsageError")
    expect(exitCode(r.value)).toBe(2)
    expect(String(Exit.isFailure(r.value) ? r.value.cause : "")).toMatch(/SQL: Binder Error: .*nope/)
    const syntax = await query(full, "SELEC 1")
    expect(exitCode(syntax.value)).toBe(2)
    expect(String(Exit.isFailure(syntax.value) ? syntax.value.cause : "")).toMatch(/Parser Error: syntax error/)
  })

  test("bad flags exit 2 before DuckDB runs", async () => {
    for (const over of [{ csv: true, json: true }, { limit: -1 }] as const) {
      const r = await query(full, "SELECT 1", over)
      expect(failureTag(r.value)).toBe("UsageError")
      expect(exitCode(r.value)).toBe(2)
    }
    expect(exitCode((await query(full, "  ")).value)).toBe(2)
    expect(exitCode((await query(full, "-- nothing but a comment")).value)).toBe(2)
  })
})

describe("query is read-only", () => {
  const refusals = (target: string, lake: string): Array<[string, RegExp]> => [
    [`COPY (SELECT 1) TO '${target}/x.csv'`, /COPY is not allowed/],
    // Even inside the lake, the one directory DuckDB may read.
    [`COPY (SELECT * FROM bars_1m) TO '${lake}/ohlcv/frame=1m/symbol=AAPL/2024-04.parquet'`, /COPY is not allowed/],
    [`COPY bars_1m TO '${target}/y.parquet' (FORMAT parquet)`, /COPY is not allowed/],
    [`ATTACH '${target}/x.db' AS other`, /ATTACH is not allowed/],
    ["ATTACH ':memory:' AS other", /ATTACH is not allowed/],
    ["CREATE TABLE t (x INTEGER)", /CREATE is not allowed/],
    ["CREATE VIEW v AS SELECT 1", /CREATE is not allowed/],
    ["INSERT INTO bars_1m SELECT * FROM bars_1m", /INSERT is not allowed/],
    ["UPDATE bars_1m SET close = 0", /UPDATE is not allowed/],
    ["DELETE FROM bars_1m", /DELETE is not allowed/],
    ["DROP VIEW bars_1m", /DROP is not allowed/],
    ["SET enable_external_access = true", /SET is not allowed/],
    ["SET lock_configuration = false", /SET is not allowed/],
    ["RESET threads", /RESET is not allowed/],
    ["INSTALL httpfs", /INSTALL is not allowed/],
    ["LOAD httpfs", /LOAD is not allowed/],
    [`EXPORT DATABASE '${target}/export'`, /EXPORT is not allowed/],
    ["PRAGMA enable_profiling", /PRAGMA is not allowed/],
    ["CALL pragma_version()", /CALL is not allowed/],
    ["CHECKPOINT", /CHECKPOINT is not allowed/],
    // Read-only, but not a SELECT: the README promises one SELECT, and SUMMARIZE scans every column of the lake.
    ["SUMMARIZE bars_1m", /SUMMARIZE is not allowed/],
    ["DESCRIBE bars_1m", /DESCRIBE is not allowed.*information_schema\.columns/],
    ["DESC bars_1m", /DESC is not allowed/],
    ["DESCRIBE", /DESCRIBE is not allowed/],
    ["SHOW bars_1m", /SHOW is not allowed/],
    ["SHOW TABLES", /SHOW is not allowed/],
    ["SHOW ALL TABLES", /SHOW is not allowed/],
    ["SELECT * FROM (DESCRIBE bars_1m)", /DESCRIBE is not allowed/],
    ["FROM (SUMMARIZE bars_1m)", /SUMMARIZE is not allowed/],
    ["SELECT 1 UNION ALL SELECT count(*) FROM (SHOW TABLES)", /SHOW is not allowed/],
    ["EXPLAIN SELECT 1", /EXPLAIN is not allowed/],
    ["EXPLAIN ANALYZE SELECT count(*) FROM bars_1m", /EXPLAIN is not allowed/],
    ["PIVOT bars_1d ON symbol USING first(close)", /PIVOT without an IN list.*ON symbol IN \(/],
    [`SELECT 1; COPY (SELECT 1) TO '${target}/z.csv'`, /2 statements given; only one may run/],
    ["  /* sneaky */ copy (select 1) to 'rel.csv'", /COPY is not allowed/]
  ]

  test("COPY, ATTACH, CREATE, INSERT, SET, INSTALL, EXPORT, ... exit 2 naming what is refused; nothing is written", async () => {
    const target = fresh("mp-query-target-")
    const lake = join(full, "data")
    const before = listFiles(full)
    for (const [sql, reason] of refusals(target, lake)) {
      const r = await query(full, sql)
      expect({ sql, tag: failureTag(r.value), code: exitCode(r.value) }).toEqual({ sql, tag: "UsageError", code: 2 })
      expect(String(Exit.isFailure(r.value) ? r.value.cause : "")).toMatch(reason)
      expect(r.stdout).toBe("")
    }
    expect(listFiles(target)).toEqual([])
    expect(listFiles(full)).toEqual(before)
    expect(existsSync(join(full, "rel.csv"))).toBe(false)
    // The views are still there afterwards (each query has its own in-memory database anyway).
    expect(await json(full, "SELECT count(*) AS n FROM bars_1m")).toEqual([{ n: 5850 }])
  })

  test("DuckDB's other spellings of one SELECT run: FROM-first, VALUES, TABLE, parentheses, WITH, UNION, PIVOT ... IN", async () => {
    const runs: Array<[string, Array<Record<string, unknown>>]> = [
      ["FROM bars_1d SELECT count(*) AS n", [{ n: 15 }]],
      ["FROM bars_1d SELECT count(*) AS n WHERE symbol = 'SPY'", [{ n: 5 }]],
      ["VALUES (1, 'a')", [{ col0: 1, col1: "a" }]],
      ["(SELECT 1 AS x)", [{ x: 1 }]],
      ["WITH t AS (SELECT 1 AS x) SELECT x FROM t", [{ x: 1 }]],
      ["SELECT 1 AS x UNION ALL SELECT 2 ORDER BY x", [{ x: 1 }, { x: 2 }]],
      ["SELECT count(*) AS n FROM (TABLE bars_1d)", [{ n: 15 }]],
      [
        "PIVOT (SELECT symbol FROM bars_1d) ON symbol IN ('AAPL', 'MSFT', 'SPY') USING count(*)",
        [{ AAPL: 5, MSFT: 5, SPY: 5 }]
      ],
      [`SELECT count(*) AS n FROM (${columnsSql("bars_1m")})`, [{ n: 12 }]]
    ]
    for (const [sql, rows] of runs) expect({ sql, rows: await json(full, sql) }).toEqual({ sql, rows })
  })

  test("a SELECT cannot read outside the lake either", async () => {
    for (const sql of [
      "SELECT * FROM read_csv('/etc/passwd')",
      `SELECT * FROM read_text('${join(full, "data/marketpipe.db")}')`,
      "SELECT * FROM glob('/*')",
      "SELECT * FROM read_parquet('https://example.com/x.parquet')"
    ]) {
      const r = await query(full, sql)
      expect({ sql, code: exitCode(r.value) }).toEqual({ sql, code: 2 })
      expect(String(Exit.isFailure(r.value) ? r.value.cause : "")).toMatch(/Permission Error|not allowed/)
    }
  })
})

describe("compiled binary", () => {
  let binary = ""
  let home = ""
  beforeAll(() => {
    binary = compiledBinary()
    home = fresh("mp-query-home-")
  })

  // A minimal environment: PATH and HOME only (no LD_LIBRARY_PATH), from a directory with nothing beside it.
  const runBinary = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
    run(binary, args, { cwd: fresh("mp-query-cwd-"), env: { HOME: home, ...env } })

  test("answers a query by itself: DuckDB's library is unpacked once into ~/.cache and reused", () => {
    const lake = join(full, "data")
    const first = runBinary(["query", "SELECT count(*) FROM bars_1m", "--data-dir", lake])
    expect(first.stderr).toBe("")
    expect(first.code).toBe(0)
    expect(first.stdout).toBe("count_star()\n5850\n")
    const cache = join(home, ".cache/marketpipe")
    const [versioned] = readdirSync(cache)
    expect(versioned).toMatch(/^duckdb-\d+\.\d+\.\d+/)
    const library = join(cache, versioned ?? "", "libduckdb.so")
    const written = statSync(library).mtimeMs
    const again = runBinary(["query", "SELECT symbol, count(*) AS n FROM bars_1m GROUP BY ALL ORDER BY 1", "--csv"], {
      MARKETPIPE_DATA_DIR: lake
    })
    expect(again.code).toBe(0)
    expect(again.stdout).toBe("symbol,n\nAAPL,1950\nMSFT,1950\nSPY,1950\n")
    expect(statSync(library).mtimeMs).toBe(written)
  })

  test("an empty frame counts 0, and XDG_CACHE_HOME is honoured", () => {
    const xdg = fresh("mp-query-xdg-")
    const r = runBinary(["query", "SELECT count(*) FROM bars_5m", "--data-dir", join(onlyMinutes, "data")], {
      XDG_CACHE_HOME: xdg
    })
    expect(r.stderr).toBe("")
    expect(r.stdout).toBe("count_star()\n0\n")
    expect(listFiles(xdg).some((f) => /^marketpipe\/duckdb-[^/]+\/libduckdb\.so$/u.test(f))).toBe(true)
  })

  test.skipIf(process.platform !== "linux")(
    "the first SIGTERM during a long query exits 130",
    async () => {
      const ended = await signalWhenBusy(binary, ["query", endlessQuery, "--data-dir", join(full, "data")], {
        cwd: fresh("mp-query-cwd-"),
        env: { HOME: home },
        signal: "SIGTERM",
        busySeconds: 3,
        graceMs: 20_000
      })
      expect(ended).toEqual({ code: 130, signal: null, stderr: "" })
    },
    60_000
  )

  test("refuses COPY with exit 2 and writes nothing", () => {
    const target = fresh("mp-query-target-")
    mkdirSync(join(target, "sub"))
    const r = runBinary(["query", `COPY (SELECT 1) TO '${target}/sub/x.csv'`, "--data-dir", join(full, "data")])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/error: SQL: COPY is not allowed/)
    expect(listFiles(target)).toEqual([])
  })
})

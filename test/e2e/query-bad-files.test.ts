/** One unreadable Parquet file in the lake: queries that do not read it work; the others name it; `--skip-bad-files`. */
import { beforeAll, describe, expect, test } from "bun:test"
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { Exit } from "effect"
import { runSource } from "../support/cli.ts"
import { ingestFlags, ingestIn } from "../support/ingest.ts"
import { queryIn, rowsOf, verdict } from "../support/query.ts"
import { useTempDirs } from "../support/temp.ts"

const fresh = useTempDirs("mp-query-bad-")

/** A clean lake (AAPL, MSFT, SPY for a week), copied for each test before files are broken in it. */
let clean = ""
beforeAll(async () => {
  clean = fresh()
  const ingested = await ingestIn(
    clean,
    ingestFlags({ symbols: "AAPL,MSFT,SPY", start: "2024-03-04", end: "2024-03-08" })
  )
  expect(Exit.isSuccess(ingested)).toBe(true)
})

const lakeCopy = () => {
  const cwd = fresh()
  cpSync(join(clean, "data/ohlcv"), join(cwd, "data/ohlcv"), { recursive: true })
  return cwd
}

const plant = (cwd: string, file: string, bytes: Uint8Array) => {
  mkdirSync(dirname(join(cwd, "data", file)), { recursive: true })
  writeFileSync(join(cwd, "data", file), bytes)
}

const aaplMinutes = "ohlcv/frame=1m/symbol=AAPL/2024-03.parquet"
/** Sorted before every good file: DuckDB looks at the first file when a view is created. */
const truncated = "ohlcv/frame=1m/symbol=AAA/2024-03.parquet"
/** Sorted after them: only a scan that reaches it fails. */
const garbage = "ohlcv/frame=1m/symbol=ZZZ/2024-03.parquet"

const breakTwo = (cwd: string) => {
  const good = readFileSync(join(cwd, "data", aaplMinutes))
  plant(cwd, truncated, good.subarray(0, good.length / 2))
  plant(cwd, garbage, new TextEncoder().encode("not parquet at all\n"))
}

const everySymbol = "SELECT symbol, count(*) AS n FROM bars_1m GROUP BY ALL ORDER BY symbol"
const threeSymbols = [
  { symbol: "AAPL", n: 1950 },
  { symbol: "MSFT", n: 1950 },
  { symbol: "SPY", n: 1950 }
]

describe("a corrupt file in the lake", () => {
  test("queries that do not read it still work: other views, and other symbols of its view", async () => {
    const cwd = lakeCopy()
    breakTwo(cwd)
    expect(await rowsOf(cwd, "SELECT count(*) AS n FROM bars_1d")).toEqual([{ n: 15 }])
    expect(await rowsOf(cwd, "SELECT count(*) AS n FROM bars_1m WHERE symbol = 'AAPL'")).toEqual([{ n: 1950 }])
    expect(await rowsOf(cwd, "SELECT count(*) AS n FROM bars_1m WHERE symbol IN ('MSFT', 'SPY')")).toEqual([
      { n: 3900 }
    ])
  })

  test("a query that reads it fails with exit 1 naming every unreadable file and --skip-bad-files", async () => {
    const cwd = lakeCopy()
    breakTwo(cwd)
    const r = await queryIn(cwd, everySymbol)
    const { code, error } = verdict(r.value)
    expect(code).toBe(1)
    expect(error).toContain(truncated)
    expect(error).toContain(garbage)
    expect(error).toMatch(/not a readable Parquet file.*--skip-bad-files/)
    expect(error).not.toContain(join(cwd, "data"))
    expect(r.stdout).toBe("")
  })

  test("--skip-bad-files leaves them out with a warning naming each, and answers from the rest", async () => {
    const cwd = lakeCopy()
    breakTwo(cwd)
    const r = await queryIn(cwd, everySymbol, { skipBadFiles: true, json: true })
    expect(Exit.isSuccess(r.value)).toBe(true)
    expect(JSON.parse(r.stdout)).toEqual(threeSymbols)
    const warnings = r.stderr.trimEnd().split("\n")
    expect(warnings).toHaveLength(2)
    expect(warnings[0]).toMatch(new RegExp(`^warning: left out ${truncated} \\(--skip-bad-files\\): not a readable`))
    expect(warnings[1]).toMatch(new RegExp(`^warning: left out ${garbage} \\(--skip-bad-files\\): not a readable`))
  })

  test("a damaged footer DuckDB's message does not name is found and named all the same", async () => {
    const cwd = lakeCopy()
    const daily = "ohlcv/frame=1d/symbol=MSFT/2024.parquet"
    const bytes = new Uint8Array(readFileSync(join(cwd, "data", daily)))
    // Scrambles the footer's metadata but keeps its length and the closing magic bytes.
    for (let i = bytes.length - 300; i < bytes.length - 8; i++) bytes[i] = (bytes[i] ?? 0) ^ 0x5a
    plant(cwd, daily, bytes)
    const { code, error } = verdict((await queryIn(cwd, "SELECT count(*) FROM bars_1d")).value)
    expect(code).toBe(1)
    expect(error).toMatch(new RegExp(`^error: storage ${daily}: not a readable Parquet file`))
    expect(await rowsOf(cwd, "SELECT count(*) AS n FROM bars_1d", { skipBadFiles: true })).toEqual([{ n: 10 }])
  })

  test("a view whose only file is unreadable: other views work, it fails naming the file, or is empty when skipped", async () => {
    const cwd = fresh()
    const one = await ingestIn(cwd, ingestFlags({ symbols: "AAPL", start: "2024-03-04", end: "2024-03-05" }))
    expect(Exit.isSuccess(one)).toBe(true)
    const daily = "ohlcv/frame=1d/symbol=AAPL/2024.parquet"
    plant(cwd, daily, new Uint8Array(0))
    expect(await rowsOf(cwd, "SELECT count(*) AS n FROM bars_1m")).toEqual([{ n: 780 }])
    const { code, error } = verdict((await queryIn(cwd, "SELECT count(*) FROM bars_1d")).value)
    expect(code).toBe(1)
    expect(error).toContain(daily)
    const skipped = await queryIn(cwd, "SELECT count(*) AS n FROM bars_1d", { skipBadFiles: true, json: true })
    expect(JSON.parse(skipped.stdout)).toEqual([{ n: 0 }])
    expect(skipped.stderr).toContain(`warning: left out ${daily}`)
  })

  test("from the command line: exit 1 without the flag, the answer and warnings with --skip-bad-files", () => {
    const cwd = lakeCopy()
    breakTwo(cwd)
    const failed = runSource(["query", everySymbol], { cwd })
    expect(failed.code).toBe(1)
    expect(failed.stderr).toMatch(/^error: storage ohlcv\/frame=1m\/symbol=.*--skip-bad-files/)
    const skipped = runSource(["query", everySymbol, "--skip-bad-files", "--csv"], { cwd })
    expect(skipped.code).toBe(0)
    expect(skipped.stdout).toBe("symbol,n\nAAPL,1950\nMSFT,1950\nSPY,1950\n")
    expect(skipped.stderr).toContain(`warning: left out ${garbage}`)
  })
})

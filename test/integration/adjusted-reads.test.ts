import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { tradingDayOf } from "../../src/domain/partition.ts"
import { loadOhlcv } from "../../src/lake/load/load-ohlcv.ts"
import { type Emulator, startEmulator } from "../emulators/server.ts"
import { cliWithEnv } from "../support/cli-env.ts"
import { removeDir, tempDir } from "../support/temp.ts"

let emulator: Emulator
beforeAll(async () => {
  emulator = await startEmulator()
})
afterAll(() => emulator.stop())

let dir = ""
afterEach(() => removeDir(dir))

const cli = (...argv: Array<string>) =>
  cliWithEnv(
    { MARKETPIPE_POLYGON_BASE_URL: emulator.url, POLYGON_API_KEY: emulator.keys.polygon },
    [...argv, "--data-dir", join(dir, "data")],
    dir
  )

const polygon = ["--provider", "polygon"]
/** The emulator's register: SPLT 4-for-1 and RVRS 1-for-10 on 2024-06-10, DIVQ's dividends through 2024. */
const refresh = [
  "actions",
  "refresh",
  ...polygon,
  "--symbols",
  "SPLT,RVRS,DIVQ",
  "--from",
  "2024-01-01",
  "--to",
  "2024-12-31"
]

const daily = async (symbol: string, options: Record<string, unknown> = {}) => {
  const frame = await loadOhlcv({
    symbols: symbol,
    start: "2024-01-01",
    end: "2025-01-01",
    timeframe: "1d",
    dataDir: join(dir, "data"),
    ...options
  })
  return new Map<string, ReturnType<typeof frame.rows>[number]>(
    frame.rows().map((r) => [tradingDayOf(r.ts.getTime()) as string, r])
  )
}

type Finding = { symbol: string; rule: string; detail: string; ts: string }
const findings = async () => {
  const run = await cli(
    "ohlcv",
    "validate",
    "--symbols",
    "SPLT,RVRS,DIVQ",
    "--from",
    "2024-06-03",
    "--to",
    "2024-06-14",
    "--json"
  )
  // Every finding is in the report file; the printed sample holds the first few only.
  const report = JSON.parse(readFileSync(JSON.parse(run.stdout).reportJson, "utf8"))
  return report.findings as Array<Finding>
}

describe("corporate actions and adjusted reads", () => {
  test("raw lake, adjusted reads: no cliff after a split, volume scaled, dividends as hand-computed, nothing known before refresh", async () => {
    dir = tempDir("mp-actions-")
    const span = ["--symbols", "SPLT,RVRS", "--from", "2024-06-03", "--to", "2024-06-14"]
    expect((await cli("ohlcv", "backfill", ...polygon, ...span)).code).toBe(0)
    expect(
      (
        await cli(
          "ohlcv",
          "backfill",
          ...polygon,
          "--symbols",
          "DIVQ",
          "--frame",
          "1d",
          "--from",
          "2024-01-02",
          "--to",
          "2024-12-31"
        )
      ).code
    ).toBe(0)
    const raw = await daily("SPLT")
    const [before, after] = [raw.get("2024-06-07"), raw.get("2024-06-10")]
    if (before === undefined || after === undefined) throw new Error("the lake lacks the days around the split")
    // The lake is raw: the split shows as a fourfold cliff.
    expect(before.close / after.open).toBeGreaterThan(3.5)

    // Nothing on record yet: the cliff is a suspected split, and an adjusted read changes nothing.
    const all = await findings()
    const suspected = all.filter((f) => f.rule === "suspected_split")
    expect(suspected.map((f) => [f.symbol, f.ts.slice(0, 10)]).sort()).toEqual([
      ["RVRS", "2024-06-10"],
      ["SPLT", "2024-06-10"]
    ])
    expect(suspected.find((f) => f.symbol === "SPLT")?.detail).toContain("4-for-1")
    expect(suspected.find((f) => f.symbol === "RVRS")?.detail).toContain("1-for-10")
    const beforeRefresh = new Date().toISOString()

    const refreshed = await cli(...refresh, "--json")
    expect(refreshed.code).toBe(0)
    expect(JSON.parse(refreshed.stdout)).toMatchObject({ splits: 2, dividends: 5, added: 7 })
    expect(JSON.parse((await cli(...refresh, "--json")).stdout)).toMatchObject({ added: 0, unchanged: 7 })
    const listed = JSON.parse((await cli("actions", "list", "SPLT", "--json")).stdout)
    expect(listed.actions).toMatchObject([{ kind: "split", exDate: "2024-06-10", from: 1, to: 4, source: "polygon" }])
    expect((await findings()).filter((f) => f.rule === "suspected_split")).toEqual([])

    // Split-adjusted: every bar before the ex-date divided by 4 (volume times 4), continuous across it.
    const split = await daily("SPLT", { adjust: "split" })
    for (const [day, bar] of raw) {
      const adjusted = split.get(day)
      const factor = day < "2024-06-10" ? 4 : 1
      expect(adjusted?.close).toBe(bar.close / factor)
      expect(adjusted?.volume).toBe(bar.volume * factor)
    }
    expect(Math.abs((split.get("2024-06-07")?.close as number) / after.open - 1)).toBeLessThan(0.05)
    const reverse = await daily("RVRS", { adjust: "split" })
    for (const [day, bar] of await daily("RVRS"))
      expect(reverse.get(day)?.close).toBe(day < "2024-06-10" ? bar.close / 0.1 : bar.close)

    // All: each bar times 1 − D / (close before the ex-date) for every later dividend, by hand from the raw closes.
    const divRaw = await daily("DIVQ")
    const divAll = await daily("DIVQ", { adjust: "all" })
    const dividends = [
      ["2024-02-09", 0.24],
      ["2024-05-10", 0.24],
      ["2024-08-09", 0.24],
      ["2024-11-08", 0.24],
      ["2024-12-16", 1]
    ] as const
    const days = [...divRaw.keys()].sort()
    const closeBefore = (ex: string) => divRaw.get(days.filter((d) => d < ex).at(-1) as string)?.close as number
    for (const day of ["2024-01-05", "2024-05-09", "2024-05-10", "2024-12-13", "2024-12-16"]) {
      const factor = dividends
        .filter(([ex]) => ex > day)
        .reduce((f, [ex, amount]) => f * (1 - amount / closeBefore(ex)), 1)
      expect(divAll.get(day)?.close).toBeCloseTo((divRaw.get(day)?.close as number) * factor, 9)
      expect(divAll.get(day)?.volume).toBe(divRaw.get(day)?.volume as number)
    }

    // As of a time before the actions were known: the unadjusted history a backtest of that day saw.
    const then = await daily("SPLT", { adjust: "split", asOf: beforeRefresh })
    expect(then.get("2024-06-07")?.close).toBe(before.close)

    // DuckDB: the adjusted views agree, with their factors; export writes the same.
    const q = await cli(
      "query",
      "SELECT strftime(ts, '%Y-%m-%d') AS day, close, split_factor FROM bars_1d_adjusted WHERE symbol = 'SPLT' AND ts::DATE IN ('2024-06-07', '2024-06-10') ORDER BY ts",
      "--adjust",
      "split",
      "--json"
    )
    expect(JSON.parse(q.stdout)).toEqual([
      { day: "2024-06-07", close: before.close / 4, split_factor: 4 },
      { day: "2024-06-10", close: after.close, split_factor: 1 }
    ])
    // The default views apply dividends too: DIVQ before its last ex-date carries a dividend factor below 1.
    const dividendFactors = await cli(
      "query",
      "SELECT min(dividend_factor) AS lowest, max(dividend_factor) FILTER (WHERE ts::DATE >= '2024-12-16') AS after FROM bars_1d_adjusted WHERE symbol = 'DIVQ'",
      "--json"
    )
    const [factors] = JSON.parse(dividendFactors.stdout)
    expect(factors.lowest).toBeLessThan(1)
    expect(factors.after).toBe(1)
    const out = join(dir, "splt.csv")
    const exported = await cli(
      "ohlcv",
      "export",
      "--symbols",
      "SPLT",
      "--from",
      "2024-06-07",
      "--to",
      "2024-06-07",
      "--frame",
      "1d",
      "--adjust",
      "split",
      "--out",
      out
    )
    expect(exported.code).toBe(0)
    expect((await Bun.file(out).text()).split("\n")[1]?.split(",")[5]).toBe(String(before.close / 4))
  }, 120_000)

  test("bars that arrive pre-adjusted: a split on record without its jump is a split_mismatch; mixing bases is refused", async () => {
    dir = tempDir("mp-actions-")
    const span = ["--symbols", "SPLT", "--from", "2024-06-03", "--to", "2024-06-14"]
    const adjusted = join(dir, "adjusted.yaml")
    writeFileSync(adjusted, "config_version: 4\ningest: { adjustment: split }\n")
    expect((await cli("ohlcv", "backfill", ...polygon, ...span, "--config", adjusted)).code).toBe(0)
    expect((await cli(...refresh)).code).toBe(0)
    const mismatch = (await findings()).filter((f) => f.rule === "split_mismatch")
    expect(mismatch.map((f) => [f.symbol, f.ts.slice(0, 10)])).toEqual([["SPLT", "2024-06-10"]])
    expect(mismatch[0]?.detail).toContain("already adjusted")
    // DIVQ's dividends are on record but its bars are not in this lake: the views adjust it for splits only, and say so.
    const views = await cli("query", "SELECT count(*) AS n FROM bars_1d_adjusted")
    expect(views.code).toBe(0)
    expect(views.errors).toContain("DIVQ is adjusted for splits only")
    // The lake holds split-adjusted bars now: a raw request into it is refused before anything is fetched.
    const requests = emulator.stats().requests
    const mixed = await cli(
      "ohlcv",
      "backfill",
      ...polygon,
      "--symbols",
      "SPLT",
      "--from",
      "2024-06-17",
      "--to",
      "2024-06-18"
    )
    expect(mixed.code).toBe(2)
    expect(mixed.errors).toContain("ingest.adjustment")
    expect(emulator.stats().requests).toBe(requests)
  }, 120_000)

  test("a provider without corporate actions is refused by name", async () => {
    dir = tempDir("mp-actions-")
    const run = await cli("actions", "refresh", "--provider", "fake", "--symbols", "AAPL")
    expect(run.code).toBe(2)
    expect(run.errors).toContain("no corporate actions")
    expect((await cli("actions", "list", "AAPL")).stdout).toContain("no corporate actions stored")
  })
})

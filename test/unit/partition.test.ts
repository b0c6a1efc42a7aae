import { describe, expect, test } from "bun:test"
import { makeCalendar, type TradingDay } from "../../src/domain/calendar.ts"
import { splitByDay, tradingDayOf } from "../../src/domain/partition.ts"
import type { Symbol } from "../../src/domain/symbol.ts"
import { fileGranularity, fileKeyOf, fileRelativePath } from "../../src/lake/layout.ts"
import { planWork } from "../../src/pipeline/plan.ts"

const sym = "BRK.B" as Symbol

describe("partitions and files", () => {
  test("1m-30m are stored per month, 1h-1d per year, in Hive directories", () => {
    expect(fileRelativePath("ohlcv", fileKeyOf({ frame: "1m", symbol: sym, day: "2024-03-08" as TradingDay }))).toBe(
      "ohlcv/frame=1m/symbol=BRK.B/2024-03.parquet"
    )
    expect(fileRelativePath("ohlcv", fileKeyOf({ frame: "1h", symbol: sym, day: "2024-03-08" as TradingDay }))).toBe(
      "ohlcv/frame=1h/symbol=BRK.B/2024.parquet"
    )
    expect(["1m", "5m", "15m", "30m"].map((f) => fileGranularity(f as "1m"))).toEqual([
      "month",
      "month",
      "month",
      "month"
    ])
    expect(["1h", "4h", "1d"].map((f) => fileGranularity(f as "1h"))).toEqual(["year", "year", "year"])
  })

  test("bars split by New York trading day, not UTC day", () => {
    // 19:59 ET on 03-08 is 00:59 UTC on 03-09: still the 03-08 trading day.
    const ts = Float64Array.of(
      Date.parse("2024-03-08T14:30:00Z"),
      Date.parse("2024-03-09T00:59:00Z"),
      Date.parse("2024-03-11T13:30:00Z")
    )
    expect(splitByDay(ts) as Array<{ day: string; from: number; to: number }>).toEqual([
      { day: "2024-03-08", from: 0, to: 2 },
      { day: "2024-03-11", from: 2, to: 3 }
    ])
    expect(String(tradingDayOf(Date.parse("2024-03-09T00:59:00Z")))).toBe("2024-03-08")
  })

  test("a unit is a run of consecutive days inside one file, for as many symbols as fill a request", () => {
    const calendar = makeCalendar()
    const base = { calendar, from: "2024-02-28", to: "2024-03-04", frame: "1m" as const, session: "regular" as const }
    const single = planWork({
      ...base,
      symbols: [sym, "SPY" as Symbol],
      maxBarsPerRequest: 10_000,
      maxSymbolsPerRequest: 1
    })
    expect(single.units.map((u) => `${u.symbols.join("+")} ${u.period} ${u.days.join(",")}`)).toEqual([
      "BRK.B 2024-02 2024-02-28,2024-02-29",
      "SPY 2024-02 2024-02-28,2024-02-29",
      "BRK.B 2024-03 2024-03-01,2024-03-04",
      "SPY 2024-03 2024-03-01,2024-03-04"
    ])
    expect(new Date(single.units[2]?.start ?? 0).toISOString()).toBe("2024-03-01T14:30:00.000Z")
    expect(new Date(single.units[2]?.end ?? 0).toISOString()).toBe("2024-03-04T21:00:00.000Z")
    // Alpaca-like limits: 2 days x 390 bars = 780 per symbol, so 12 symbols fill a 10,000-bar page.
    const symbols = Array.from({ length: 30 }, (_, i) => `S${i}` as Symbol)
    const multi = planWork({ ...base, symbols, maxBarsPerRequest: 10_000, maxSymbolsPerRequest: 100 })
    expect(multi.units.map((u) => u.symbols.length)).toEqual([12, 12, 6, 12, 12, 6])
    expect(multi).toMatchObject({ tradingDays: 4, partitions: 120, covered: 0, expectedBars: 120 * 390, requests: 6 })
  })

  test("the ledger's days are skipped, and a gap splits a run", () => {
    const calendar = makeCalendar()
    const covered = (symbol: string, day: string) => symbol === "SPY" && day === "2024-03-06"
    const plan = planWork({
      calendar,
      symbols: ["SPY" as Symbol, "QQQ" as Symbol],
      from: "2024-03-04",
      to: "2024-03-08",
      frame: "1m",
      session: "regular",
      maxBarsPerRequest: 10_000,
      maxSymbolsPerRequest: 100,
      covered
    })
    expect(plan.units.map((u) => `${u.symbols.join("+")} ${u.days.join(",")}`).sort()).toEqual([
      "QQQ 2024-03-04,2024-03-05,2024-03-06,2024-03-07,2024-03-08",
      "SPY 2024-03-04,2024-03-05",
      "SPY 2024-03-07,2024-03-08"
    ])
    expect(plan).toMatchObject({ partitions: 9, covered: 1 })
  })

  test("weekends and holidays are never planned; days whose session is still open are left out", () => {
    const calendar = makeCalendar()
    const plan = planWork({
      calendar,
      symbols: ["SPY" as Symbol],
      from: "2024-11-23",
      to: "2024-12-02",
      frame: "1m",
      session: "regular",
      maxBarsPerRequest: 100_000,
      maxSymbolsPerRequest: 1,
      // 2024-12-02 15:00 ET: Monday's session has not closed yet.
      now: Date.parse("2024-12-02T20:00:00Z")
    })
    expect(plan.units.flatMap((u) => u.days)).toEqual(["2024-11-25", "2024-11-26", "2024-11-27", "2024-11-29"] as never)
    expect(plan.notClosed).toEqual(["2024-12-02"] as never)
    // Black Friday closes at 13:00: 210 bars.
    expect(plan.expectedBars).toBe(390 * 3 + 210)
  })
})

import { describe, expect, test } from "bun:test"
import { makeCalendar, type TradingDay } from "../../src/domain/calendar.ts"
import { fileKeyOf, fileRelativePath, splitByDay, tradingDayOf } from "../../src/domain/partition.ts"
import type { Symbol } from "../../src/domain/symbol.ts"
import { fileGranularity } from "../../src/domain/timeframe.ts"
import { planUnits } from "../../src/pipeline/plan.ts"

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

  test("one unit of work per symbol and file, spanning its sessions", () => {
    const calendar = makeCalendar()
    const days = calendar.tradingDays("2024-02-28", "2024-03-04")
    const units = planUnits({ calendar, symbols: [sym, "SPY" as Symbol], days, frame: "1m", session: "regular" })
    expect(units.map((u) => `${u.symbol} ${u.period} ${u.days.join(",")}`)).toEqual([
      "BRK.B 2024-02 2024-02-28,2024-02-29",
      "BRK.B 2024-03 2024-03-01,2024-03-04",
      "SPY 2024-02 2024-02-28,2024-02-29",
      "SPY 2024-03 2024-03-01,2024-03-04"
    ])
    expect(new Date(units[1]?.start ?? 0).toISOString()).toBe("2024-03-01T14:30:00.000Z")
    expect(new Date(units[1]?.end ?? 0).toISOString()).toBe("2024-03-04T21:00:00.000Z")
  })
})

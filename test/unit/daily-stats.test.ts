import { describe, expect, test } from "bun:test"
import { makeCalendar } from "../../src/domain/calendar.ts"
import type { Symbol } from "../../src/domain/symbol.ts"
import { dailyStats } from "../../src/universe/daily-stats.ts"
import { tradingDaysBefore } from "../../src/universe/gather.ts"

const bar = (symbol: string, day: string, close: number, volume: number) => ({
  symbol: symbol as Symbol,
  day,
  close,
  volume
})

describe("average volume and last close", () => {
  test("averaged over the days each symbol traded, last close from its latest day whatever the order", () => {
    const stats = dailyStats([
      bar("AAPL", "2024-03-08", 170, 300),
      bar("AAPL", "2024-03-06", 168, 100),
      bar("AAPL", "2024-03-07", 169, 200),
      bar("NEW", "2024-03-08", 10, 50),
      bar("BAD", "2024-03-08", Number.NaN, 10)
    ])
    expect(stats.get("AAPL")).toEqual({ avgVolume: 200, lastClose: 170, days: 3 })
    // A listing younger than the window averages over the days it has.
    expect(stats.get("NEW")).toEqual({ avgVolume: 50, lastClose: 10, days: 1 })
    expect(stats.has("BAD")).toBe(false)
  })

  test("the window is the N trading days before the day, holidays skipped", () => {
    const calendar = makeCalendar()
    const days = tradingDaysBefore(calendar, "2024-03-11", 20)
    expect(days).toHaveLength(20)
    expect([days[0], days.at(-1)]).toEqual(["2024-02-09", "2024-03-08"])
    expect(days).not.toContain("2024-02-19")
    expect(tradingDaysBefore(calendar, "2024-01-02", 1)).toEqual(["2023-12-29"])
  })
})

import { describe, expect, test } from "bun:test"
import { aggregateSession, sessionBuckets } from "../../src/domain/aggregate.ts"
import { barsOf, batchFromBars } from "../../src/domain/bar.ts"
import { makeCalendar, type Session } from "../../src/domain/calendar.ts"
import type { Symbol } from "../../src/domain/symbol.ts"

const calendar = makeCalendar()
const sym = "AAPL" as Symbol
const iso = (ms: number) => new Date(ms).toISOString()

/** Minute i of the session: open 100+i, high +2, low -1, close +1, volume 10+i, vwap +0.5, one trade. */
const minutesOf = (session: Session, skip: ReadonlySet<number> = new Set()) =>
  batchFromBars(
    sym,
    Array.from({ length: (session.close - session.open) / 60_000 }, (_, i) => i)
      .filter((i) => !skip.has(i))
      .map((i) => ({
        ts: session.open + i * 60_000,
        open: 100 + i,
        high: 102 + i,
        low: 99 + i,
        close: 101 + i,
        volume: 10 + i,
        trade_count: 1,
        vwap: 100.5 + i
      }))
  )
const sessionOf = (day: string) => calendar.session(day, "regular") as Session

describe("session-anchored aggregation", () => {
  test("5m buckets start at 09:30 New York on both sides of the DST switch, with hand-computed OHLCV and vwap", () => {
    for (const [day, first] of [
      ["2024-03-08", "2024-03-08T14:30:00.000Z"],
      ["2024-03-11", "2024-03-11T13:30:00.000Z"]
    ] as const) {
      const s = sessionOf(day)
      const out = aggregateSession(minutesOf(s), s, "regular", 5)
      expect(out.ts.length).toBe(78)
      expect(iso(out.ts[0] as number)).toBe(first)
      const [b0] = barsOf(out)
      // Minutes 0..4: volumes 10..14 (60), vwap = sum((100.5+i)(10+i)) / 60.
      const vwap = [0, 1, 2, 3, 4].reduce((n, i) => n + (100.5 + i) * (10 + i), 0) / 60
      expect(b0).toMatchObject({ open: 100, high: 106, low: 99, close: 105, volume: 60, trade_count: 5 })
      expect(b0?.vwap).toBeCloseTo(vwap, 10)
      expect([...(out.partial ?? [])].every((p) => p === 0)).toBe(true)
    }
  })

  test("4h is 09:30-13:30 and 13:30-close; 1d is the session; neither is partial on a full day", () => {
    const s = sessionOf("2024-03-08")
    const h4 = aggregateSession(minutesOf(s), s, "regular", 240)
    expect([...h4.ts].map(iso)).toEqual(["2024-03-08T14:30:00.000Z", "2024-03-08T18:30:00.000Z"])
    expect([...(h4.partial ?? [])]).toEqual([0, 0])
    expect(barsOf(h4)[1]).toMatchObject({ open: 340, close: 490, volume: ((250 + 399) * 150) / 2 })
    const d = aggregateSession(minutesOf(s), s, "regular", 1440)
    expect(barsOf(d)).toMatchObject([
      { ts: s.open, open: 100, high: 491, low: 99, close: 490, volume: ((10 + 399) * 390) / 2 }
    ])
    expect(d.partial?.[0]).toBe(0)
  })

  test("the 2024-11-29 early close cuts the last hour, the 4h and the day short: partial", () => {
    const s = sessionOf("2024-11-29")
    expect(iso(s.close)).toBe("2024-11-29T18:00:00.000Z")
    const h1 = aggregateSession(minutesOf(s), s, "regular", 60)
    expect([...h1.ts].map(iso)).toEqual([
      "2024-11-29T14:30:00.000Z",
      "2024-11-29T15:30:00.000Z",
      "2024-11-29T16:30:00.000Z",
      "2024-11-29T17:30:00.000Z"
    ])
    expect([...(h1.partial ?? [])]).toEqual([0, 0, 0, 1])
    expect(barsOf(h1)[3]).toMatchObject({ open: 280, close: 310, volume: ((190 + 219) * 30) / 2, trade_count: 30 })
    expect([...(aggregateSession(minutesOf(s), s, "regular", 240).partial ?? [])]).toEqual([1])
    expect([...(aggregateSession(minutesOf(s), s, "regular", 1440).partial ?? [])]).toEqual([1])
    expect(calendar.expectedBars("2024-11-29", "regular", 60)).toBe(4)
  })

  test("missing minutes mark only their bucket partial; an empty bucket gives no bar", () => {
    const s = sessionOf("2024-03-08")
    const out = aggregateSession(minutesOf(s, new Set([6, 7, 10, 11, 12, 13, 14])), s, "regular", 5)
    expect(out.ts.length).toBe(77)
    expect([...(out.partial ?? [])].slice(0, 3)).toEqual([0, 1, 0])
    expect(barsOf(out)[1]).toMatchObject({ open: 105, close: 110, volume: 15 + 18 + 19, trade_count: 3 })
    expect(iso(out.ts[2] as number)).toBe("2024-03-08T14:45:00.000Z")
  })

  test("a holiday week: no session on the 4th, a 13:00 close on the 3rd", () => {
    const days = calendar.tradingDays("2024-07-01", "2024-07-05")
    expect([...days] as Array<string>).toEqual(["2024-07-01", "2024-07-02", "2024-07-03", "2024-07-05"])
    const counts = days.map((d) => aggregateSession(minutesOf(sessionOf(d)), sessionOf(d), "regular", 30).ts.length)
    expect(counts).toEqual([13, 13, 7, 13])
  })

  test("vwap is unknown when a traded minute has none; trade counts are unknown only when no minute has one", () => {
    const s = sessionOf("2024-03-08")
    const bars = minutesOf(s)
    bars.vwap[1] = Number.NaN
    for (let i = 5; i < 10; i++) bars.tradeCount[i] = Number.NaN
    bars.tradeCount[0] = Number.NaN
    const [b0, b1] = barsOf(aggregateSession(bars, s, "regular", 5))
    expect(b0?.vwap).toBeNull()
    expect(b0?.trade_count).toBe(4)
    expect(b1?.trade_count).toBeNull()
  })

  test("extended sessions anchor at 04:00 and a bar outside the session is ignored", () => {
    const s = calendar.session("2024-03-08", "extended") as Session
    const buckets = sessionBuckets(s, "extended", 240)
    expect(buckets.map((b) => iso(b.start))).toEqual([
      "2024-03-08T09:00:00.000Z",
      "2024-03-08T13:00:00.000Z",
      "2024-03-08T17:00:00.000Z",
      "2024-03-08T21:00:00.000Z"
    ])
    const regular = sessionOf("2024-03-08")
    const withStray = batchFromBars(sym, [
      { ts: regular.open - 60_000, open: 1, high: 1, low: 1, close: 1, volume: 1, trade_count: 1, vwap: 1 },
      ...barsOf(minutesOf(regular)).slice(0, 5)
    ])
    expect(barsOf(aggregateSession(withStray, regular, "regular", 5))[0]).toMatchObject({ open: 100, volume: 60 })
  })
})

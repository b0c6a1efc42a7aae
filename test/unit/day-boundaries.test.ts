// The day-boundary form of the New York day lookup (`newYorkDayStart`, and `splitByDay` built on it) must agree with
// the per-bar lookup it replaced (`newYorkDayOf` / `tradingDayOf` on every row) everywhere the calendar vouches for:
// every day of 1990-2100, every minute of the days daylight saving changes and of early-close days.
import { describe, expect, test } from "bun:test"
import {
  CALENDAR_FIRST_DAY,
  CALENDAR_LAST_DAY,
  dayNumber,
  earlyCloses,
  makeCalendar,
  newYorkDayOf,
  newYorkDayStart,
  newYorkOffsetMinutes
} from "../../src/domain/calendar.ts"
import { splitByDay, tradingDayOf } from "../../src/domain/partition.ts"

const MINUTE = 60_000
const DAY_MS = 86_400_000
const first = dayNumber(CALENDAR_FIRST_DAY)
const last = dayNumber(CALENDAR_LAST_DAY)
const calendar = makeCalendar()

/** The splitter as it was: one calendar lookup per row. */
function splitPerRow(ts: Float64Array): Array<{ day: string; from: number; to: number }> {
  const out: Array<{ day: string; from: number; to: number }> = []
  let i = 0
  while (i < ts.length) {
    const day = tradingDayOf(ts[i] as number)
    let j = i + 1
    while (j < ts.length && tradingDayOf(ts[j] as number) === day) j++
    out.push({ day, from: i, to: j })
    i = j
  }
  return out
}

/** A small seeded generator, so a failure names inputs that can be replayed. */
function random(seed: number) {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

/** Days whose UTC offset differs from the day before (the DST changes), 1990-2100. */
const dstChanges: Array<number> = []
for (let n = first + 1; n <= last; n++) {
  if (newYorkOffsetMinutes(n) !== newYorkOffsetMinutes(n - 1)) dstChanges.push(n)
}
const earlyDays: Array<number> = []
for (let y = 1990; y <= 2100; y++) earlyDays.push(...earlyCloses(y).keys())

describe("New York day boundaries", () => {
  test("two DST changes a year and the early closes are all covered", () => {
    expect(dstChanges.length).toBe(2 * 111)
    expect(earlyDays.length).toBeGreaterThan(2 * 111)
  })

  test("every day 1990-2100 starts where the per-bar lookup changes day", () => {
    for (let n = first; n <= last; n++) {
      const start = newYorkDayStart(n)
      if (newYorkDayOf(start) !== n || newYorkDayOf(start - 1) !== n - 1) {
        throw new Error(`day ${n}: start ${new Date(start).toISOString()} disagrees with newYorkDayOf`)
      }
    }
  })

  test("every minute of DST-change and early-close days falls inside exactly its own day's bounds", () => {
    for (const n of [...dstChanges, ...earlyDays]) {
      // From the UTC midnight before to the one after: covers the local day and both of its edges.
      for (let t = (n - 1) * DAY_MS; t < (n + 2) * DAY_MS; t += MINUTE) {
        const day = newYorkDayOf(t)
        if (!(newYorkDayStart(day) <= t && t < newYorkDayStart(day + 1))) {
          throw new Error(`${new Date(t).toISOString()} is outside the bounds of its day ${day}`)
        }
      }
    }
  })

  test("every session 1990-2100 lies inside its day's bounds", () => {
    for (const day of calendar.tradingDays(CALENDAR_FIRST_DAY, CALENDAR_LAST_DAY)) {
      const n = dayNumber(day)
      const s = calendar.session(day, "extended")
      if (s === undefined || s.open < newYorkDayStart(n) || s.close > newYorkDayStart(n + 1)) {
        throw new Error(`${day}: extended session outside the day's bounds`)
      }
    }
  })
})

describe("splitByDay agrees with the per-row lookup", () => {
  test("sorted minute bars around every DST change and early close, 1990-2100", () => {
    const next = random(12)
    for (const n of [...dstChanges, ...earlyDays]) {
      // Two to four days of bars from a random minute before the day, with random gaps (missing bars).
      const ts: Array<number> = []
      let t = (n - 1) * DAY_MS + Math.floor(next() * 1440) * MINUTE
      const end = t + (2 + Math.floor(next() * 3)) * DAY_MS
      while (t < end) {
        ts.push(t)
        t += (next() < 0.9 ? 1 : 1 + Math.floor(next() * 300)) * MINUTE
      }
      const column = Float64Array.from(ts)
      expect(splitByDay(column)).toEqual(splitPerRow(column) as never)
    }
  })

  test("unsorted and repeated rows give the same runs", () => {
    const next = random(7)
    for (let round = 0; round < 300; round++) {
      const base = (first + Math.floor(next() * (last - first))) * DAY_MS
      const column = Float64Array.from({ length: 1 + Math.floor(next() * 200) }, () =>
        next() < 0.1 ? base : base + Math.floor(next() * 5 * 1440) * MINUTE
      )
      expect(splitByDay(column)).toEqual(splitPerRow(column) as never)
    }
  })

  test("sessions of whole months in random years, regular and extended", () => {
    const next = random(3)
    for (let round = 0; round < 40; round++) {
      const year = 1990 + Math.floor(next() * 111)
      const month = String(1 + Math.floor(next() * 12)).padStart(2, "0")
      const kind = next() < 0.5 ? "regular" : "extended"
      const ts: Array<number> = []
      for (const day of calendar.tradingDays(`${year}-${month}-01`, `${year}-${month}-28`)) {
        const s = calendar.session(day, kind)
        for (let t = s?.open ?? 0; t < (s?.close ?? 0); t += MINUTE) ts.push(t)
      }
      const column = Float64Array.from(ts)
      expect(splitByDay(column)).toEqual(splitPerRow(column) as never)
    }
  })

  test("an empty column has no days", () => {
    expect(splitByDay(new Float64Array(0))).toEqual([])
  })
})

describe("rowsView", () => {
  test("keeps the partial flags of an aggregated batch, as views", async () => {
    const { batchFromBars, rowsView } = await import("../../src/domain/bar.ts")
    const bar = { ts: 0, open: 1, high: 1, low: 1, close: 1, volume: 1, trade_count: null, vwap: null }
    const batch = {
      ...batchFromBars("SPY" as never, [bar, { ...bar, ts: 1 }, { ...bar, ts: 2 }]),
      partial: Uint8Array.of(0, 1, 0)
    }
    const view = rowsView(batch, 1, 3)
    expect([...(view.partial ?? [])]).toEqual([1, 0])
    expect([...view.ts]).toEqual([1, 2])
    expect(rowsView(batchFromBars("SPY" as never, [bar]), 0, 1).partial).toBeUndefined()
  })
})

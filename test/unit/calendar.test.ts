import { describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { resolve } from "node:path"
import { addDays, dayNumber, makeCalendar, newYorkDayOf, weekday } from "../../src/domain/calendar.ts"

const calendar = makeCalendar()

// The reference list ships beside the project (shared/calendar); a copy is kept under test/fixtures for clean clones.
const csv = readFileSync(resolve(import.meta.dir, "../fixtures/nyse_2015_2030.csv"), "utf8")
const reference = new Map(
  csv
    .trim()
    .split("\n")
    .slice(1)
    .map((line) => {
      const [date, status] = line.split(",")
      return [date as string, status as string]
    })
)

describe("NYSE calendar against the 2015-2030 reference list", () => {
  test("every listed closure is closed and every listed early close closes at 13:00", () => {
    for (const [day, status] of reference) {
      const got = calendar.status(day).status
      expect(`${day} ${got}`).toBe(`${day} ${status === "closed" ? "closed" : "early_close"}`)
    }
  })

  test("every other weekday is a full session, weekends are never trading days", () => {
    let weekdays = 0
    for (let day = "2015-01-01"; day <= "2030-12-31"; day = addDays(day, 1)) {
      const wd = weekday(dayNumber(day))
      if (wd === 0 || wd === 6) {
        expect(calendar.isTradingDay(day)).toBe(false)
        continue
      }
      if (reference.has(day)) continue
      weekdays++
      expect(`${day} ${calendar.status(day).status}`).toBe(`${day} open`)
    }
    expect(weekdays).toBeGreaterThan(3900)
  })

  test("Juneteenth is a holiday from 2022 only, special closures are included", () => {
    expect(calendar.isTradingDay("2021-06-18")).toBe(true)
    expect(calendar.status("2022-06-20").reason).toBe("Juneteenth")
    expect(calendar.status("2018-12-05").status).toBe("closed")
    expect(calendar.status("2025-01-09").status).toBe("closed")
  })

  test("operators can add closures and early closes the rules cannot know", () => {
    const custom = makeCalendar({ closures: ["2027-03-03"], earlyCloses: ["2027-03-04"] })
    expect(custom.isTradingDay("2027-03-03")).toBe(false)
    expect(custom.expectedBars("2027-03-04", "regular", 1)).toBe(210)
  })
})

describe("sessions", () => {
  test("regular sessions are 09:30-16:00 New York time across DST", () => {
    // Friday before the March 2024 switch is EST (UTC-5), Monday after is EDT (UTC-4).
    expect(new Date(calendar.session("2024-03-08", "regular")?.open ?? 0).toISOString()).toBe(
      "2024-03-08T14:30:00.000Z"
    )
    expect(new Date(calendar.session("2024-03-11", "regular")?.open ?? 0).toISOString()).toBe(
      "2024-03-11T13:30:00.000Z"
    )
    expect(new Date(calendar.session("2024-11-01", "regular")?.close ?? 0).toISOString()).toBe(
      "2024-11-01T20:00:00.000Z"
    )
    expect(new Date(calendar.session("2024-11-04", "regular")?.close ?? 0).toISOString()).toBe(
      "2024-11-04T21:00:00.000Z"
    )
  })

  test("early closes expect 210 regular minutes; full days 390; extended 960", () => {
    expect(calendar.expectedBars("2024-11-29", "regular", 1)).toBe(210)
    expect(new Date(calendar.session("2024-11-29", "regular")?.close ?? 0).toISOString()).toBe(
      "2024-11-29T18:00:00.000Z"
    )
    expect(calendar.expectedBars("2024-03-08", "regular", 1)).toBe(390)
    expect(calendar.expectedBars("2024-03-08", "extended", 1)).toBe(960)
    expect(calendar.expectedBars("2024-03-08", "regular", 5)).toBe(78)
    expect(calendar.expectedBars("2024-03-09", "regular", 1)).toBe(0)
  })

  test("trading days skip weekends and holidays", () => {
    expect([...calendar.tradingDays("2024-12-23", "2025-01-03")] as Array<string>).toEqual([
      "2024-12-23",
      "2024-12-24",
      "2024-12-26",
      "2024-12-27",
      "2024-12-30",
      "2024-12-31",
      "2025-01-02",
      "2025-01-03"
    ])
  })

  test("a UTC instant maps to its New York date around midnight and DST", () => {
    expect(newYorkDayOf(Date.parse("2024-03-09T04:59:00Z"))).toBe(dayNumber("2024-03-08"))
    expect(newYorkDayOf(Date.parse("2024-03-09T05:00:00Z"))).toBe(dayNumber("2024-03-09"))
    expect(newYorkDayOf(Date.parse("2024-07-02T03:59:00Z"))).toBe(dayNumber("2024-07-01"))
    expect(newYorkDayOf(Date.parse("2024-07-02T04:00:00Z"))).toBe(dayNumber("2024-07-02"))
  })

  test("before 2007 DST ran from April to October", () => {
    expect(new Date(calendar.session("2006-04-03", "regular")?.open ?? 0).toISOString()).toBe(
      "2006-04-03T13:30:00.000Z"
    )
    expect(new Date(calendar.session("2006-03-13", "regular")?.open ?? 0).toISOString()).toBe(
      "2006-03-13T14:30:00.000Z"
    )
  })
})

describe("1990-2003, where the exchange's rules differed from today's", () => {
  const closeOf = (day: string) => {
    const s = calendar.session(day, "regular")
    return s === undefined ? "closed" : new Date(s.close).toISOString().slice(11, 16)
  }

  test("1994-04-27 was closed for President Nixon's funeral", () => {
    expect(calendar.status("1994-04-27")).toMatchObject({ status: "closed" })
    expect(calendar.status("1994-04-27").reason).toMatch(/Nixon/u)
  })

  test("before 1995 July 3 was a full day; 1996 and 2002 closed early on Friday July 5 instead of Wednesday July 3", () => {
    for (const day of ["1990-07-03", "1991-07-03", "1996-07-03", "2002-07-03"]) {
      expect(`${day} ${calendar.status(day).status}`).toBe(`${day} open`)
    }
    // Both are summer (EDT): 13:00 New York is 17:00 UTC.
    expect(closeOf("1996-07-05")).toBe("17:00")
    expect(closeOf("2002-07-05")).toBe("17:00")
    // From 1995 a July 3 on Monday, Tuesday or Thursday closed early; from 2013 a Wednesday one too.
    expect(calendar.status("1995-07-03").status).toBe("early_close")
    expect(calendar.status("1997-07-03").status).toBe("early_close")
    expect(calendar.status("2013-07-03").status).toBe("early_close")
    expect(calendar.status("2013-07-05").status).toBe("open")
  })

  test("1997-12-26, 1999-12-31 and 2003-12-26 closed at 13:00", () => {
    // Winter (EST): 13:00 New York is 18:00 UTC.
    for (const day of ["1997-12-26", "1999-12-31", "2003-12-26"]) expect(`${day} ${closeOf(day)}`).toBe(`${day} 18:00`)
    expect(calendar.expectedBars("1999-12-31", "regular", 1)).toBe(210)
  })

  test("before 1993 Christmas Eve and the day after Thanksgiving closed at 14:00, from 1993 at 13:00", () => {
    for (const day of ["1990-11-23", "1990-12-24", "1991-11-29", "1991-12-24", "1992-11-27", "1992-12-24"]) {
      expect(`${day} ${closeOf(day)}`).toBe(`${day} 19:00`)
      expect(calendar.expectedBars(day, "regular", 1)).toBe(270)
    }
    expect(closeOf("1993-11-26")).toBe("18:00")
    expect(closeOf("1996-12-24")).toBe("18:00")
  })

  test("daylight saving before 2007: first Sunday of April to the last Sunday of October", () => {
    // 1996: DST from April 7 to October 27 (April 5 was Good Friday).
    expect(new Date(calendar.session("1996-04-04", "regular")?.open ?? 0).toISOString()).toBe(
      "1996-04-04T14:30:00.000Z"
    )
    expect(new Date(calendar.session("1996-04-08", "regular")?.open ?? 0).toISOString()).toBe(
      "1996-04-08T13:30:00.000Z"
    )
    expect(new Date(calendar.session("1996-10-25", "regular")?.open ?? 0).toISOString()).toBe(
      "1996-10-25T13:30:00.000Z"
    )
    expect(new Date(calendar.session("1996-10-28", "regular")?.open ?? 0).toISOString()).toBe(
      "1996-10-28T14:30:00.000Z"
    )
  })
})

/**
 * The NYSE trading calendar in America/New_York, computed from the exchange's rules so it needs no data file:
 * weekends, full holidays (with their observed days), special closures, 13:00 early closes and US daylight saving.
 * Future special closures cannot be known, so operators add them through config (`calendar.closures`).
 */
import { Schema } from "effect"

const isoDay = /^\d{4}-\d{2}-\d{2}$/u

/** A calendar date in New York, `YYYY-MM-DD`. Trading days and partitions are keyed by it. */
export const TradingDay = Schema.String.check(
  Schema.isPattern(isoDay, { expected: "a date as YYYY-MM-DD" }),
  Schema.makeFilter((s: string) => isRealDate(s) || "a real calendar date (YYYY-MM-DD)")
).pipe(Schema.brand("TradingDay"))
export type TradingDay = typeof TradingDay.Type

const DAY_MS = 86_400_000

/**
 * The days the calendar is right for. From 1990 the rules below match the exchange's sessions, holidays, early
 * closes and daylight saving (checked against exchange_calendars' XNYS); before that they do not, and nobody has
 * added them yet. The rules hold for future years until the exchange changes them; 2100 is where we stop vouching.
 */
export const CALENDAR_FIRST_DAY = "1990-01-01"
export const CALENDAR_LAST_DAY = "2100-12-31"

function isRealDate(s: string): boolean {
  const n = Date.parse(`${s}T00:00:00Z`)
  return Number.isFinite(n) && new Date(n).toISOString().slice(0, 10) === s
}

/** Days since 1970-01-01 for a `YYYY-MM-DD` string. */
export const dayNumber = (day: string): number => Math.floor(Date.parse(`${day}T00:00:00Z`) / DAY_MS)
export const dayFromNumber = (n: number): TradingDay => new Date(n * DAY_MS).toISOString().slice(0, 10) as TradingDay
/** 0 = Sunday … 6 = Saturday. */
export const weekday = (n: number): number => (((n + 4) % 7) + 7) % 7
export const addDays = (day: string, n: number): TradingDay => dayFromNumber(dayNumber(day) + n)

const ymd = (y: number, m: number, d: number): number => Math.floor(Date.UTC(y, m - 1, d) / DAY_MS)

/** The n-th (1-based) given weekday of a month; n = -1 gives the last one. */
function nthWeekday(y: number, m: number, wd: number, n: number): number {
  if (n > 0) {
    const first = ymd(y, m, 1)
    return first + ((wd - weekday(first) + 7) % 7) + (n - 1) * 7
  }
  const last = ymd(y, m + 1, 1) - 1
  return last - ((weekday(last) - wd + 7) % 7)
}

/** Gregorian Easter Sunday (anonymous algorithm). */
function easter(y: number): number {
  const a = y % 19
  const b = Math.floor(y / 100)
  const c = y % 100
  const d = Math.floor(b / 4)
  const e = b % 4
  const f = Math.floor((b + 8) / 25)
  const g = Math.floor((b - f + 1) / 3)
  const h = (19 * a + b - d - g + 15) % 30
  const i = Math.floor(c / 4)
  const k = c % 4
  const l = (32 + 2 * e + 2 * i - h - k) % 7
  const m = Math.floor((a + 11 * h + 22 * l) / 451)
  const month = Math.floor((h + l - 7 * m + 114) / 31)
  const day = ((h + l - 7 * m + 114) % 31) + 1
  return ymd(y, month, day)
}

/** Saturday holidays move to Friday, Sunday holidays to Monday. */
function observed(n: number): number {
  const wd = weekday(n)
  return wd === 6 ? n - 1 : wd === 0 ? n + 1 : n
}

/** One-off closures the rules cannot derive (national days of mourning, storms, 9/11). */
export const specialClosures: Readonly<Record<string, string>> = {
  "1994-04-27": "National Day of Mourning for Richard Nixon",
  "2001-09-11": "September 11 attacks",
  "2001-09-12": "September 11 attacks",
  "2001-09-13": "September 11 attacks",
  "2001-09-14": "September 11 attacks",
  "2004-06-11": "National Day of Mourning for Ronald Reagan",
  "2007-01-02": "National Day of Mourning for Gerald Ford",
  "2012-10-29": "Hurricane Sandy",
  "2012-10-30": "Hurricane Sandy",
  "2018-12-05": "National Day of Mourning for George H. W. Bush",
  "2025-01-09": "National Day of Mourning for Jimmy Carter"
}

/** Full-day closures of one year, day number → reason. */
export function holidays(year: number): Map<number, string> {
  const out = new Map<number, string>()
  const newYear = ymd(year, 1, 1)
  // NYSE does not close on a Friday Dec 31 for a Saturday New Year's Day; a Sunday one moves to Monday.
  if (weekday(newYear) !== 6) out.set(observed(newYear), "New Year's Day")
  if (year >= 1998) out.set(nthWeekday(year, 1, 1, 3), "Martin Luther King Jr. Day")
  out.set(nthWeekday(year, 2, 1, 3), "Washington's Birthday")
  out.set(easter(year) - 2, "Good Friday")
  out.set(nthWeekday(year, 5, 1, -1), "Memorial Day")
  if (year >= 2022) out.set(observed(ymd(year, 6, 19)), "Juneteenth")
  out.set(observed(ymd(year, 7, 4)), "Independence Day")
  out.set(nthWeekday(year, 9, 1, 1), "Labor Day")
  out.set(nthWeekday(year, 11, 4, 4), "Thanksgiving Day")
  out.set(observed(ymd(year, 12, 25)), "Christmas Day")
  for (const [day, reason] of Object.entries(specialClosures)) {
    if (day.startsWith(`${year}-`)) out.set(dayNumber(day), reason)
  }
  return out
}

/** One-off 13:00 closes the yearly rules do not produce. */
export const specialEarlyCloses: ReadonlyArray<string> = ["1997-12-26", "1999-12-31", "2003-12-26"]

/**
 * Early closes of one year, day number → the New York hour the session ends: Black Friday and Christmas Eve
 * (Monday–Thursday) at 13:00, at 14:00 before 1993; the day before Independence Day at 13:00 from 1995 — Monday,
 * Tuesday or Thursday until 2012, also Wednesday from 2013 — with the Friday after it instead in 1996 and 2002, when
 * July 4 was a Thursday.
 */
export function earlyCloses(year: number): Map<number, number> {
  const out = new Map<number, number>()
  const hour = year < 1993 ? 14 : 13
  out.set(nthWeekday(year, 11, 4, 4) + 1, hour)
  const christmasEve = ymd(year, 12, 24)
  if (weekday(christmasEve) >= 1 && weekday(christmasEve) <= 4) out.set(christmasEve, hour)
  if (year >= 1995) {
    const july3 = ymd(year, 7, 3)
    const wd = weekday(july3)
    if (wd === 1 || wd === 2 || wd === 4 || (wd === 3 && year >= 2013)) out.set(july3, 13)
    const july5 = ymd(year, 7, 5)
    if (year >= 1996 && year < 2013 && weekday(july5) === 5) out.set(july5, 13)
  }
  for (const day of specialEarlyCloses) if (day.startsWith(`${year}-`)) out.set(dayNumber(day), 13)
  return out
}

/**
 * Minutes New York is behind UTC on a local date: 240 in daylight time, 300 otherwise. Valid for local times after
 * 03:00, which covers every session (the switch happens at 02:00).
 */
export function newYorkOffsetMinutes(n: number): number {
  const year = new Date(n * DAY_MS).getUTCFullYear()
  const [start, end] =
    year >= 2007
      ? [nthWeekday(year, 3, 0, 2), nthWeekday(year, 11, 0, 1)]
      : [nthWeekday(year, 4, 0, 1), nthWeekday(year, 10, 0, -1)]
  return n >= start && n < end ? 240 : 300
}

/** UTC epoch milliseconds of a New York wall-clock time on a local date. */
export const newYorkToUtc = (n: number, hour: number, minute: number): number =>
  n * DAY_MS + (hour * 60 + minute + newYorkOffsetMinutes(n)) * 60_000

/**
 * The UTC instant New York date `n` begins at, as `newYorkDayOf` draws the line: `newYorkDayOf(t) === n` exactly
 * when `newYorkDayStart(n) <= t < newYorkDayStart(n + 1)`. Code that assigns many bars to days computes these two
 * bounds once a day and compares, instead of doing the calendar's date maths per bar.
 */
export const newYorkDayStart = (n: number): number => n * DAY_MS + newYorkOffsetMinutes(n) * 60_000

/** The New York calendar date of a UTC instant. */
export function newYorkDayOf(utcMs: number): number {
  const guess = Math.floor(utcMs / DAY_MS)
  // The local date is the UTC date or the day before; pick by the offset in force on the candidate day.
  return Math.floor((utcMs - newYorkOffsetMinutes(guess) * 60_000) / DAY_MS) === guess ? guess : guess - 1
}

export type SessionKind = "regular" | "extended"

export interface Session {
  readonly day: TradingDay
  /** First bar start, UTC ms (inclusive). */
  readonly open: number
  /** Session end, UTC ms (exclusive). */
  readonly close: number
  /** The regular session ends before 16:00 (at 13:00; at 14:00 on some days before 1993). */
  readonly earlyClose: boolean
}

export interface DayStatus {
  readonly day: TradingDay
  readonly status: "open" | "early_close" | "closed" | "weekend"
  readonly reason?: string
}

export interface CalendarOptions {
  /** Extra full-day closures (YYYY-MM-DD), e.g. a future national day of mourning. */
  readonly closures?: ReadonlyArray<string>
  /** Extra 13:00 early closes (YYYY-MM-DD). */
  readonly earlyCloses?: ReadonlyArray<string>
}

export interface TradingCalendar {
  readonly status: (day: string) => DayStatus
  readonly isTradingDay: (day: string) => boolean
  readonly session: (day: string, kind: SessionKind) => Session | undefined
  /** Trading days in [from, to], both inclusive. */
  readonly tradingDays: (from: string, to: string) => ReadonlyArray<TradingDay>
  /** Bars a complete session of `minutes`-long bars holds. */
  readonly expectedBars: (day: string, kind: SessionKind, minutes: number) => number
}

/** The trading day before `day` (looking back a fortnight, which any run of closures fits in). */
export const previousTradingDay =
  (calendar: TradingCalendar) =>
  (day: string): string | undefined =>
    calendar.tradingDays(addDays(day, -14), addDays(day, -1)).at(-1)

/** Builds the NYSE calendar, optionally with closures and early closes an operator adds. */
export function makeCalendar(options: CalendarOptions = {}): TradingCalendar {
  const years = new Map<number, { closed: Map<number, string>; early: Map<number, number> }>()
  const extraClosed = new Set((options.closures ?? []).map(dayNumber))
  const extraEarly = new Set((options.earlyCloses ?? []).map(dayNumber))
  const yearRules = (year: number) => {
    let rules = years.get(year)
    if (rules === undefined) {
      rules = { closed: holidays(year), early: earlyCloses(year) }
      years.set(year, rules)
    }
    return rules
  }

  const status = (day: string): DayStatus => {
    const n = dayNumber(day)
    const d = dayFromNumber(n)
    const wd = weekday(n)
    if (wd === 0 || wd === 6) return { day: d, status: "weekend" }
    if (extraClosed.has(n)) return { day: d, status: "closed", reason: "closure added in config" }
    const rules = yearRules(Number(day.slice(0, 4)))
    const reason = rules.closed.get(n)
    if (reason !== undefined) return { day: d, status: "closed", reason }
    if (rules.early.has(n) || extraEarly.has(n)) return { day: d, status: "early_close" }
    return { day: d, status: "open" }
  }

  /** The New York hour a regular early close ends (13:00 unless the year's rules say 14:00). */
  const earlyCloseHour = (n: number): number =>
    extraEarly.has(n) ? 13 : (yearRules(new Date(n * DAY_MS).getUTCFullYear()).early.get(n) ?? 13)

  const isTradingDay = (day: string): boolean => {
    const s = status(day).status
    return s === "open" || s === "early_close"
  }

  const session = (day: string, kind: SessionKind): Session | undefined => {
    const st = status(day)
    if (st.status !== "open" && st.status !== "early_close") return undefined
    const n = dayNumber(day)
    const early = st.status === "early_close"
    const [oh, om] = kind === "regular" ? [9, 30] : [4, 0]
    const closeHour = kind === "regular" ? (early ? earlyCloseHour(n) : 16) : early ? 17 : 20
    return { day: st.day, open: newYorkToUtc(n, oh, om), close: newYorkToUtc(n, closeHour, 0), earlyClose: early }
  }

  const tradingDays = (from: string, to: string): ReadonlyArray<TradingDay> => {
    const out: Array<TradingDay> = []
    for (let n = dayNumber(from), end = dayNumber(to); n <= end; n++) {
      const d = dayFromNumber(n)
      if (isTradingDay(d)) out.push(d)
    }
    return out
  }

  const expectedBars = (day: string, kind: SessionKind, minutes: number): number => {
    const s = session(day, kind)
    return s === undefined ? 0 : Math.ceil((s.close - s.open) / (minutes * 60_000))
  }

  return { status, isTradingDay, session, tradingDays, expectedBars }
}

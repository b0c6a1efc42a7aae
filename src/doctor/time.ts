/**
 * The checks that read the clock — through Effect's `Clock`, so tests set the time with `TestClock`: the system
 * clock is plausible (a clock in 1970 or 2200 would date every bar and lease wrongly), and the trading calendar
 * covers today and the days the config adds closures and early closes for.
 */
import { Clock, Effect } from "effect"
import type { LoadedConfig } from "../config/load.ts"
import {
  CALENDAR_FIRST_DAY,
  CALENDAR_LAST_DAY,
  dayFromNumber,
  dayNumber,
  newYorkDayOf,
  type TradingCalendar
} from "../domain/calendar.ts"
import { type CheckResult, fail, pass, warn } from "./check.ts"

/** No release was built before this (`version.ts` carries no build date): a clock before it is wrong. */
export const EARLIEST_SANE_TIME = "2024-01-01T00:00:00Z"
/** Nor will this build run this late; a clock past it is wrong too. */
export const LATEST_SANE_TIME = "2100-01-01T00:00:00Z"

/** The calendar check warns this many days before the calendar's last covered day. */
export const CALENDAR_WARN_DAYS = 365

export const clockCheck: Effect.Effect<CheckResult> = Effect.map(Clock.currentTimeMillis, (now) => {
  const shown = Number.isFinite(now) && Math.abs(now) <= 8.64e15 ? new Date(now).toISOString() : String(now)
  const bounds = `after ${EARLIEST_SANE_TIME.slice(0, 10)} and before ${LATEST_SANE_TIME.slice(0, 10)}`
  return now >= Date.parse(EARLIEST_SANE_TIME) && now < Date.parse(LATEST_SANE_TIME)
    ? pass("clock", `${shown} is ${bounds}`)
    : fail("clock", `the system clock says ${shown}, which is not ${bounds}: set the clock (NTP) before running`)
})

const dayWord = (status: ReturnType<TradingCalendar["status"]>) =>
  status.status === "open"
    ? "a trading day"
    : status.status === "early_close"
      ? "a trading day closing early"
      : status.status === "weekend"
        ? "a weekend"
        : `closed (${status.reason ?? "holiday"})`

/** The days the config adds to the calendar that fall outside the days it covers. */
const outsideDays = (config: LoadedConfig["config"]): ReadonlyArray<string> =>
  [...(config.calendar?.closures ?? []), ...(config.calendar?.early_closes ?? [])].filter(
    (day) => day < CALENDAR_FIRST_DAY || day > CALENDAR_LAST_DAY
  )

/**
 * The NYSE calendar's rules are vouched for from `CALENDAR_FIRST_DAY` to `CALENDAR_LAST_DAY` (`domain/calendar.ts`):
 * fail outside that, warn within `CALENDAR_WARN_DAYS` of its end or when config adds days outside it.
 */
export const calendarCheck = (calendar: TradingCalendar, config: LoadedConfig["config"]): Effect.Effect<CheckResult> =>
  Effect.map(Clock.currentTimeMillis, (now) => {
    const name = "calendar"
    const covers = `the calendar covers ${CALENDAR_FIRST_DAY} to ${CALENDAR_LAST_DAY}`
    const today = dayFromNumber(newYorkDayOf(now))
    if (today < CALENDAR_FIRST_DAY || today > CALENDAR_LAST_DAY) {
      return fail(name, `today (${today}, New York) is outside it: ${covers}; upgrade MarketPipe`)
    }
    const todayIs = `today ${today} (New York) is ${dayWord(calendar.status(today))}`
    const left = dayNumber(CALENDAR_LAST_DAY) - dayNumber(today)
    if (left < CALENDAR_WARN_DAYS) {
      return warn(name, `${todayIs}, but ${covers}, ${left} day(s) from now: upgrade MarketPipe before then`)
    }
    const outside = outsideDays(config)
    if (outside.length > 0) {
      return warn(
        name,
        `${todayIs}; config calendar adds ${outside.join(", ")}, outside what it covers (${CALENDAR_FIRST_DAY} to ${CALENDAR_LAST_DAY}): those have no effect`
      )
    }
    const added = (config.calendar?.closures?.length ?? 0) + (config.calendar?.early_closes?.length ?? 0)
    return pass(name, `${todayIs}; ${covers}${added > 0 ? ` (with ${added} day(s) added in config)` : ""}`)
  })

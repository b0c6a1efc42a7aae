/**
 * When a scheduled job runs, from `--on-calendar`: a subset of systemd's calendar events (`systemd.time(7)`) that
 * reads the same to systemd and to cron. `[DAYS] [DATE] HH:MM[:SS] [TIME ZONE]` or a shorthand (`daily`, …), e.g.
 * `Mon..Fri 18:30 America/New_York`. systemd gets it back as an `OnCalendar=` value; cron gets five time fields and
 * the zone for `CRON_TZ=`, when cron can say it (no dates, no seconds).
 */
import { shown, UsageError } from "../domain/errors.ts"

export type ScheduleKind = "systemd" | "cron"

export interface Calendar {
  /** The value for systemd's `OnCalendar=`: the input's words, minus a `*` for the days (systemd reads no such word). */
  readonly onCalendar: string
  /** The IANA time zone named at the end, if any (else the machine's zone applies). */
  readonly timeZone: string | undefined
  /** cron's five time fields (minute hour day-of-month month day-of-week); absent when cron cannot say it. */
  readonly cron: string | undefined
}

/** systemd's shorthands and the same times in cron's fields. */
const SHORTHANDS: Readonly<Record<string, string>> = {
  minutely: "* * * * *",
  hourly: "0 * * * *",
  daily: "0 0 * * *",
  weekly: "0 0 * * 1",
  monthly: "0 0 1 * *",
  yearly: "0 0 1 1 *"
}

/** Day names as systemd reads them (three letters or whole, any case), numbered as cron does (Sunday 0). */
const DAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
/** systemd's week runs Monday to Sunday: a range goes forward in it. */
const weekOrder = (day: number) => (day === 0 ? 7 : day)

const DAYS_WORD = /^[A-Za-z]+(?:(?:\.\.|-)[A-Za-z]+)?(?:,[A-Za-z]+(?:(?:\.\.|-)[A-Za-z]+)?)*$/u
const DATE_WORD = /^[0-9*][0-9*,./~]*-[0-9*,./~]+(?:-[0-9*,./~]+)?$/u
const TIME_WORD = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/u

const SUPPORTED = {
  systemd: `[DAYS] [DATE] HH:MM[:SS] [TIME ZONE] (e.g. "Mon..Fri 18:30 America/New_York", "Mon,Wed,Fri 06:00", "*-*-01 02:00 UTC") or one of ${Object.keys(SHORTHANDS).join(", ")}, optionally followed by a time zone`,
  cron: `[DAYS] HH:MM [TIME ZONE], DAYS being a range like Mon..Fri, a list like Mon,Wed,Fri, or * or nothing for every day (e.g. "Mon..Fri 18:30 America/New_York"), or one of ${Object.keys(SHORTHANDS).join(", ")}, optionally followed by a time zone; anything else needs --kind systemd`
}

const unsupported = (value: string, kind: ScheduleKind, why: string) =>
  new UsageError({ field: "--on-calendar", reason: `${shown(value)} ${why}; --kind ${kind} takes ${SUPPORTED[kind]}` })

const dayNumber = (name: string): number | undefined => {
  const lower = name.toLowerCase()
  const index = DAYS.findIndex((d) => d === lower || d.slice(0, 3) === lower)
  return index < 0 ? undefined : index
}

/** The days a DAYS word names (`Mon..Fri`, `Mon,Wed,Fri`, `Sat-Sun`), as cron numbers; undefined when it is no such word. */
function daysOf(word: string): Set<number> | undefined {
  if (!DAYS_WORD.test(word)) return undefined
  const days = new Set<number>()
  for (const part of word.split(",")) {
    const [from, to = from] = part.split(/\.\.|-/u).map(dayNumber)
    if (from === undefined || to === undefined || weekOrder(from) > weekOrder(to)) return undefined
    for (let d = weekOrder(from); d <= weekOrder(to); d++) days.add(d % 7)
  }
  return days
}

/** A set of cron day numbers as cron's day-of-week field: `*` for all seven, runs as `a-b`, the rest listed. */
function cronDays(days: Set<number>): string {
  if (days.size === 7) return "*"
  const sorted = [...days].sort((a, b) => a - b)
  const parts: Array<string> = []
  for (let i = 0; i < sorted.length; ) {
    let j = i
    while (j + 1 < sorted.length && (sorted[j + 1] as number) === (sorted[j] as number) + 1) j++
    parts.push(j === i ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`)
    i = j + 1
  }
  return parts.join(",")
}

/** Whether `zone` is an IANA time zone spelled exactly as its file under /usr/share/zoneinfo (systemd looks it up there). */
function zoneProblem(zone: string): string | undefined {
  try {
    const resolved = new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone
    return resolved === zone ? undefined : `spells the time zone ${zone}, which is written ${resolved}`
  } catch {
    return `ends in ${shown(zone)}, which is no time zone (an IANA name like America/New_York or UTC)`
  }
}

/**
 * `--on-calendar` for a job of `kind`: its `OnCalendar=` value, its time zone and (for cron) its five time fields.
 * Throws a `UsageError` naming `--on-calendar` and saying what is taken.
 */
export function parseCalendar(value: string, kind: ScheduleKind): Calendar {
  const words = value
    .trim()
    .split(/\s+/u)
    .filter((w) => w !== "")
  if (words.length === 0) throw unsupported(value, kind, "is empty")
  let i = 0
  let days: Set<number> | undefined
  let cron: string | undefined
  let dated = false
  const shorthand = SHORTHANDS[(words[0] as string).toLowerCase()]
  if (shorthand !== undefined) {
    cron = shorthand
    i = 1
  } else {
    if (words[0] === "*") i = 1
    else if (DAYS_WORD.test(words[0] as string)) {
      days = daysOf(words[0] as string)
      if (days === undefined) {
        throw unsupported(
          value,
          kind,
          `starts with ${shown(words[0] as string)}, which is no day (Mon), list (Mon,Wed,Fri) or range running forward through the week (Mon..Fri, Sat..Sun)`
        )
      }
      i = 1
    }
    if (DATE_WORD.test(words[i] ?? "")) {
      dated = words[i] !== "*-*-*"
      i++
    }
    const time = TIME_WORD.exec(words[i] ?? "")
    if (time === null) throw unsupported(value, kind, "has no time of day HH:MM where one is due")
    const [hour, minute, second] = [Number(time[1]), Number(time[2]), Number(time[3] ?? "0")]
    if (hour > 23 || minute > 59 || second > 59)
      throw unsupported(value, kind, `has ${words[i]}, which is no time of day`)
    i++
    if (!dated && second === 0) {
      cron = `${minute} ${hour} * * ${days === undefined ? "*" : cronDays(days)}`
    }
  }
  const timeZone = words[i]
  if (timeZone !== undefined) {
    const problem = zoneProblem(timeZone)
    if (problem !== undefined) throw unsupported(value, kind, problem)
    i++
  }
  if (i < words.length) throw unsupported(value, kind, `has ${shown(words.slice(i).join(" "))} left over`)
  if (kind === "cron" && cron === undefined) throw unsupported(value, kind, "cannot be said in cron's five fields")
  return { onCalendar: words.filter((w, n) => n !== 0 || w !== "*").join(" "), timeZone, cron }
}

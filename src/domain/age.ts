/**
 * Ages for retention: `30d`, `18m`, `2y` (days, months, years) or `never`. A cutoff is counted back in calendar
 * days, months or years from a day, so `18m` before 2026-12-01 is 2025-06-01; a month end past the shorter month
 * lands on its last day (`1m` before 2024-03-31 is 2024-02-29).
 */
import { addDays } from "./calendar.ts"

export type Age = { readonly count: number; readonly unit: "d" | "m" | "y" } | "never"

export const AGE_FORM = "an age such as 30d, 18m or 2y (days, months, years), or never"

/** The age `text` names, or `undefined` when it is not one. */
export function parseAge(text: string): Age | undefined {
  if (text === "never") return "never"
  const m = /^([1-9][0-9]{0,4})([dmy])$/u.exec(text)
  if (m === null) return undefined
  const count = Number(m[1])
  const unit = m[2] as "d" | "m" | "y"
  // Past 9999-12-31 or before year 1 counts are nonsense, not a retention.
  const days = unit === "d" ? count : unit === "m" ? count * 31 : count * 366
  return days > 3_660_000 ? undefined : { count, unit }
}

const daysIn = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate()

/** The first day kept: data on days before it is older than `age` as of `today` (`YYYY-MM-DD`); none for `never`. */
export function ageCutoff(age: Age, today: string): string | undefined {
  if (age === "never") return undefined
  if (age.unit === "d") return addDays(today, -age.count)
  const [y, m, d] = today.split("-").map(Number) as [number, number, number]
  const months = age.unit === "m" ? age.count : age.count * 12
  const total = y * 12 + (m - 1) - months
  const year = Math.floor(total / 12)
  const month = (total % 12) + 1
  if (year < 1) return "0001-01-01"
  const day = Math.min(d, daysIn(year, month))
  return `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`
}

/**
 * Fast fixed-format timestamp parsing for provider payloads: `Date.parse` per bar halved throughput, and a page of
 * 10,000 bars carries only a handful of distinct dates, so the date part's day number is kept from the last call.
 */

/** The value of two decimal digits at `i`, NaN unless both are digits. */
const twoDigits = (s: string, i: number): number => {
  const a = s.charCodeAt(i) - 48
  const b = s.charCodeAt(i + 1) - 48
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : Number.NaN
}

const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0
const monthDays = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/** Days since 1970-01-01 of a proleptic Gregorian date (any year 0–9999; `Date.UTC` would read 0–99 as 19xx). */
function daysFromCivil(y: number, m: number, d: number): number {
  const year = m <= 2 ? y - 1 : y
  const era = Math.floor(year / 400)
  const yoe = year - era * 400
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146_097 + doe - 719_468
}

/** The last `YYYY-MM-DD` read and its UTC midnight, so the bars of one day parse their date once. */
let lastDate = ""
let lastMidnight = Number.NaN

/** UTC midnight of the `YYYY-MM-DD` that `s` starts with; NaN when it is not a real date (February 30). */
function midnightOf(s: string): number {
  if (lastDate !== "" && s.startsWith(lastDate)) return lastMidnight
  const y = twoDigits(s, 0) * 100 + twoDigits(s, 2)
  const mo = twoDigits(s, 5)
  const d = twoDigits(s, 8)
  if (!(mo >= 1 && mo <= 12)) return Number.NaN
  const lastDay = mo === 2 && isLeap(y) ? 29 : (monthDays[mo - 1] as number)
  if (!(d >= 1 && d <= lastDay)) return Number.NaN
  lastDate = s.slice(0, 10)
  lastMidnight = daysFromCivil(y, mo, d) * 86_400_000
  return lastMidnight
}

/**
 * Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` or with a `±HH:MM` offset into UTC epoch ms; NaN when malformed — including
 * fields out of range (`T37:30`, February 30), which must not roll over into another, real-looking time. Falls back to
 * `Date.parse` for anything finer than milliseconds.
 */
export function parseIsoUtc(s: string): number {
  if (s.length < 20 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84) return Number.NaN
  if (s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return Number.NaN
  const h = twoDigits(s, 11)
  const mi = twoDigits(s, 14)
  const sec = twoDigits(s, 17)
  if (!(h <= 23 && mi <= 59 && sec <= 59)) return Number.NaN
  const midnight = midnightOf(s)
  if (Number.isNaN(midnight)) return Number.NaN
  const base = midnight + ((h * 60 + mi) * 60 + sec) * 1000
  // The common case, as Alpaca and most APIs send it: whole seconds in UTC.
  if (s.length === 20 && s.charCodeAt(19) === 90) return base
  let i = 19
  let ms = 0
  if (s.charCodeAt(i) === 46) {
    let end = i + 1
    while (end < s.length && s.charCodeAt(end) >= 48 && s.charCodeAt(end) <= 57) end++
    const digits = end - i - 1
    if (digits === 0) return Number.NaN
    if (digits > 3) return Date.parse(s)
    ms = Number(s.slice(i + 1, end).padEnd(3, "0"))
    i = end
  }
  if (i === s.length - 1 && s.charCodeAt(i) === 90) return base + ms
  if (i !== s.length - 6 || s.charCodeAt(i + 3) !== 58) return Number.NaN
  const sign = s.charCodeAt(i)
  const oh = twoDigits(s, i + 1)
  const om = twoDigits(s, i + 4)
  if ((sign !== 43 && sign !== 45) || !(oh <= 23 && om <= 59)) return Number.NaN
  const offset = (oh * 60 + om) * 60_000
  return base + ms - (sign === 43 ? offset : -offset)
}

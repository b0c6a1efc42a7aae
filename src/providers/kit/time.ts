/** Fast fixed-format timestamp parsing for provider payloads (`Date.parse` per bar halves throughput). */

const digits = (s: string, from: number, n: number): number => {
  let v = 0
  for (let i = from; i < from + n; i++) {
    const d = s.charCodeAt(i) - 48
    if (d < 0 || d > 9) return Number.NaN
    v = v * 10 + d
  }
  return v
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

/**
 * Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` or with a `±HH:MM` offset into UTC epoch ms; NaN when malformed — including
 * fields out of range (`T37:30`, February 30), which must not roll over into another, real-looking time. Falls back to
 * `Date.parse` for anything finer than milliseconds.
 */
export function parseIsoUtc(s: string): number {
  if (s.length < 20 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84) return Number.NaN
  if (s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return Number.NaN
  const [y, mo, d, h, mi, sec] = [
    digits(s, 0, 4),
    digits(s, 5, 2),
    digits(s, 8, 2),
    digits(s, 11, 2),
    digits(s, 14, 2),
    digits(s, 17, 2)
  ]
  if (!(mo >= 1 && mo <= 12 && h <= 23 && mi <= 59 && sec <= 59)) return Number.NaN
  const lastDay = mo === 2 && isLeap(y) ? 29 : (monthDays[mo - 1] as number)
  if (!(d >= 1 && d <= lastDay)) return Number.NaN
  const base = daysFromCivil(y, mo, d) * 86_400_000 + ((h * 60 + mi) * 60 + sec) * 1000
  let i = 19
  let ms = 0
  if (s[i] === ".") {
    const end = s.slice(i + 1).search(/[^0-9]/u)
    const frac = s.slice(i + 1, end < 0 ? undefined : i + 1 + end)
    if (frac.length === 0) return Number.NaN
    if (frac.length > 3) return Date.parse(s)
    ms = Number(frac.padEnd(3, "0"))
    i += 1 + frac.length
  }
  const zone = s.slice(i)
  if (zone === "Z") return base + ms
  const m = /^([+-])(\d{2}):(\d{2})$/u.exec(zone)
  if (m === null || Number(m[2]) > 23 || Number(m[3]) > 59) return Number.NaN
  const offset = (Number(m[2]) * 60 + Number(m[3])) * 60_000
  return base + ms - (m[1] === "+" ? offset : -offset)
}

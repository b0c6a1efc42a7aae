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

/**
 * Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` or with a `±HH:MM` offset into UTC epoch ms; NaN when malformed. Falls back to
 * `Date.parse` for anything longer than milliseconds.
 */
export function parseIsoUtc(s: string): number {
  if (s.length < 20 || s.charCodeAt(4) !== 45 || s.charCodeAt(10) !== 84) return Number.NaN
  const base = Date.UTC(
    digits(s, 0, 4),
    digits(s, 5, 2) - 1,
    digits(s, 8, 2),
    digits(s, 11, 2),
    digits(s, 14, 2),
    digits(s, 17, 2)
  )
  let i = 19
  let ms = 0
  if (s[i] === ".") {
    const end = s.slice(i + 1).search(/[^0-9]/u)
    const frac = s.slice(i + 1, end < 0 ? undefined : i + 1 + end)
    if (frac.length > 3) return Date.parse(s)
    ms = Number(frac.padEnd(3, "0"))
    i += 1 + frac.length
  }
  const zone = s.slice(i)
  if (zone === "Z") return base + ms
  const m = /^([+-])(\d{2}):(\d{2})$/u.exec(zone)
  if (m === null) return Number.NaN
  const offset = (Number(m[2]) * 60 + Number(m[3])) * 60_000
  return base + ms - (m[1] === "+" ? offset : -offset)
}

/** CLI input parsing that the flag parser cannot do alone: symbol lists and date ranges. */
import { Option, Schema } from "effect"
import { CALENDAR_FIRST_DAY, CALENDAR_LAST_DAY, TradingDay } from "../domain/calendar.ts"
import { shown, UsageError } from "../domain/errors.ts"
import { isSymbol, normaliseSymbol, type Symbol } from "../domain/symbol.ts"

/** A comma-separated list: spaces around an entry are trimmed, a space inside one is a mistake, not a separator. */
export function parseSymbols(flag: string, raw: string): ReadonlyArray<Symbol> {
  const parts = raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
  if (parts.length === 0) throw new UsageError({ field: flag, reason: "give at least one symbol, e.g. AAPL,MSFT" })
  const out: Array<Symbol> = []
  for (const part of parts) {
    if (/\s/u.test(part)) {
      throw new UsageError({
        field: flag,
        reason: `${shown(part)} has a space in it; separate symbols with commas, e.g. AAPL,MSFT`
      })
    }
    const symbol = normaliseSymbol(part)
    if (!isSymbol(symbol)) {
      throw new UsageError({
        field: flag,
        reason: `${shown(part)} is not a valid symbol: use 1-15 characters A-Z, 0-9, '.', '-' starting with a letter or digit (BRK.B, BRK-B and BRK/B are accepted)`
      })
    }
    if (!out.includes(symbol)) out.push(symbol)
  }
  return out
}

const isTradingDay = Schema.is(TradingDay)

/** A day the calendar is right for, or a usage error naming `flag` and the range. */
export function checkCalendarRange(flag: string, day: string, what = day): void {
  if (day < CALENDAR_FIRST_DAY) {
    throw new UsageError({
      field: flag,
      reason: `${what} is before ${CALENDAR_FIRST_DAY}, the first day the NYSE calendar covers; earlier sessions, holidays and daylight-saving rules are not modelled`
    })
  }
  if (day > CALENDAR_LAST_DAY) {
    throw new UsageError({
      field: flag,
      reason: `${what} is after ${CALENDAR_LAST_DAY}, the last day the NYSE calendar's rules are kept for`
    })
  }
}

export function parseDay(flag: string, raw: string): TradingDay {
  if (!isTradingDay(raw)) throw new UsageError({ field: flag, reason: `${shown(raw)} is not a date; use YYYY-MM-DD` })
  checkCalendarRange(flag, raw)
  return raw
}

export function parseRange(start: string, end: string): { from: TradingDay; to: TradingDay } {
  const from = parseDay("--start", start)
  const to = parseDay("--end", end)
  if (from > to)
    throw new UsageError({
      field: "--start",
      reason: `${from} is after --end ${to}; the range is start..end, both inclusive`
    })
  return { from, to }
}

/**
 * `--lookback 30d | 6w | 3m | 1y`: the first calendar day of a window ending on `to` (inclusive), counted in New
 * York calendar days, weeks, months or years.
 */
export function lookbackStart(raw: string, to: string): TradingDay {
  const m = /^(\d{1,4})([dwmy])$/u.exec(raw.trim())
  if (m === null)
    throw new UsageError({ field: "--lookback", reason: `${shown(raw)} is not a span; use e.g. 30d, 12w, 6m or 2y` })
  const n = Number(m[1])
  if (n < 1) throw new UsageError({ field: "--lookback", reason: "the span must be at least 1" })
  const d = new Date(`${to}T00:00:00Z`)
  if (m[2] === "d") d.setUTCDate(d.getUTCDate() - n + 1)
  else if (m[2] === "w") d.setUTCDate(d.getUTCDate() - 7 * n + 1)
  else if (m[2] === "m") d.setUTCMonth(d.getUTCMonth() - n, d.getUTCDate() + 1)
  else d.setUTCFullYear(d.getUTCFullYear() - n, d.getUTCMonth(), d.getUTCDate() + 1)
  const start = d.toISOString().slice(0, 10)
  checkCalendarRange("--lookback", start, `${raw.trim()} reaches back to ${start}, which`)
  return start as TradingDay
}

/** What a command over the lake or the ledger covers: `--symbols` (empty: every symbol) and `--from`..`--to`. */
export interface Scope {
  readonly symbols: ReadonlyArray<Symbol>
  readonly from: string
  readonly to: string
}

/** The widest day range both backends take: Postgres has no year 0 (`0000-01-01` fails as a date there). */
export const ALL_DAYS = { from: "0001-01-01", to: "9999-12-31" } as const

/** `--symbols`, `--from` and `--to` when given; all symbols and all days otherwise. */
export function parseScope(flags: {
  readonly symbols: Option.Option<string>
  readonly from: Option.Option<string>
  readonly to: Option.Option<string>
}): Scope {
  return {
    symbols: Option.match(flags.symbols, { onNone: () => [], onSome: (s) => parseSymbols("--symbols", s) }),
    from: Option.match(flags.from, { onNone: () => ALL_DAYS.from, onSome: (d) => parseDay("--from", d) }),
    to: Option.match(flags.to, { onNone: () => ALL_DAYS.to, onSome: (d) => parseDay("--to", d) })
  }
}

/** CLI input parsing that the flag parser cannot do alone: symbol lists and date ranges. */
import { Schema } from "effect"
import { TradingDay } from "../domain/calendar.ts"
import { UsageError } from "../domain/errors.ts"
import { isSymbol, normaliseSymbol, type Symbol } from "../domain/symbol.ts"

export function parseSymbols(flag: string, raw: string): ReadonlyArray<Symbol> {
  const parts = raw.split(/[\s,]+/u).filter((s) => s !== "")
  if (parts.length === 0) throw new UsageError({ field: flag, reason: "give at least one symbol, e.g. AAPL,MSFT" })
  const out: Array<Symbol> = []
  for (const part of parts) {
    const symbol = normaliseSymbol(part)
    if (!isSymbol(symbol)) {
      throw new UsageError({
        field: flag,
        reason: `'${part}' is not a valid symbol: use 1-15 characters A-Z, 0-9, '.', '-' starting with a letter or digit (BRK.B, BRK-B and BRK/B are accepted)`
      })
    }
    if (!out.includes(symbol)) out.push(symbol)
  }
  return out
}

const isTradingDay = Schema.is(TradingDay)

export function parseDay(flag: string, raw: string): TradingDay {
  if (!isTradingDay(raw)) throw new UsageError({ field: flag, reason: `'${raw}' is not a date; use YYYY-MM-DD` })
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
    throw new UsageError({ field: "--lookback", reason: `'${raw}' is not a span; use e.g. 30d, 12w, 6m or 2y` })
  const n = Number(m[1])
  if (n < 1) throw new UsageError({ field: "--lookback", reason: "the span must be at least 1" })
  const d = new Date(`${to}T00:00:00Z`)
  if (m[2] === "d") d.setUTCDate(d.getUTCDate() - n + 1)
  else if (m[2] === "w") d.setUTCDate(d.getUTCDate() - 7 * n + 1)
  else if (m[2] === "m") d.setUTCMonth(d.getUTCMonth() - n, d.getUTCDate() + 1)
  else d.setUTCFullYear(d.getUTCFullYear() - n, d.getUTCMonth(), d.getUTCDate() + 1)
  return d.toISOString().slice(0, 10) as TradingDay
}

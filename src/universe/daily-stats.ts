/**
 * Average daily volume and last close from daily bars: the two `SymbolMeta` fields no listing carries. Taken over the
 * days a symbol traded in the window, so a listing younger than the window averages over the days it has.
 */
import type { Symbol } from "../domain/symbol.ts"

export interface DayBar {
  readonly symbol: Symbol
  /** `YYYY-MM-DD`. */
  readonly day: string
  readonly close: number
  readonly volume: number
}

export interface DailyStats {
  readonly avgVolume: number
  readonly lastClose: number
  /** How many days the average is over. */
  readonly days: number
}

export function dailyStats(bars: Iterable<DayBar>): Map<string, DailyStats> {
  const acc = new Map<string, { sum: number; days: number; lastDay: string; lastClose: number }>()
  for (const b of bars) {
    if (!Number.isFinite(b.volume) || !Number.isFinite(b.close)) continue
    const a = acc.get(b.symbol)
    if (a === undefined) {
      acc.set(b.symbol, { sum: b.volume, days: 1, lastDay: b.day, lastClose: b.close })
      continue
    }
    a.sum += b.volume
    a.days += 1
    if (b.day > a.lastDay) {
      a.lastDay = b.day
      a.lastClose = b.close
    }
  }
  const out = new Map<string, DailyStats>()
  for (const [symbol, a] of acc) out.set(symbol, { avgVolume: a.sum / a.days, lastClose: a.lastClose, days: a.days })
  return out
}

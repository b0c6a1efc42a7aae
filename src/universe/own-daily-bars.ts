/**
 * Our own 1d bars of symbols on given days, from the lake: where average volume and last close come from for sources
 * with no whole-market daily bars. Symbols the lake has no 1d files for simply have no bars.
 */
import { Effect } from "effect"
import { addDays } from "../domain/calendar.ts"
import { tradingDayOf } from "../domain/partition.ts"
import type { Symbol } from "../domain/symbol.ts"
import { loadOhlcvEffect } from "../lake/load/load-ohlcv.ts"
import type { DayBar } from "./daily-stats.ts"

export const ownDailyBars = (dataDir: string) => (symbols: ReadonlyArray<Symbol>, days: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const [first, last] = [days[0], days.at(-1)]
    if (first === undefined || last === undefined || symbols.length === 0) return []
    const wanted = new Set(days)
    const frame = yield* loadOhlcvEffect({
      symbols,
      start: first,
      end: addDays(last, 1),
      timeframe: "1d",
      columns: ["close", "volume"],
      dataDir
    })
    const out: Array<DayBar> = []
    for (let i = 0; i < frame.length; i++) {
      const day = tradingDayOf(frame.ts[i] as number)
      if (!wanted.has(day)) continue
      out.push({
        symbol: frame.symbols[i] as Symbol,
        day,
        close: frame.close[i] as number,
        volume: frame.volume[i] as number
      })
    }
    return out
  })

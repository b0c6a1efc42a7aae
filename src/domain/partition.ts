/**
 * Partition keys. The unit of work and of the ledger is (frame, symbol, trading day); the unit of storage is the
 * file that holds a month (1m–30m) or a year (1h–1d) of one symbol (design §4).
 */

import { dayFromNumber, newYorkDayOf, type TradingDay } from "./calendar.ts"
import type { Symbol } from "./symbol.ts"
import { fileGranularity, type Timeframe } from "./timeframe.ts"

export interface PartitionKey {
  readonly frame: Timeframe
  readonly symbol: Symbol
  readonly day: TradingDay
}

/** `2024-03` for monthly frames, `2024` for yearly ones. */
export const filePeriod = (frame: Timeframe, day: string): string =>
  fileGranularity(frame) === "month" ? day.slice(0, 7) : day.slice(0, 4)

export interface FileKey {
  readonly frame: Timeframe
  readonly symbol: Symbol
  readonly period: string
}

/** Lake-relative path of a file: `ohlcv/frame=1m/symbol=AAPL/2024-03.parquet` (Hive layout). */
export const fileRelativePath = (root: "ohlcv" | "quarantine", key: FileKey): string =>
  `${root}/frame=${key.frame}/symbol=${key.symbol}/${key.period}.parquet`

export const fileKeyOf = (p: PartitionKey): FileKey => ({
  frame: p.frame,
  symbol: p.symbol,
  period: filePeriod(p.frame, p.day)
})

export const fileKeyId = (k: FileKey): string => `${k.frame}/${k.symbol}/${k.period}`

/** The New York trading day a bar start belongs to. */
export const tradingDayOf = (utcMs: number): TradingDay => dayFromNumber(newYorkDayOf(utcMs))

/** Splits row indexes of a time-sorted column by trading day, in order. */
export function splitByDay(ts: Float64Array): Array<{ day: TradingDay; from: number; to: number }> {
  const out: Array<{ day: TradingDay; from: number; to: number }> = []
  let i = 0
  while (i < ts.length) {
    const day = tradingDayOf(ts[i] as number)
    let j = i + 1
    while (j < ts.length && tradingDayOf(ts[j] as number) === day) j++
    out.push({ day, from: i, to: j })
    i = j
  }
  return out
}

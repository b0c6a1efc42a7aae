/** Bar timeframes and the file granularity each one is stored with. */
import { Schema } from "effect"

export const timeframes = ["1m", "5m", "15m", "30m", "1h", "4h", "1d"] as const
export const Timeframe = Schema.Literals(timeframes)
export type Timeframe = typeof Timeframe.Type

const minutes: Record<Timeframe, number> = { "1m": 1, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "4h": 240, "1d": 1440 }

export const timeframeMinutes = (frame: Timeframe): number => minutes[frame]

/** Intraday frames up to 30m are kept one file per month; 1h and above one file per year (design §4). */
export type FileGranularity = "month" | "year"
export const fileGranularity = (frame: Timeframe): FileGranularity => (minutes[frame] <= 30 ? "month" : "year")

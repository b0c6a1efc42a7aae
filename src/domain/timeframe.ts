/** Bar timeframes and their length in minutes (how a frame is stored is `lake/layout.ts`). */
import { Schema } from "effect"

export const timeframes = ["1m", "5m", "15m", "30m", "1h", "4h", "1d"] as const
export const Timeframe = Schema.Literals(timeframes)
export type Timeframe = typeof Timeframe.Type

/** The frames built from 1m bars (`ohlcv aggregate`, `aggregation.frames`). */
export const aggregatedFrames = ["5m", "15m", "30m", "1h", "4h", "1d"] as const

const minutes: Record<Timeframe, number> = { "1m": 1, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "4h": 240, "1d": 1440 }

export const timeframeMinutes = (frame: Timeframe): number => minutes[frame]

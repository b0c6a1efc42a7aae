/** Builds the `PluginHost` every plugin receives, first-party and third-party alike. */
import { Data, Duration, Effect, Option, Schedule, Schema, Stream } from "effect"
import { emptyBatch } from "../domain/bar.ts"
import type { TradingCalendar } from "../domain/calendar.ts"
import { ProviderError } from "../domain/errors.ts"
import { tradingDayOf } from "../domain/partition.ts"
import { parseSymbol } from "../domain/symbol.ts"
import type { PluginHost } from "./contract.ts"

export const makePluginHost = (provider: string, calendar: TradingCalendar): PluginHost => ({
  Effect,
  Stream,
  Schema,
  Option,
  Schedule,
  Duration,
  Data,
  kit: {
    calendar,
    providerError: (reason, retryable) => new ProviderError({ provider, reason, retryable }),
    emptyBatch,
    tradingDayOf,
    parseSymbol
  }
})

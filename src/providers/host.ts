/**
 * Builds the `PluginHost` every plugin receives, first-party and third-party alike. The kit's HTTP clients record to
 * the services given here (`pluginHost` takes them from the Effect context).
 */
import { parse } from "csv-parse/sync"
import { Data, Duration, Effect, Option, Schedule, Schema, Stream } from "effect"
import { emptyBatch, makeBatchBuilder } from "../domain/bar.ts"
import type { TradingCalendar } from "../domain/calendar.ts"
import { ProviderError } from "../domain/errors.ts"
import { tradingDayOf } from "../domain/partition.ts"
import { parseSymbol } from "../domain/symbol.ts"
import { Metrics } from "../observability/metrics.ts"
import type { PluginHost } from "./contract.ts"
import { type KitServices, makeProviderHttp } from "./kit/http.ts"
import { RateLimiters } from "./kit/rate-limiter.ts"
import { mask } from "./kit/secrets.ts"
import { parseIsoUtc } from "./kit/time.ts"

export const makePluginHost = (provider: string, calendar: TradingCalendar, services: KitServices): PluginHost => ({
  Effect,
  Stream,
  Schema,
  Option,
  Schedule,
  Duration,
  Data,
  kit: {
    calendar,
    http: (options) => makeProviderHttp({ ...options, provider }, services),
    parseIsoUtc,
    mask,
    parseCsv: (text) => parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true }),
    providerError: (reason, retryable, fatal, aboutSymbol) =>
      new ProviderError({
        provider,
        reason: mask(reason),
        retryable,
        fatal: fatal === true,
        aboutSymbol: aboutSymbol === true
      }),
    emptyBatch,
    batchBuilder: makeBatchBuilder,
    tradingDayOf,
    parseSymbol
  }
})

/** `makePluginHost` over the services of the current context. */
export const pluginHost = (provider: string, calendar: TradingCalendar) =>
  Effect.gen(function* () {
    return makePluginHost(provider, calendar, { metrics: yield* Metrics, limiters: yield* RateLimiters })
  })

/**
 * Builds the `PluginHost` every plugin receives, first-party and third-party alike. The kit's HTTP clients record to
 * the services given here (`pluginHost` takes them from the Effect context).
 */
import { parse } from "csv-parse/sync"
import { Data, Duration, Effect, Option, Schedule, Schema, Stream } from "effect"
import { emptyBatch, makeBatchBuilder } from "../domain/bar.ts"
import type { TradingCalendar } from "../domain/calendar.ts"
import { tradingDayOf } from "../domain/partition.ts"
import { parseSymbol } from "../domain/symbol.ts"
import { securityTypes } from "../domain/symbol-meta.ts"
import { Metrics } from "../observability/metrics.ts"
import type { PluginHost, ProviderErrorOptions } from "./contract.ts"
import { PageDecoders } from "./kit/decode-pool.ts"
import { makeProviderError } from "./kit/errors.ts"
import { type KitServices, makeProviderHttp } from "./kit/http.ts"
import { decodeOptions, httpTuning, httpTuningFields } from "./kit/options.ts"
import { RateLimiters } from "./kit/rate-limiter.ts"
import { mask } from "./kit/secrets.ts"
import { parseIsoUtc } from "./kit/time.ts"
import { isBarTime, shownWire } from "./kit/wire-values.ts"

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
    isBarTime,
    shownWire,
    mask,
    parseCsv: (text) => parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true }),
    providerError: (
      options: string | ProviderErrorOptions,
      retryable?: boolean,
      fatal?: boolean,
      aboutSymbol?: boolean
    ) =>
      makeProviderError(
        provider,
        typeof options === "string"
          ? { reason: options, retryable: retryable === true, fatal: fatal === true, aboutSymbol: aboutSymbol === true }
          : options
      ),
    decodeOptions: decodeOptions(provider),
    httpTuningFields,
    httpTuning,
    emptyBatch,
    batchBuilder: makeBatchBuilder,
    tradingDayOf,
    parseSymbol,
    securityTypes
  }
})

/** `makePluginHost` over the services of the current context. */
export const pluginHost = (provider: string, calendar: TradingCalendar) =>
  Effect.gen(function* () {
    const decoders = yield* Effect.serviceOption(PageDecoders)
    return makePluginHost(provider, calendar, {
      metrics: yield* Metrics,
      limiters: yield* RateLimiters,
      ...(Option.isSome(decoders) ? { decoders: decoders.value } : {})
    })
  })

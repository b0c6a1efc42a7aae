/**
 * A provider's snapshot of the market on a day, through its plugin's reference part: every symbol it listed (and the
 * delisted ones where it can tell), details for the symbols asked, and average volume and last close over the
 * trading days before the day, from the provider's whole-market daily bars where it has them and from our own 1d
 * bars where it does not. Gathered whole before anything is stored: a failure part-way stores nothing.
 */
import { Effect, Stream } from "effect"
import { addDays, type TradingCalendar } from "../domain/calendar.ts"
import { UsageError } from "../domain/errors.ts"
import type { Symbol } from "../domain/symbol.ts"
import type { SymbolMeta } from "../domain/symbol-meta.ts"
import type { MarketDayBar, ProviderClient, ProviderPlugin, ProviderReference } from "../providers/contract.ts"
import { type DayBar, dailyStats } from "./daily-stats.ts"

/** The plugin's reference part; a contract v1 plugin's `symbols()` stands in for it (the market as it is now). */
export function referenceOf(client: ProviderClient): ProviderReference | undefined {
  if (client.reference !== undefined) return client.reference
  const list = client.symbols
  return list === undefined ? undefined : { symbols: () => list() }
}

export interface GatherInput {
  readonly plugin: ProviderPlugin
  readonly client: ProviderClient
  /** The day the snapshot describes. */
  readonly asOf: string
  /** The New York trading day it is now: a source without history can only describe that one. */
  readonly today: string
  readonly details: "all" | ReadonlyArray<Symbol>
  /** Trading days the average volume is taken over. */
  readonly volumeDays: number
  readonly calendar: TradingCalendar
  /** Our own 1d bars of these symbols on these days, for sources without whole-market daily bars. */
  readonly ownDailyBars: (
    symbols: ReadonlyArray<Symbol>,
    days: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<DayBar>, unknown>
}

export interface Gathered {
  readonly members: ReadonlyArray<SymbolMeta>
  /** Where average volume and last close came from, and over which days. */
  readonly volumeFrom: "provider" | "lake" | "none"
  readonly days: ReadonlyArray<string>
}

/** The `count` trading days before `day`, oldest first. */
export function tradingDaysBefore(calendar: TradingCalendar, day: string, count: number): Array<string> {
  const days = calendar.tradingDays(addDays(day, -(count * 2 + 14)), addDays(day, -1))
  return days.slice(-count)
}

/** One record per ticker: a row saying it traded on the day wins over one saying it had been delisted. */
function oncePerSymbol(rows: ReadonlyArray<SymbolMeta>): Array<SymbolMeta> {
  const seen = new Map<string, SymbolMeta>()
  for (const row of rows) {
    const before = seen.get(row.symbol)
    if (before === undefined || (before.active === false && row.active !== false)) seen.set(row.symbol, row)
  }
  return [...seen.values()]
}

const marketDays = (reference: ProviderReference, days: ReadonlyArray<string>) => {
  const marketDay = reference.marketDay
  if (marketDay === undefined) return undefined
  return Effect.forEach(days, (day) =>
    Stream.runCollect(marketDay(day)).pipe(
      Effect.map((bars): Array<DayBar> => Array.from(bars, (b: MarketDayBar) => ({ ...b, day })))
    )
  ).pipe(Effect.map((perDay) => perDay.flat()))
}

export const gatherReference = (input: GatherInput) =>
  Effect.gen(function* () {
    const { plugin, client, asOf } = input
    const reference = referenceOf(client)
    if (reference === undefined) {
      return yield* new UsageError({
        field: "--provider",
        reason: `provider ${plugin.name} has no reference data (symbol lists); use polygon, finnhub or alpaca`
      })
    }
    const caps = plugin.capabilities.reference
    if (caps?.pointInTime !== true && asOf !== input.today) {
      return yield* new UsageError({
        field: "--as-of",
        reason: `provider ${plugin.name} lists symbols only as they are today (${input.today}), not as of ${asOf}; polygon lists past days`
      })
    }
    const listed = oncePerSymbol(
      Array.from(yield* Stream.runCollect(reference.symbols({ asOf, details: input.details })))
    )
    const days = tradingDaysBefore(input.calendar, asOf, input.volumeDays)
    const fromProvider = marketDays(reference, days)
    const symbols = listed.map((m) => m.symbol)
    const bars: ReadonlyArray<DayBar> =
      fromProvider !== undefined
        ? yield* fromProvider
        : yield* input
            .ownDailyBars(symbols, days)
            .pipe(
              Effect.mapError(
                (e) =>
                  new UsageError({ field: "data dir", reason: `cannot read our own 1d bars: ${(e as Error).message}` })
              )
            )
    const stats = dailyStats(bars)
    const members = listed.map((m): SymbolMeta => {
      const s = stats.get(m.symbol)
      const { source: _s, asOf: _a, sources: _f, ...fields } = m
      return {
        ...fields,
        ...(s === undefined ? {} : { avgVolume: s.avgVolume, lastClose: s.lastClose }),
        source: plugin.name,
        asOf
      }
    })
    const volumeFrom = stats.size === 0 ? "none" : fromProvider !== undefined ? "provider" : "lake"
    return { members, volumeFrom, days } satisfies Gathered
  })

/**
 * The `fake` provider: deterministic synthetic bars inside the calendar's sessions, for demos, tests and benchmarks.
 * Written against the public contract only (type imports from `mod.ts`), like any third-party plugin. Its
 * `providers.fake` options inject faults: thin trading, broken bars, empty days and failing symbols or days.
 */
import type { BarBatch, BarsRequest, PluginHost, ProviderPlugin, ProviderSettings } from "../../mod.ts"
import { generateSession } from "./generate.ts"

const optionsSchema = (S: PluginHost["Schema"]) =>
  S.Struct({
    seed: S.optionalKey(S.String),
    missing_rate: S.optionalKey(S.Finite.check(S.isBetween({ minimum: 0, maximum: 1 }))),
    invalid_every: S.optionalKey(S.Int.check(S.isGreaterThanOrEqualTo(0))),
    empty_days: S.optionalKey(S.Array(S.String)),
    fail_days: S.optionalKey(S.Array(S.String)),
    fail_symbols: S.optionalKey(S.Array(S.String))
  })

const plugin: ProviderPlugin = {
  contractVersion: 1,
  name: "fake",
  description: "Deterministic synthetic bars (no network, no key)",
  capabilities: {
    feeds: ["synthetic"],
    defaultFeed: "synthetic",
    timeframes: ["1m"],
    maxBarsPerRequest: 1_000_000,
    maxSymbolsPerRequest: 1000,
    historyDays: null,
    rateLimit: null,
    adjustments: ["raw"],
    credentials: [],
    hosts: []
  },
  make: (host: PluginHost, settings: ProviderSettings) =>
    host.Effect.gen(function* () {
      const { Stream, Schema, kit } = host
      const opts = yield* kit.decodeOptions(optionsSchema(Schema), settings.options)
      const gen = {
        seed: opts.seed ?? "marketpipe",
        missingRate: opts.missing_rate ?? 0,
        invalidEvery: opts.invalid_every ?? 0
      }
      const emptyDays = new Set(opts.empty_days ?? [])
      const failDays = new Set(opts.fail_days ?? [])
      const failSymbols = new Set(opts.fail_symbols ?? [])

      const bars = (request: BarsRequest) => {
        const from = kit.tradingDayOf(request.start)
        const to = kit.tradingDayOf(request.end - 1)
        const days = kit.calendar.tradingDays(from, to)
        const failing = request.symbols.find((s) => failSymbols.has(s)) ?? days.find((d) => failDays.has(d))
        if (failing !== undefined) {
          return Stream.fail(
            kit.providerError({
              reason: `synthetic failure for ${failing}`,
              retryable: false,
              aboutSymbol: failSymbols.has(failing)
            })
          )
        }
        function* batches(): Generator<BarBatch> {
          for (const symbol of request.symbols) {
            for (const day of days) {
              const session = kit.calendar.session(day, request.session)
              if (session === undefined || emptyDays.has(day)) continue
              const batch = generateSession(symbol, session, gen, kit.emptyBatch)
              if (batch.ts.length > 0) yield batch
            }
          }
        }
        return Stream.fromIterable({ [globalThis.Symbol.iterator]: batches })
      }
      return { bars }
    })
}

export default plugin

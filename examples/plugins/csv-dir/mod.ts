/**
 * Example third-party plugin: bars from a directory of CSV files, one per symbol (`<dir>/<SYMBOL>.csv` with a header
 * `ts,open,high,low,close,volume[,trade_count,vwap]`, `ts` as RFC 3339 UTC or epoch milliseconds).
 *
 * It lives outside `plugins/` and is loaded from config, like any plugin you write:
 *   plugins: [./examples/plugins/csv-dir/mod.ts]
 *   providers: { csv-dir: { dir: ./my-bars } }
 * It imports only types from MarketPipe and Node built-ins; everything else comes from the host.
 */
import { existsSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import type { BarBatch, BarsRequest, PluginHost, ProviderPlugin, ProviderSettings } from "../../../mod.ts"

const plugin: ProviderPlugin = {
  contractVersion: 1,
  name: "csv-dir",
  description: "Bars from a directory of per-symbol CSV files (example third-party plugin)",
  capabilities: {
    feeds: ["csv"],
    defaultFeed: "csv",
    timeframes: ["1m", "5m", "15m", "30m", "1h", "1d"],
    maxBarsPerRequest: 10_000_000,
    maxSymbolsPerRequest: 1000,
    historyDays: null,
    rateLimit: null,
    adjustments: ["raw"],
    credentials: []
  },
  make: (host: PluginHost, settings: ProviderSettings) =>
    host.Effect.gen(function* () {
      const { Effect, Stream, Schema, kit } = host
      const opts = yield* kit.decodeOptions(
        Schema.Struct({ dir: Schema.String }),
        settings.options,
        () => "providers.csv-dir.dir: give the directory holding <SYMBOL>.csv files"
      )
      const dir = resolve(opts.dir)
      if (!existsSync(dir)) {
        return yield* kit.providerError({ reason: `providers.csv-dir.dir: ${dir} does not exist`, retryable: false })
      }

      const load = (request: BarsRequest, symbol: BarsRequest["symbols"][number]) =>
        Effect.try({
          try: (): BarBatch | undefined => {
            const file = join(dir, `${symbol}.csv`)
            if (!existsSync(file)) return undefined
            const rows = kit.parseCsv(readFileSync(file, "utf8"))
            const keep = rows.filter((r) => {
              const ts = /^\d+$/u.test(r.ts ?? "") ? Number(r.ts) : kit.parseIsoUtc(r.ts ?? "")
              return ts >= request.start && ts < request.end
            })
            const out = kit.emptyBatch(symbol, keep.length)
            keep.forEach((r, i) => {
              out.ts[i] = /^\d+$/u.test(r.ts ?? "") ? Number(r.ts) : kit.parseIsoUtc(r.ts ?? "")
              out.open[i] = Number(r.open)
              out.high[i] = Number(r.high)
              out.low[i] = Number(r.low)
              out.close[i] = Number(r.close)
              out.volume[i] = Number(r.volume)
              out.tradeCount[i] = r.trade_count ? Number(r.trade_count) : Number.NaN
              out.vwap[i] = r.vwap ? Number(r.vwap) : Number.NaN
            })
            return keep.length > 0 ? out : undefined
          },
          catch: (e) => kit.providerError({ reason: `cannot read ${symbol}.csv: ${String(e)}`, retryable: false })
        })

      return {
        bars: (request: BarsRequest) =>
          Stream.fromIterable(request.symbols).pipe(
            Stream.mapEffect((symbol) => load(request, symbol)),
            Stream.filter((b): b is BarBatch => b !== undefined)
          )
      }
    })
}

export default plugin

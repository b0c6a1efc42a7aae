/**
 * Yahoo chart v8 wire format: the envelope checked with Schema, then the parallel arrays moved into columns in one
 * loop (`timestamp` Unix seconds of the bar start, `indicators.quote[0].{open,high,low,close,volume}` float32-rounded
 * numbers or `null`). `meta` describes the exchange at request time, not the requested day, so it is never read.
 */
import type { BarBatch, PluginHost, Symbol } from "../../mod.ts"

export const chartSchemas = (S: PluginHost["Schema"]) => {
  // Series values are checked in `toBatch`'s loop: decoding thousands of numbers one by one through Schema is slow.
  const series = S.optionalKey(S.NullOr(S.Array(S.Unknown)))
  const result = S.Struct({
    // Absent on an empty window (`quote: [{}]`).
    timestamp: S.optionalKey(S.NullOr(S.Array(S.Unknown))),
    indicators: S.Struct({
      quote: S.Array(S.Struct({ open: series, high: series, low: series, close: series, volume: series }))
    })
  })
  return {
    result,
    chart: S.Struct({
      chart: S.Struct({
        result: S.NullOr(S.Array(result)),
        error: S.optionalKey(
          S.NullOr(S.Struct({ code: S.optionalKey(S.String), description: S.optionalKey(S.String) }))
        )
      })
    })
  }
}

export type ChartResult = ReturnType<typeof chartSchemas>["result"]["Type"]

/** The `chart.error.description` of an error body, if there is one. */
export function chartErrorOf(body: unknown): string | undefined {
  const error = (body as { chart?: { error?: { description?: unknown; code?: unknown } | null } } | null)?.chart?.error
  if (typeof error?.description === "string" && error.description !== "") return error.description
  return typeof error?.code === "string" ? error.code : undefined
}

const seriesNames = ["open", "high", "low", "close", "volume"] as const

/**
 * Moves one chart result into a column batch for `symbol` (the requested symbol, not Yahoo's spelling). Rows with a
 * `null` price or volume (no trades that minute) are dropped, as are rows outside `window` (UTC ms, end exclusive)
 * when one is given. Yahoo has no VWAP or trade count: both are NaN. A string names the first malformed field.
 */
export function toBatch(
  kit: PluginHost["kit"],
  symbol: Symbol,
  result: ChartResult,
  window?: { readonly start: number; readonly end: number }
): BarBatch | string {
  const ts = result.timestamp ?? []
  const quote = result.indicators.quote[0]
  if (ts.length === 0 || quote === undefined) return kit.emptyBatch(symbol, 0)
  const open = quote.open ?? undefined
  const high = quote.high ?? undefined
  const low = quote.low ?? undefined
  const close = quote.close ?? undefined
  const volume = quote.volume ?? undefined
  if (open === undefined || high === undefined || low === undefined || close === undefined || volume === undefined) {
    const missing = seriesNames.find((name) => (quote[name] ?? undefined) === undefined)
    return `chart for ${symbol} has ${ts.length} timestamps but no ${missing} series`
  }
  const n = ts.length
  if (open.length !== n || high.length !== n || low.length !== n || close.length !== n || volume.length !== n) {
    return `chart for ${symbol} has series of different lengths (${n} timestamps)`
  }
  const start = window?.start ?? Number.NEGATIVE_INFINITY
  const end = window?.end ?? Number.POSITIVE_INFINITY
  const out = kit.batchBuilder(symbol, n)
  for (let i = 0; i < n; i++) {
    const t = ts[i]
    if (typeof t !== "number" || !kit.isBarTime(t * 1000)) {
      return `malformed timestamp ${i} for ${symbol}: ${kit.shownWire(t)}`
    }
    // Yahoo leaves minutes without trades as nulls in every series: no bar.
    if (open[i] === null || high[i] === null || low[i] === null || close[i] === null || volume[i] === null) continue
    const ms = t * 1000
    if (ms < start || ms >= end) continue
    if (!out.add(ms, open[i], high[i], low[i], close[i], volume[i])) {
      return `malformed values at ${i} for ${symbol}: ${kit.shownWire([open[i], high[i], low[i], close[i], volume[i]])}`
    }
  }
  return out.build()
}

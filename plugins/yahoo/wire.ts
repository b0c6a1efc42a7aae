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
  const out = kit.emptyBatch(symbol, n)
  let j = 0
  for (let i = 0; i < n; i++) {
    const t = ts[i]
    const o = open[i]
    const h = high[i]
    const l = low[i]
    const c = close[i]
    const v = volume[i]
    if (typeof t !== "number" || !Number.isFinite(t)) {
      return `malformed timestamp ${i} for ${symbol}: ${JSON.stringify(t)}`
    }
    if (o === null || h === null || l === null || c === null || v === null) continue
    if (typeof o !== "number" || typeof h !== "number" || typeof l !== "number" || typeof c !== "number") {
      return `malformed prices at ${i} for ${symbol}: ${JSON.stringify([o, h, l, c]).slice(0, 120)}`
    }
    if (typeof v !== "number") return `malformed volume at ${i} for ${symbol}: ${JSON.stringify(v).slice(0, 40)}`
    const ms = t * 1000
    if (ms < start || ms >= end) continue
    out.ts[j] = ms
    out.open[j] = o
    out.high[j] = h
    out.low[j] = l
    out.close[j] = c
    out.volume[j] = v
    out.tradeCount[j] = Number.NaN
    out.vwap[j] = Number.NaN
    j++
  }
  if (j === n) return out
  return {
    symbol,
    ts: out.ts.slice(0, j),
    open: out.open.slice(0, j),
    high: out.high.slice(0, j),
    low: out.low.slice(0, j),
    close: out.close.slice(0, j),
    volume: out.volume.slice(0, j),
    tradeCount: out.tradeCount.slice(0, j),
    vwap: out.vwap.slice(0, j)
  }
}

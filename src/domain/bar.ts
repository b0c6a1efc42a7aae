/**
 * Bars. The pipeline moves bars as column batches (one symbol, typed arrays) because decoding and encoding bar by bar
 * is an order of magnitude slower (design §9); `Bar` is the row view for people and tests.
 */
import { Schema } from "effect"
import { Symbol } from "./symbol.ts"

export const Bar = Schema.Struct({
  symbol: Symbol,
  /** Bar start, UTC epoch milliseconds; an interval is [ts, ts + frame). */
  ts: Schema.Int,
  open: Schema.Finite,
  high: Schema.Finite,
  low: Schema.Finite,
  close: Schema.Finite,
  volume: Schema.Finite,
  trade_count: Schema.NullOr(Schema.Int),
  vwap: Schema.NullOr(Schema.Finite)
})
export type Bar = typeof Bar.Type

/**
 * Bars of one symbol in columns. `tradeCount` and `vwap` use NaN for "not reported" (nullable in Parquet).
 * Rows are in the order the provider sent them; validation enforces ordering.
 */
export interface BarBatch {
  readonly symbol: Symbol
  readonly ts: Float64Array
  readonly open: Float64Array
  readonly high: Float64Array
  readonly low: Float64Array
  readonly close: Float64Array
  readonly volume: Float64Array
  readonly tradeCount: Float64Array
  readonly vwap: Float64Array
  /** Aggregated frames only: 1 where a bucket was cut short (early close) or is missing minutes. */
  readonly partial?: Uint8Array
}

export const batchLength = (b: BarBatch): number => b.ts.length

export const emptyBatch = (symbol: Symbol, length = 0): BarBatch => ({
  symbol,
  ts: new Float64Array(length),
  open: new Float64Array(length),
  high: new Float64Array(length),
  low: new Float64Array(length),
  close: new Float64Array(length),
  volume: new Float64Array(length),
  tradeCount: new Float64Array(length),
  vwap: new Float64Array(length)
})

const columns = ["ts", "open", "high", "low", "close", "volume", "tradeCount", "vwap"] as const

/** Rows [from, to) as views on the same arrays (`partial` flags too): no copy, for code that only reads them. */
export const rowsView = (b: BarBatch, from: number, to: number): BarBatch => ({
  ...(b.partial === undefined ? {} : { partial: b.partial.subarray(from, to) }),
  symbol: b.symbol,
  ts: b.ts.subarray(from, to),
  open: b.open.subarray(from, to),
  high: b.high.subarray(from, to),
  low: b.low.subarray(from, to),
  close: b.close.subarray(from, to),
  volume: b.volume.subarray(from, to),
  tradeCount: b.tradeCount.subarray(from, to),
  vwap: b.vwap.subarray(from, to)
})

/** Rows of `b` whose indexes are listed, in that order. */
export function selectRows(b: BarBatch, rows: ArrayLike<number>): BarBatch {
  const base = emptyBatch(b.symbol, rows.length)
  const out = b.partial === undefined ? base : { ...base, partial: new Uint8Array(rows.length) }
  for (const c of columns) {
    const src = b[c]
    const dst = out[c]
    for (let i = 0; i < rows.length; i++) dst[i] = src[rows[i] as number] as number
  }
  if (b.partial !== undefined && out.partial !== undefined) {
    for (let i = 0; i < rows.length; i++) out.partial[i] = b.partial[rows[i] as number] as number
  }
  return out
}

/** Concatenates batches of the same symbol (with `partial` flags when any part has them). */
export function concatBatches(symbol: Symbol, parts: ReadonlyArray<BarBatch>): BarBatch {
  const length = parts.reduce((n, p) => n + p.ts.length, 0)
  const base = emptyBatch(symbol, length)
  const out = parts.some((p) => p.partial !== undefined) ? { ...base, partial: new Uint8Array(length) } : base
  let offset = 0
  for (const p of parts) {
    for (const c of columns) out[c].set(p[c], offset)
    if (p.partial !== undefined) out.partial?.set(p.partial, offset)
    offset += p.ts.length
  }
  return out
}

/** Builds a batch from row objects (tests, small providers). */
export function batchFromBars(symbol: Symbol, bars: ReadonlyArray<Omit<Bar, "symbol">>): BarBatch {
  const out = emptyBatch(symbol, bars.length)
  bars.forEach((bar, i) => {
    out.ts[i] = bar.ts
    out.open[i] = bar.open
    out.high[i] = bar.high
    out.low[i] = bar.low
    out.close[i] = bar.close
    out.volume[i] = bar.volume
    out.tradeCount[i] = bar.trade_count ?? Number.NaN
    out.vwap[i] = bar.vwap ?? Number.NaN
  })
  return out
}

/** The row view of a batch. */
export function barsOf(b: BarBatch): Array<Bar> {
  const out: Array<Bar> = []
  for (let i = 0; i < b.ts.length; i++) {
    const tc = b.tradeCount[i] as number
    const vw = b.vwap[i] as number
    out.push({
      symbol: b.symbol,
      ts: b.ts[i] as number,
      open: b.open[i] as number,
      high: b.high[i] as number,
      low: b.low[i] as number,
      close: b.close[i] as number,
      volume: b.volume[i] as number,
      trade_count: Number.isNaN(tc) ? null : tc,
      vwap: Number.isNaN(vw) ? null : vw
    })
  }
  return out
}

/** Fills a batch one bar at a time from provider values; plugins get it from the kit, so none hand-checks fields. */
export interface BatchBuilder {
  /**
   * Appends a bar when `ts` and the five OHLCV values are finite numbers (`tradeCount` and `vwap` may be missing:
   * they become NaN, "not reported"); returns false and appends nothing otherwise.
   */
  readonly add: (
    ts: unknown,
    open: unknown,
    high: unknown,
    low: unknown,
    close: unknown,
    volume: unknown,
    tradeCount?: unknown,
    vwap?: unknown
  ) => boolean
  readonly size: () => number
  /** The bars added so far. */
  readonly build: () => BarBatch
}

const finite = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x)

export function makeBatchBuilder(symbol: Symbol, capacity: number): BatchBuilder {
  const out = emptyBatch(symbol, capacity)
  let n = 0
  return {
    add: (ts, open, high, low, close, volume, tradeCount, vwap) => {
      if (
        !finite(ts) ||
        !finite(open) ||
        !finite(high) ||
        !finite(low) ||
        !finite(close) ||
        !finite(volume) ||
        n >= capacity
      ) {
        return false
      }
      out.ts[n] = ts
      out.open[n] = open
      out.high[n] = high
      out.low[n] = low
      out.close[n] = close
      out.volume[n] = volume
      out.tradeCount[n] = finite(tradeCount) ? tradeCount : Number.NaN
      out.vwap[n] = finite(vwap) ? vwap : Number.NaN
      n++
      return true
    },
    size: () => n,
    build: () =>
      n === capacity
        ? out
        : selectRows(
            out,
            Array.from({ length: n }, (_, i) => i)
          )
  }
}

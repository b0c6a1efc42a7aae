/**
 * Core bar rules that every batch passes before it can reach the lake. A rule rejects single bars, never a batch:
 * one bad bar must not take good bars of the same symbol with it.
 */
import { type BarBatch, selectRows } from "./bar.ts"

export type CoreRule =
  | "ohlc_consistency"
  | "non_positive_price"
  | "negative_volume"
  | "non_finite_value"
  | "misaligned_timestamp"
  | "duplicate_timestamp"
  | "out_of_order_timestamp"

export interface Rejection {
  readonly symbol: string
  readonly ts: number
  readonly rule: CoreRule
  readonly detail: string
}

export interface ValidationOutcome {
  readonly clean: BarBatch
  readonly rejected: ReadonlyArray<Rejection>
}

/** Checks one batch: bars must sit on `frameMs` boundaries and timestamps must strictly increase. */
export function validateBatch(batch: BarBatch, frameMs: number): ValidationOutcome {
  const keep: Array<number> = []
  const rejected: Array<Rejection> = []
  let lastTs = Number.NEGATIVE_INFINITY
  for (let i = 0; i < batch.ts.length; i++) {
    const ts = batch.ts[i] as number
    const o = batch.open[i] as number
    const h = batch.high[i] as number
    const l = batch.low[i] as number
    const c = batch.close[i] as number
    const v = batch.volume[i] as number
    const reject = (rule: CoreRule, detail: string) => rejected.push({ symbol: batch.symbol, ts, rule, detail })
    if (![ts, o, h, l, c, v].every(Number.isFinite)) reject("non_finite_value", `o=${o} h=${h} l=${l} c=${c} v=${v}`)
    else if (o <= 0 || h <= 0 || l <= 0 || c <= 0) reject("non_positive_price", `o=${o} h=${h} l=${l} c=${c}`)
    else if (l > Math.min(o, c) || h < Math.max(o, c) || l > h)
      reject("ohlc_consistency", `o=${o} h=${h} l=${l} c=${c}`)
    else if (v < 0) reject("negative_volume", `volume=${v}`)
    else if (ts % frameMs !== 0) reject("misaligned_timestamp", `ts is not on a ${frameMs / 60_000}-minute boundary`)
    else if (ts === lastTs) reject("duplicate_timestamp", "same bar start as the previous bar")
    else if (ts < lastTs) reject("out_of_order_timestamp", "earlier than the previous bar")
    else {
      keep.push(i)
      lastTs = ts
    }
  }
  return { clean: keep.length === batch.ts.length ? batch : selectRows(batch, keep), rejected }
}

/**
 * Column chunk statistics as the footer stores them (`min_value` / `max_value` in the column's PLAIN byte form,
 * `null_count`, and for doubles `nan_count`). Readers prune row groups on them (the lake's on `ts`), so they must be
 * exact: NaN never enters a double's min or max, and a zero bound is written as -0 (min) and +0 (max), as the format
 * asks so that readers comparing with either zero keep the chunk.
 */

export interface Statistics {
  readonly nullCount: number
  readonly min?: Uint8Array
  readonly max?: Uint8Array
  readonly nanCount?: number
}

export const doubleBytes = (x: number): Uint8Array => new Uint8Array(Float64Array.of(x).buffer)

/** A signed 64-bit little-endian integer from a safe integer. */
export function int64Bytes(x: number): Uint8Array {
  const out = new Uint8Array(8)
  const view = new DataView(out.buffer)
  view.setUint32(0, x >>> 0, true)
  view.setInt32(4, Math.floor(x / 4_294_967_296), true)
  return out
}

/** Statistics of `count` doubles where NaN is a value (a required column): counted, never a bound. */
export function doubleStatistics(values: Float64Array, count: number, nullCount: number): Statistics {
  let min = Number.POSITIVE_INFINITY
  let max = Number.NEGATIVE_INFINITY
  let nan = 0
  for (let i = 0; i < count; i++) {
    const x = values[i] as number
    if (Number.isNaN(x)) nan++
    else {
      if (x < min) min = x
      if (x > max) max = x
    }
  }
  if (min > max) return { nullCount, nanCount: nan }
  return { nullCount, nanCount: nan, min: doubleBytes(min === 0 ? -0 : min), max: doubleBytes(max === 0 ? 0 : max) }
}

/** Statistics of `count` integers (no NaN among them: the caller has taken nulls out). */
export function int64Statistics(values: Float64Array, count: number, nullCount: number): Statistics {
  if (count === 0) return { nullCount }
  let min = values[0] as number
  let max = min
  for (let i = 1; i < count; i++) {
    const x = values[i] as number
    if (x < min) min = x
    if (x > max) max = x
  }
  return { nullCount, min: int64Bytes(min), max: int64Bytes(max) }
}

/** Unsigned byte-wise order: how Parquet orders UTF-8 strings (not JavaScript's UTF-16 order). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number)
    if (d !== 0) return d
  }
  return a.length - b.length
}

/** Statistics of a string column from its dictionary (every entry is used at least once). */
export function textStatistics(entries: ReadonlyArray<Uint8Array>): Statistics {
  let min = entries[0]
  let max = entries[0]
  for (const e of entries) {
    if (min === undefined || compareBytes(e, min) < 0) min = e
    if (max === undefined || compareBytes(e, max) > 0) max = e
  }
  return min === undefined || max === undefined ? { nullCount: 0 } : { nullCount: 0, min, max }
}

/** Statistics of flags (0 / 1): false and true as PLAIN booleans (one byte each). */
export function flagStatistics(flags: Uint8Array, count: number): Statistics {
  let ones = 0
  for (let i = 0; i < count; i++) ones += flags[i] as number
  if (count === 0) return { nullCount: 0 }
  return { nullCount: 0, min: Uint8Array.of(ones === count ? 1 : 0), max: Uint8Array.of(ones > 0 ? 1 : 0) }
}

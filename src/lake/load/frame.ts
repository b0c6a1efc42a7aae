/**
 * The frame `loadOhlcv` returns: bars in typed-array columns, one symbol's rows after another, with `rows()` for
 * callers who want objects. Built from the output arrays the decode filled, after the rows cut away are compacted out.
 */
import type { Timeframe } from "../../domain/timeframe.ts"
import type { OhlcvColumn, Resolved } from "./options.ts"

/**
 * A column's array: `Float64Array` for prices, volume, `trade_count` and `vwap` (NaN where the provider reported
 * nothing), `Uint8Array` for `is_partial` (1 = the bucket was cut short; 0 where a file has no such column, as 1m
 * bars never are).
 */
export type OhlcvColumnData<K extends OhlcvColumn> = K extends "is_partial" ? Uint8Array : Float64Array

/** A row's value: `null` for a missing `trade_count` / `vwap`, a boolean for `is_partial`. */
export type OhlcvRowValue<K extends OhlcvColumn> = K extends "trade_count" | "vwap"
  ? number | null
  : K extends "is_partial"
    ? boolean
    : number

/** The rows of one symbol inside a frame: indexes `[from, to)`. */
export interface OhlcvSegment {
  readonly symbol: string
  readonly from: number
  readonly to: number
}

export type OhlcvRow<C extends OhlcvColumn = OhlcvColumn> = { readonly symbol: string; readonly ts: Date } & {
  readonly [K in C]: OhlcvRowValue<K>
}

/** Bars in columns: index `i` of every array is one bar. */
export type OhlcvFrame<C extends OhlcvColumn = OhlcvColumn> = {
  readonly timeframe: Timeframe
  /** The range asked for, resolved: `[start, end)`. */
  readonly start: Date
  readonly end: Date
  /** The value columns present in this frame. */
  readonly columns: ReadonlyArray<C>
  /** Number of bars. */
  readonly length: number
  /** The symbol of each bar (one entry per row). */
  readonly symbols: Array<string>
  /** Bar start of each bar, UTC epoch milliseconds. */
  readonly ts: Float64Array
  /** Where each symbol's rows are, in order. */
  readonly segments: ReadonlyArray<OhlcvSegment>
  /** The same bars as objects (`ts` as a `Date`); built on each call, so prefer the columns for large frames. */
  readonly rows: () => Array<OhlcvRow<C>>
} & { readonly [K in C]: OhlcvColumnData<K> }

/** The arrays the decode writes into: room for every planned row, in file order. */
export interface Output {
  readonly ts: Float64Array
  readonly columns: ReadonlyMap<OhlcvColumn, Float64Array | Uint8Array>
}

export const allocateOutput = (columns: ReadonlyArray<OhlcvColumn>, capacity: number): Output => ({
  ts: new Float64Array(capacity),
  columns: new Map(columns.map((c) => [c, c === "is_partial" ? new Uint8Array(capacity) : new Float64Array(capacity)]))
})

/** The output ranges `[from, to)` one file's rows kept, and whose they are. */
export interface KeptRows {
  readonly symbol: string
  readonly ranges: ReadonlyArray<readonly [number, number]>
}

/**
 * The frame from the output: the kept ranges moved down over the rows cut away (files come in symbol, then time,
 * order), and each symbol's rows one segment.
 */
export function buildFrame<C extends OhlcvColumn>(
  r: Resolved<C>,
  out: Output,
  files: ReadonlyArray<KeptRows>
): OhlcvFrame<C> {
  const capacity = out.ts.length
  const segments: Array<OhlcvSegment> = []
  let length = 0
  for (const file of files) {
    const from = length
    for (const [a, b] of file.ranges) {
      if (a !== length) {
        out.ts.copyWithin(length, a, b)
        for (const column of out.columns.values()) column.copyWithin(length, a, b)
      }
      length += b - a
    }
    const last = segments[segments.length - 1]
    if (length === from) continue
    if (last?.symbol === file.symbol) segments[segments.length - 1] = { ...last, to: length }
    else segments.push({ symbol: file.symbol, from, to: length })
  }
  // Give back the room cut rows took when it is most of it (a short range over long files); otherwise keep views.
  const fit = <A extends Float64Array | Uint8Array>(a: A): A =>
    (length * 2 < capacity ? a.slice(0, length) : a.subarray(0, length)) as A
  const symbols = new Array<string>(length)
  for (const s of segments) symbols.fill(s.symbol, s.from, s.to)
  return makeFrame(r, fit(out.ts), new Map([...out.columns].map(([c, a]) => [c as C, fit(a)])), symbols, segments)
}

function makeFrame<C extends OhlcvColumn>(
  r: Resolved<C>,
  ts: Float64Array,
  columns: ReadonlyMap<C, Float64Array | Uint8Array>,
  symbols: Array<string>,
  segments: ReadonlyArray<OhlcvSegment>
): OhlcvFrame<C> {
  const length = ts.length
  const rows = (): Array<OhlcvRow<C>> => {
    const cols = [...columns]
    const out = new Array<OhlcvRow<C>>(length)
    for (let i = 0; i < length; i++) {
      const row: Record<string, unknown> = { symbol: symbols[i], ts: new Date(ts[i] as number) }
      for (const [c, values] of cols) {
        const v = values[i] as number
        row[c] = c === "is_partial" ? v === 1 : (c === "trade_count" || c === "vwap") && Number.isNaN(v) ? null : v
      }
      out[i] = row as OhlcvRow<C>
    }
    return out
  }
  return {
    timeframe: r.timeframe,
    start: new Date(r.start),
    end: new Date(r.end),
    columns: r.columns,
    length,
    symbols,
    ts,
    segments,
    rows,
    ...Object.fromEntries(columns)
  } as unknown as OhlcvFrame<C>
}

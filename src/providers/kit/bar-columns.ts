/**
 * A provider page read straight into bar columns, as data the decode thread can be told (`decode-pool.ts`): where the
 * bar objects are and which key holds which field. JSON.parse of a page and walking its bar objects took half the
 * main thread of an HTTP ingest (a 10,000-bar Alpaca page: 6 ms to parse, 2.5 ms to move into columns); on the
 * decode thread the main thread only fetches and receives columns. Anything that is not the shape described is not
 * guessed at: the reply says so, and the caller decodes the page with its Schema for the words of the error.
 */
import { type BarBatch, makeBatchBuilder } from "../../domain/bar.ts"
import type { Symbol } from "../../domain/symbol.ts"
import { parseIsoUtc } from "./time.ts"
import { isBarTime } from "./wire-values.ts"

/** How a bar's time is written: RFC 3339 text, or a number of epoch milliseconds or seconds. */
export type TimeField = { readonly key: string; readonly as: "iso" | "ms" | "s" }

export interface BarColumnsSpec {
  /**
   * Object keys from the top of the page to the bars. `*` stands for every key of an object whose values are bar
   * arrays (Alpaca's `bars: {"AAPL": [...]}`); each becomes a group named by its key. Without `*` the path ends at one
   * array: one group, named `""`. A `null` on the way, or where an array is wanted, is no bars.
   */
  readonly path: ReadonlyArray<string>
  readonly ts: TimeField
  readonly open: string
  readonly high: string
  readonly low: string
  readonly close: string
  readonly volume: string
  /** Optional fields: a bar without a finite number there gets NaN, as the batch builder gives it. */
  readonly tradeCount?: string
  readonly vwap?: string
  /** Top-level keys returned as they are (a next-page token, a cursor): a string or null each, or absent. */
  readonly keep?: ReadonlyArray<string>
}

/** One group's bars: a batch's columns under the key they were found at (a symbol, or `""`). */
export interface BarColumns extends Omit<BarBatch, "symbol" | "partial"> {
  readonly key: string
}

export type ColumnsReply =
  | {
      readonly ok: true
      readonly groups: ReadonlyArray<BarColumns>
      readonly kept: Readonly<Record<string, string | null>>
    }
  /** `json`: the body is not JSON (truncated, an HTML error page); `shape`: JSON, but not what the spec describes. */
  | { readonly ok: false; readonly why: "json" | "shape" }

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

/** A bar's time as epoch ms; NaN unless it is a whole millisecond in the range bars may have (`isBarTime`). */
const timeOf = (field: TimeField, value: unknown): number => {
  if (field.as === "iso") return typeof value === "string" ? parseIsoUtc(value) : Number.NaN
  const ms = typeof value === "number" && field.as === "s" ? value * 1000 : value
  return isBarTime(ms) ? ms : Number.NaN
}

/** One array of bar objects as columns, or `undefined` when one of them is not a bar the spec can read. */
function columnsOf(spec: BarColumnsSpec, key: string, list: ReadonlyArray<unknown>): BarColumns | undefined {
  // The batch builder plugins use row by row: the same checks, so both paths take and refuse the same bars.
  const out = makeBatchBuilder(key as Symbol, list.length)
  const { tradeCount, vwap } = spec
  for (const bar of list) {
    if (!isObject(bar)) return undefined
    const added = out.add(
      timeOf(spec.ts, bar[spec.ts.key]),
      bar[spec.open],
      bar[spec.high],
      bar[spec.low],
      bar[spec.close],
      bar[spec.volume],
      tradeCount === undefined ? undefined : bar[tradeCount],
      vwap === undefined ? undefined : bar[vwap]
    )
    if (!added) return undefined
  }
  const { symbol: _, partial: __, ...columns } = out.build()
  return { key, ...columns }
}

/**
 * A parsed page's bar columns by the spec; the reply the decode thread sends. Strict where a Schema would be: a key
 * of the path that is missing, a kept key that is not a string or null, or a bar that is not one is `shape`.
 */
export function barColumnsOf(spec: BarColumnsSpec, page: unknown): ColumnsReply {
  const shape = { ok: false, why: "shape" } as const
  if (!isObject(page)) return shape
  const kept: Record<string, string | null> = {}
  for (const k of spec.keep ?? []) {
    const v = page[k]
    if (v === undefined) continue
    if (v !== null && typeof v !== "string") return shape
    kept[k] = v
  }
  const star = spec.path.indexOf("*")
  if (star >= 0 && star !== spec.path.length - 1) return shape
  let at: unknown = page
  for (const step of star < 0 ? spec.path : spec.path.slice(0, star)) {
    if (!isObject(at) || !Object.hasOwn(at, step)) return shape
    at = at[step]
    if (at === null) return { ok: true, groups: [], kept }
  }
  if (star >= 0 && !isObject(at)) return shape
  const lists: Array<[string, unknown]> = star < 0 ? [["", at]] : Object.entries(at as Record<string, unknown>)
  const groups: Array<BarColumns> = []
  for (const [key, list] of lists) {
    if (list === null) continue
    if (!Array.isArray(list)) return shape
    const columns = columnsOf(spec, key, list)
    if (columns === undefined) return shape
    groups.push(columns)
  }
  return { ok: true, groups, kept }
}

/** A page's bytes (UTF-8 JSON) as bar columns. */
export function readBarColumns(spec: BarColumnsSpec, bytes: Uint8Array): ColumnsReply {
  let page: unknown
  try {
    page = JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    return { ok: false, why: "json" }
  }
  return barColumnsOf(spec, page)
}

/** The buffers of a reply's columns, to transfer instead of copy. */
export const columnBuffers = (reply: ColumnsReply): Array<ArrayBuffer> =>
  reply.ok
    ? reply.groups.flatMap((g) =>
        [g.ts, g.open, g.high, g.low, g.close, g.volume, g.tradeCount, g.vwap].map((c) => c.buffer as ArrayBuffer)
      )
    : []

/**
 * The lake's file format: bars of one symbol as Parquet with the column types of design §4 (`ts` INT64
 * TIMESTAMP(MILLIS, UTC), OHLCV DOUBLE, nullable `trade_count` INT64 and `vwap` DOUBLE, dictionary strings for
 * symbol, provider and feed), ZSTD-compressed, with provenance in the key-value metadata. Written by the direct
 * writer of this fixed schema (`write/`); read back by `read/` (the one reader).
 */
import type { BarBatch } from "../domain/bar.ts"
import type { Symbol } from "../domain/symbol.ts"
import type { LakeColumn } from "./write/column-chunks.ts"
import { type LakeWriterOptions, writeLakeFile } from "./write/lake-writer.ts"

export const LAKE_SCHEMA_VERSION = "1"

/** Rows of one trading day and where they came from. Files hold whole days, so provenance is per day. */
export interface DaySlice {
  readonly day: string
  readonly batch: BarBatch
  readonly provider: string
  readonly feed: string
  /** Quarantine only: the error rules each bar broke (comma-separated), one per row. */
  readonly rules?: ReadonlyArray<string>
}

/** A required UTF-8 string column (the lake's text columns: symbol, provider, feed, rule, severity). */
const text = (name: string, of: (s: DaySlice, symbol: string) => string | ReadonlyArray<string> | undefined) =>
  ({ name, kind: "text", text: of }) as const

const numbers = (
  name: string,
  kind: "double" | "optionalDouble" | "optionalInt64",
  of: (b: BarBatch) => Float64Array
) => ({ name, kind, values: of }) as const

const baseSchema: ReadonlyArray<LakeColumn> = [
  text("symbol", (_, symbol) => symbol),
  { name: "ts", kind: "timestamp", values: (b) => b.ts },
  numbers("open", "double", (b) => b.open),
  numbers("high", "double", (b) => b.high),
  numbers("low", "double", (b) => b.low),
  numbers("close", "double", (b) => b.close),
  numbers("volume", "double", (b) => b.volume),
  numbers("trade_count", "optionalInt64", (b) => b.tradeCount),
  numbers("vwap", "optionalDouble", (b) => b.vwap),
  text("provider", (s) => s.provider),
  text("feed", (s) => s.feed)
]

/** Quarantined bars add the rules they broke and their severity. */
const quarantineSchema: ReadonlyArray<LakeColumn> = [
  ...baseSchema,
  text("rule", (s) => s.rules),
  text("severity", () => "error")
]

/** Aggregated frames add `is_partial`: the bucket was cut short by an early close or misses minutes. */
const aggregatedSchema: ReadonlyArray<LakeColumn> = [
  ...baseSchema,
  { name: "is_partial", kind: "flag", flags: (b) => b.partial }
]

/** The key-value metadata of a file: the caller's, then the lake's own `marketpipe.*` keys. */
export function keyValues(slices: ReadonlyArray<DaySlice>, metadata: Record<string, string>, rows: number) {
  let minTs = Number.POSITIVE_INFINITY
  let maxTs = Number.NEGATIVE_INFINITY
  const providers = new Set<string>()
  const feeds = new Set<string>()
  for (const s of slices) {
    const n = s.batch.ts.length
    if (n === 0) continue
    providers.add(s.provider)
    feeds.add(s.feed)
    minTs = Math.min(minTs, s.batch.ts[0] as number)
    maxTs = Math.max(maxTs, s.batch.ts[n - 1] as number)
  }
  const kv: Record<string, string> = {
    ...metadata,
    "marketpipe.schema_version": LAKE_SCHEMA_VERSION,
    "marketpipe.rows": String(rows),
    "marketpipe.min_ts": rows > 0 ? new Date(minTs).toISOString() : "",
    "marketpipe.max_ts": rows > 0 ? new Date(maxTs).toISOString() : "",
    "marketpipe.providers": [...providers].join(","),
    "marketpipe.feeds": [...feeds].join(",")
  }
  return Object.entries(kv)
}

/**
 * How the lake writes: ZSTD level 2 and DELTA_BINARY_PACKED timestamps, chosen by `scripts/bench/encode.ts`
 * (BENCHMARKS.md, "Issue 12 · lake writer"); row groups of 100,000 rows.
 */
export const lakeWriterOptions: LakeWriterOptions = {
  level: 2,
  timestamps: "DELTA_BINARY_PACKED",
  rowGroupRows: 100_000,
  createdBy: "marketpipe"
}

/** `encodeBars` with other writer options: the benchmark's variants and tests of small row groups. */
export function encodeBarsWith(
  symbol: Symbol,
  slices: ReadonlyArray<DaySlice>,
  metadata: Record<string, string>,
  options: LakeWriterOptions
): Uint8Array {
  const rows = slices.reduce((n, s) => n + s.batch.ts.length, 0)
  const quarantine = slices.some((s) => s.rules !== undefined)
  const aggregated = slices.some((s) => s.batch.partial !== undefined)
  const schema = quarantine ? quarantineSchema : aggregated ? aggregatedSchema : baseSchema
  return writeLakeFile(schema, symbol, slices, keyValues(slices, metadata, rows), options)
}

/**
 * Encodes day slices (already sorted by day, each sorted by ts) into one Parquet file. Pure: no I/O and no state,
 * so it may run in worker threads. A batch with `partial` flags makes an aggregated file, slices with `rules` a
 * quarantine file (which has no `is_partial`).
 */
export function encodeBars(
  symbol: Symbol,
  slices: ReadonlyArray<DaySlice>,
  metadata: Record<string, string>
): Uint8Array {
  return encodeBarsWith(symbol, slices, metadata, lakeWriterOptions)
}

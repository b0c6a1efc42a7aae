/**
 * The lake's writer before issue 12 (hyparquet-writer behind `encodeBars`), kept as it was so tests can compare the
 * files of the direct writer (`src/lake/write/`) with it and `scripts/bench/encode.ts` can time both.
 */
import { zstdCompressSync } from "node:zlib"
import { ByteWriter, ParquetWriter } from "hyparquet-writer"
import type { Symbol } from "../../src/domain/symbol.ts"
import { type DaySlice, keyValues } from "../../src/lake/file-format.ts"

// hyparquet-writer bundles its own hyparquet types, so take the schema type from the writer itself.
type WriterSchema = ConstructorParameters<typeof ParquetWriter>[0]["schema"]

/** A required UTF-8 string column (the lake's text columns: symbol, provider, feed, rule, severity). */
const requiredText = (name: string): WriterSchema[number] => ({
  name,
  type: "BYTE_ARRAY",
  converted_type: "UTF8",
  logical_type: { type: "STRING" },
  repetition_type: "REQUIRED"
})

const baseSchema: WriterSchema = [
  { name: "schema", num_children: 11 },
  requiredText("symbol"),
  {
    name: "ts",
    type: "INT64",
    logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MILLIS" },
    repetition_type: "REQUIRED"
  },
  { name: "open", type: "DOUBLE", repetition_type: "REQUIRED" },
  { name: "high", type: "DOUBLE", repetition_type: "REQUIRED" },
  { name: "low", type: "DOUBLE", repetition_type: "REQUIRED" },
  { name: "close", type: "DOUBLE", repetition_type: "REQUIRED" },
  { name: "volume", type: "DOUBLE", repetition_type: "REQUIRED" },
  { name: "trade_count", type: "INT64", repetition_type: "OPTIONAL" },
  { name: "vwap", type: "DOUBLE", repetition_type: "OPTIONAL" },
  requiredText("provider"),
  requiredText("feed")
]

/** Quarantined bars add the rules they broke and their severity. */
const quarantineSchema: WriterSchema = [
  { name: "schema", num_children: 13 },
  ...baseSchema.slice(1),
  requiredText("rule"),
  requiredText("severity")
]

/** Aggregated frames add `is_partial`: the bucket was cut short by an early close or misses minutes. */
const aggregatedSchema: WriterSchema = [
  { name: "schema", num_children: 12 },
  ...baseSchema.slice(1),
  { name: "is_partial", type: "BOOLEAN", repetition_type: "REQUIRED" }
]

const zstd = (input: Uint8Array): Uint8Array => new Uint8Array(zstdCompressSync(input))

const nullable = <A>(src: Float64Array, f: (x: number) => A): Array<A | null> => {
  const out = new Array<A | null>(src.length)
  for (let i = 0; i < src.length; i++) {
    const x = src[i] as number
    out[i] = Number.isNaN(x) ? null : f(x)
  }
  return out
}

/** Encodes day slices (already sorted by day, each sorted by ts) into one Parquet file, as the lake did. */
export function legacyEncodeBars(
  symbol: Symbol,
  slices: ReadonlyArray<DaySlice>,
  metadata: Record<string, string>
): Uint8Array {
  const rows = slices.reduce((n, s) => n + s.batch.ts.length, 0)
  const ts = new BigInt64Array(rows)
  const cols = {
    open: new Float64Array(rows),
    high: new Float64Array(rows),
    low: new Float64Array(rows),
    close: new Float64Array(rows),
    volume: new Float64Array(rows),
    tradeCount: new Float64Array(rows),
    vwap: new Float64Array(rows)
  }
  const provider = new Array<string>(rows)
  const feed = new Array<string>(rows)
  const aggregated = slices.some((s) => s.batch.partial !== undefined)
  const partial = new Array<boolean>(aggregated ? rows : 0)
  const quarantine = slices.some((s) => s.rules !== undefined)
  const rules = new Array<string>(quarantine ? rows : 0)
  let at = 0
  for (const s of slices) {
    const b = s.batch
    for (let i = 0; i < b.ts.length; i++) ts[at + i] = BigInt(b.ts[i] as number)
    for (const k of ["open", "high", "low", "close", "volume", "tradeCount", "vwap"] as const) cols[k].set(b[k], at)
    provider.fill(s.provider, at, at + b.ts.length)
    feed.fill(s.feed, at, at + b.ts.length)
    if (aggregated) for (let i = 0; i < b.ts.length; i++) partial[at + i] = b.partial?.[i] === 1
    if (quarantine) for (let i = 0; i < b.ts.length; i++) rules[at + i] = s.rules?.[i] ?? ""
    at += b.ts.length
  }
  const writer = new ByteWriter()
  const pw = new ParquetWriter({
    writer,
    schema: quarantine ? quarantineSchema : aggregated ? aggregatedSchema : baseSchema,
    codec: "ZSTD",
    compressors: { ZSTD: zstd },
    kvMetadata: keyValues(slices, metadata, rows).map(([key, value]) => ({ key, value })),
    createdBy: "marketpipe"
  })
  pw.write({
    columnData: [
      { name: "symbol", data: new Array<string>(rows).fill(symbol) },
      { name: "ts", data: ts, encoding: "DELTA_BINARY_PACKED" },
      { name: "open", data: cols.open },
      { name: "high", data: cols.high },
      { name: "low", data: cols.low },
      { name: "close", data: cols.close },
      { name: "volume", data: cols.volume },
      { name: "trade_count", data: nullable(cols.tradeCount, BigInt) },
      { name: "vwap", data: nullable(cols.vwap, (x) => x) },
      { name: "provider", data: provider },
      { name: "feed", data: feed },
      ...(aggregated ? [{ name: "is_partial", data: partial }] : []),
      ...(quarantine
        ? [
            { name: "rule", data: rules },
            { name: "severity", data: new Array<string>(rows).fill("error") }
          ]
        : [])
    ],
    rowGroupSize: 100_000
  })
  pw.finish()
  return new Uint8Array(writer.getBuffer())
}

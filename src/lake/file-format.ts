/**
 * The lake's file format: bars of one symbol as Parquet with the column types of design §4 (`ts` INT64
 * TIMESTAMP(MILLIS, UTC), OHLCV DOUBLE, nullable `trade_count` INT64 and `vwap` DOUBLE, dictionary strings for
 * symbol, provider and feed), ZSTD-compressed, with provenance in the key-value metadata.
 */
import { zstdCompressSync } from "node:zlib"
import { type ColumnData, type CompressionCodec, parquetMetadata, parquetRead, parquetSchema } from "hyparquet"
import { compressors as readCompressors } from "hyparquet-compressors"
import { ByteWriter, ParquetWriter } from "hyparquet-writer"
import { type BarBatch, emptyBatch } from "../domain/bar.ts"
import type { Symbol } from "../domain/symbol.ts"
import { badRowCount, chunkProblem, runsProblem } from "./read/file-checks.ts"
import { pagesOf, Unsupported } from "./read/page-decoder.ts"

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

// hyparquet-writer bundles its own hyparquet types, so take the schema type from the writer itself.
type WriterSchema = ConstructorParameters<typeof ParquetWriter>[0]["schema"]

const baseSchema: WriterSchema = [
  { name: "schema", num_children: 11 },
  {
    name: "symbol",
    type: "BYTE_ARRAY",
    converted_type: "UTF8",
    logical_type: { type: "STRING" },
    repetition_type: "REQUIRED"
  },
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
  {
    name: "provider",
    type: "BYTE_ARRAY",
    converted_type: "UTF8",
    logical_type: { type: "STRING" },
    repetition_type: "REQUIRED"
  },
  {
    name: "feed",
    type: "BYTE_ARRAY",
    converted_type: "UTF8",
    logical_type: { type: "STRING" },
    repetition_type: "REQUIRED"
  }
]

/** Quarantined bars add the rules they broke and their severity. */
const quarantineSchema: WriterSchema = [
  { name: "schema", num_children: 13 },
  ...baseSchema.slice(1),
  {
    name: "rule",
    type: "BYTE_ARRAY",
    converted_type: "UTF8",
    logical_type: { type: "STRING" },
    repetition_type: "REQUIRED"
  },
  {
    name: "severity",
    type: "BYTE_ARRAY",
    converted_type: "UTF8",
    logical_type: { type: "STRING" },
    repetition_type: "REQUIRED"
  }
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

/** Encodes day slices (already sorted by day, each sorted by ts) into one Parquet file. */
export function encodeBars(
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
  let minTs = Number.POSITIVE_INFINITY
  let maxTs = Number.NEGATIVE_INFINITY
  for (const s of slices) {
    const b = s.batch
    for (let i = 0; i < b.ts.length; i++) ts[at + i] = BigInt(b.ts[i] as number)
    for (const k of ["open", "high", "low", "close", "volume", "tradeCount", "vwap"] as const) cols[k].set(b[k], at)
    provider.fill(s.provider, at, at + b.ts.length)
    feed.fill(s.feed, at, at + b.ts.length)
    if (aggregated) for (let i = 0; i < b.ts.length; i++) partial[at + i] = b.partial?.[i] === 1
    if (quarantine) for (let i = 0; i < b.ts.length; i++) rules[at + i] = s.rules?.[i] ?? ""
    if (b.ts.length > 0) {
      minTs = Math.min(minTs, b.ts[0] as number)
      maxTs = Math.max(maxTs, b.ts[b.ts.length - 1] as number)
    }
    at += b.ts.length
  }
  const writer = new ByteWriter()
  const kv: Record<string, string> = {
    ...metadata,
    "marketpipe.schema_version": LAKE_SCHEMA_VERSION,
    "marketpipe.rows": String(rows),
    "marketpipe.min_ts": rows > 0 ? new Date(minTs).toISOString() : "",
    "marketpipe.max_ts": rows > 0 ? new Date(maxTs).toISOString() : "",
    "marketpipe.providers": [...new Set(provider)].join(","),
    "marketpipe.feeds": [...new Set(feed)].join(",")
  }
  const pw = new ParquetWriter({
    writer,
    schema: quarantine ? quarantineSchema : aggregated ? aggregatedSchema : baseSchema,
    codec: "ZSTD",
    compressors: { ZSTD: zstd },
    kvMetadata: Object.entries(kv).map(([key, value]) => ({ key, value })),
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

export interface DecodedFile {
  readonly batch: BarBatch
  readonly provider: ReadonlyArray<string>
  readonly feed: ReadonlyArray<string>
  /** Quarantine files: the rules each row broke. */
  readonly rules: ReadonlyArray<string> | undefined
  readonly metadata: Readonly<Record<string, string>>
}

const toNumbers = (data: ArrayLike<unknown>, target: Float64Array, offset: number) => {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]
    target[offset + i] = v === null || v === undefined ? Number.NaN : Number(v)
  }
}

/** A chunk's decompressed pages, or none when no codec here reads it (then hyparquet cannot either). */
async function pagesIfDecodable(chunk: Uint8Array, codec: CompressionCodec) {
  try {
    return await pagesOf(chunk, codec)
  } catch (e) {
    if (e instanceof Unsupported) return []
    throw e
  }
}

/** Columns every lake file has: one value per row each, or the file is not one. */
const requiredColumns = ["ts", "open", "high", "low", "close", "volume", "provider", "feed"] as const

/**
 * Decodes a lake file back into columns. Throws on a file that is not a whole lake file: row counts the footer
 * contradicts or that no lake file has, or a required column without a value for every row (a partly decoded
 * file would otherwise come back with zero-filled rows, and a rewrite would keep them as bars).
 */
export async function decodeBars(symbol: Symbol, bytes: Uint8Array): Promise<DecodedFile> {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
  // Lake files are never GeoParquet; hyparquet's GeoParquet pass also loops forever on a negative `num_children`.
  const metadata = parquetMetadata(buffer, { geoparquet: false })
  const rows = Number(metadata.num_rows)
  const groupRows = metadata.row_groups.reduce((n, g) => n + Number(g.num_rows), 0)
  const bad = badRowCount(rows) ?? (groupRows === rows ? undefined : `row groups of ${groupRows} rows in all`)
  if (bad !== undefined) throw new Error(`not a lake file: its footer claims ${bad} (file rows ${rows})`)
  // Every column chunk is checked before hyparquet trusts a size, count or run length in it (a corrupt one could take
  // all memory): pages inside the chunk, counts within the row group, runs within the page.
  const tree = parquetSchema(metadata)
  const elements = new Map(tree.children.map((c) => [c.element.name, c.element]))
  for (const group of metadata.row_groups) {
    for (const column of group.columns) {
      const meta = column.meta_data
      if (meta === undefined) continue
      const name = meta.path_in_schema.join(".")
      // As hyparquet locates a chunk: some writers put 0 for "no dictionary page".
      const start = Number(meta.dictionary_page_offset || meta.data_page_offset)
      const end = start + Number(meta.total_compressed_size)
      if (!(start >= 4 && start <= end && end <= bytes.length)) {
        throw new Error(`not a lake file: column ${name} at bytes ${start}-${end} of ${bytes.length}`)
      }
      const element = meta.path_in_schema.length === 1 ? elements.get(name) : undefined
      if (element === undefined) throw new Error(`not a lake file: column ${name} is not a top-level column`)
      const chunk = bytes.subarray(start, end)
      const problem =
        chunkProblem(chunk, Number(group.num_rows)) ??
        runsProblem(await pagesIfDecodable(chunk, meta.codec), element, tree.element)
      if (problem !== undefined) throw new Error(`not a lake file: column ${name}: ${problem}`)
    }
  }
  const values = new Map<string, number>()
  let overflow: string | undefined
  const aggregated = metadata.schema.some((c) => c.name === "is_partial")
  const batch = aggregated ? { ...emptyBatch(symbol, rows), partial: new Uint8Array(rows) } : emptyBatch(symbol, rows)
  const provider = new Array<string>(rows)
  const feed = new Array<string>(rows)
  const rules = metadata.schema.some((c) => c.name === "rule") ? new Array<string>(rows) : undefined
  const target: Record<string, Float64Array> = {
    ts: batch.ts,
    open: batch.open,
    high: batch.high,
    low: batch.low,
    close: batch.close,
    volume: batch.volume,
    trade_count: batch.tradeCount,
    vwap: batch.vwap
  }
  await parquetRead({
    file: buffer,
    metadata,
    compressors: readCompressors,
    parsers: { timestampFromMilliseconds: (ms: bigint) => Number(ms) },
    onChunk: (chunk: ColumnData) => {
      // Not thrown here: hyparquet calls this from a promise callback nobody awaits.
      if (chunk.rowStart < 0 || chunk.rowStart + chunk.columnData.length > rows) {
        overflow ??= `not a lake file: column ${chunk.columnName} has values past row ${rows}`
        return
      }
      values.set(chunk.columnName, (values.get(chunk.columnName) ?? 0) + chunk.columnData.length)
      const numeric = target[chunk.columnName]
      if (numeric !== undefined) toNumbers(chunk.columnData, numeric, chunk.rowStart)
      else if (
        chunk.columnName === "provider" ||
        chunk.columnName === "feed" ||
        (chunk.columnName === "rule" && rules)
      ) {
        const out =
          chunk.columnName === "provider" ? provider : chunk.columnName === "feed" ? feed : (rules as Array<string>)
        for (let i = 0; i < chunk.columnData.length; i++) out[chunk.rowStart + i] = String(chunk.columnData[i])
      } else if (chunk.columnName === "is_partial" && batch.partial !== undefined) {
        for (let i = 0; i < chunk.columnData.length; i++)
          batch.partial[chunk.rowStart + i] = chunk.columnData[i] ? 1 : 0
      }
    }
  })
  if (overflow !== undefined) throw new Error(overflow)
  for (const c of requiredColumns) {
    const n = values.get(c) ?? 0
    if (n !== rows) throw new Error(`not a lake file: column ${c} has ${n} values for ${rows} rows`)
  }
  const kv: Record<string, string> = {}
  for (const { key, value } of metadata.key_value_metadata ?? []) kv[key] = value ?? ""
  return { batch, provider, feed, rules, metadata: kv }
}

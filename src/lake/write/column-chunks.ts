/**
 * One column chunk of a row group: the rows `[from, to)` of the file gathered from the day slices into scratch
 * arrays, encoded by the column's kind, compressed and written with their statistics. Numbers go out as the bytes of
 * their typed arrays (PLAIN doubles) or through `delta.ts`; nothing is boxed per value.
 */
import type { BarBatch } from "../../domain/bar.ts"
import type { DaySlice } from "../file-format.ts"
import { bitLength, packInto, writeHybrid } from "./bit-packing.ts"
import { ByteWriter } from "./byte-writer.ts"
import { writeDeltaBinaryPacked } from "./delta.ts"
import { type Compress, Encoding, type PagesWritten, PageType, PhysicalType, writePages } from "./pages.ts"
import { doubleStatistics, flagStatistics, int64Statistics, type Statistics, textStatistics } from "./statistics.ts"

/** A column of the lake's fixed schema and where its values come from. */
export type LakeColumn =
  | {
      readonly name: string
      readonly kind: "text"
      /** One string for the whole slice, or one per row (quarantine rules; missing rows are ""). */
      readonly text: (slice: DaySlice, symbol: string) => string | ReadonlyArray<string> | undefined
    }
  | {
      readonly name: string
      /** `timestamp`: INT64 TIMESTAMP(MILLIS, UTC); the optional kinds read NaN as null. */
      readonly kind: "timestamp" | "double" | "optionalDouble" | "optionalInt64"
      readonly values: (batch: BarBatch) => Float64Array
    }
  | { readonly name: string; readonly kind: "flag"; readonly flags: (batch: BarBatch) => Uint8Array | undefined }

export type TimestampEncoding = "DELTA_BINARY_PACKED" | "PLAIN"

export interface ChunkWritten extends PagesWritten {
  readonly name: string
  readonly type: number
  readonly encodings: ReadonlyArray<number>
  readonly pages: ReadonlyArray<{ readonly pageType: number; readonly encoding: number }>
  readonly rows: number
  readonly statistics: Statistics
}

/** What every chunk of one file shares: the output, the slices and scratch space sized for one row group. */
export interface ChunkContext {
  readonly out: ByteWriter
  readonly compress: Compress
  readonly timestamps: TimestampEncoding
  readonly symbol: string
  readonly slices: ReadonlyArray<DaySlice>
  /** The file row each slice starts at. */
  readonly starts: ReadonlyArray<number>
  readonly values: Float64Array
  readonly packed: Float64Array
  readonly bytes: Uint8Array
  readonly indexes: Uint32Array
  readonly body: ByteWriter
  readonly side: ByteWriter
}

// PLAIN is little-endian: the typed arrays' own bytes are written as they are, which needs a little-endian host.
const littleEndian = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1

export function chunkContext(
  out: ByteWriter,
  compress: Compress,
  timestamps: TimestampEncoding,
  symbol: string,
  slices: ReadonlyArray<DaySlice>,
  groupRows: number
): ChunkContext {
  if (!littleEndian) throw new Error("the lake writer needs a little-endian host")
  const starts: Array<number> = []
  let at = 0
  for (const s of slices) {
    starts.push(at)
    at += s.batch.ts.length
  }
  // Scratch for the largest row group; delta encoding needs a 128-entry block of it even for smaller groups.
  const n = Math.max(groupRows, 128)
  return {
    out,
    compress,
    timestamps,
    symbol,
    slices,
    starts,
    values: new Float64Array(n),
    packed: new Float64Array(n),
    bytes: new Uint8Array(n),
    indexes: new Uint32Array(n),
    body: new ByteWriter(8 * n + 64),
    side: new ByteWriter(Math.ceil(n / 8) + 64)
  }
}

/** Calls `f(slice, sliceRow, groupRow, count)` for each part of `[from, to)` one slice holds. */
function eachPart(
  ctx: ChunkContext,
  from: number,
  to: number,
  f: (slice: DaySlice, sliceRow: number, groupRow: number, count: number) => void
): void {
  ctx.slices.forEach((s, k) => {
    const start = ctx.starts[k] as number
    const a = Math.max(from, start)
    const b = Math.min(to, start + s.batch.ts.length)
    if (a < b) f(s, a - start, a - from, b - a)
  })
}

function gather(ctx: ChunkContext, pick: (b: BarBatch) => Float64Array, from: number, to: number): Float64Array {
  eachPart(ctx, from, to, (s, row, at, count) => ctx.values.set(pick(s.batch).subarray(row, row + count), at))
  return ctx.values
}

const bytesOf = (a: Float64Array | Int32Array, length: number): Uint8Array => new Uint8Array(a.buffer, 0, length)

/** Integers the writer can hold exactly and delta-encode without overflow (±2^51 ms is ±71,000 years). */
function checkInteger(name: string, x: number): void {
  if (!Number.isInteger(x) || Math.abs(x) > 2 ** 51) throw new Error(`column ${name}: ${x} is not an integer in range`)
}

/** Non-null values of `[0, n)` moved to the front of `ctx.packed`, definition levels written to `ctx.side`. */
function splitNulls(ctx: ChunkContext, n: number): { present: number; levels: Uint8Array } {
  const v = ctx.values
  const levels = ctx.bytes
  let present = 0
  for (let i = 0; i < n; i++) {
    const x = v[i] as number
    if (!Number.isNaN(x)) {
      levels[i] = 1
      ctx.packed[present++] = x
    } else levels[i] = 0
  }
  ctx.side.reset()
  writeHybrid(ctx.side, levels, n, 1)
  return { present, levels: ctx.side.written() }
}

/** `count` integers of `ctx.packed` as PLAIN INT64 (two 32-bit words each, low word first) over the same buffer. */
function plainInt64(ctx: ChunkContext, name: string, count: number): Uint8Array {
  const words = new Int32Array(ctx.packed.buffer, 0, 2 * count)
  for (let i = 0; i < count; i++) {
    const x = ctx.packed[i] as number
    checkInteger(name, x)
    // Low word first: ToInt32 keeps the low 32 bits; the high word is the signed quotient.
    words[2 * i + 1] = Math.floor(x / 4_294_967_296)
    words[2 * i] = x | 0
  }
  return bytesOf(words, 8 * count)
}

const noLevels = new Uint8Array(0)

type NumberColumn = Extract<LakeColumn, { readonly values: unknown }>

function numberChunk(ctx: ChunkContext, column: NumberColumn, from: number, to: number) {
  const n = to - from
  const v = gather(ctx, column.values, from, to)
  if (column.kind === "double") {
    const page = { encoding: Encoding.PLAIN, rows: n, nulls: 0, levels: noLevels, values: bytesOf(v, 8 * n) }
    return { type: PhysicalType.DOUBLE, page, statistics: doubleStatistics(v, n, 0) }
  }
  if (column.kind === "timestamp") {
    for (let i = 0; i < n; i++) checkInteger(column.name, v[i] as number)
    const statistics = int64Statistics(v, n, 0)
    let values: Uint8Array
    if (ctx.timestamps === "PLAIN") {
      ctx.packed.set(v.subarray(0, n))
      values = plainInt64(ctx, column.name, n)
    } else {
      ctx.body.reset()
      writeDeltaBinaryPacked(ctx.body, v, n, ctx.packed)
      values = ctx.body.written()
    }
    const encoding = ctx.timestamps === "PLAIN" ? Encoding.PLAIN : Encoding.DELTA_BINARY_PACKED
    return { type: PhysicalType.INT64, page: { encoding, rows: n, nulls: 0, levels: noLevels, values }, statistics }
  }
  const { present, levels } = splitNulls(ctx, n)
  const nulls = n - present
  if (column.kind === "optionalDouble") {
    const page = { encoding: Encoding.PLAIN, rows: n, nulls, levels, values: bytesOf(ctx.packed, 8 * present) }
    return { type: PhysicalType.DOUBLE, page, statistics: doubleStatistics(ctx.packed, present, nulls) }
  }
  // Statistics before the values are overwritten by their INT64 words.
  const statistics = int64Statistics(ctx.packed, present, nulls)
  const values = plainInt64(ctx, column.name, present)
  return { type: PhysicalType.INT64, page: { encoding: Encoding.PLAIN, rows: n, nulls, levels, values }, statistics }
}

function flagChunk(ctx: ChunkContext, column: Extract<LakeColumn, { kind: "flag" }>, from: number, to: number) {
  const n = to - from
  const flags = ctx.bytes
  eachPart(ctx, from, to, (s, row, at, count) => {
    const src = column.flags(s.batch)
    for (let i = 0; i < count; i++) flags[at + i] = src?.[row + i] === 1 ? 1 : 0
  })
  ctx.body.reset()
  const at = ctx.body.zeros(Math.ceil(n / 8))
  packInto(ctx.body.view, at * 8, flags, 0, n, 1)
  const page = { encoding: Encoding.PLAIN, rows: n, nulls: 0, levels: noLevels, values: ctx.body.written() }
  return { type: PhysicalType.BOOLEAN, page, statistics: flagStatistics(flags, n) }
}

const utf8 = new TextEncoder()

function textChunk(ctx: ChunkContext, column: Extract<LakeColumn, { kind: "text" }>, from: number, to: number) {
  const n = to - from
  const ids = new Map<string, number>()
  const entries: Array<Uint8Array> = []
  const id = (s: string): number => {
    let i = ids.get(s)
    if (i === undefined) {
      i = entries.length
      ids.set(s, i)
      entries.push(utf8.encode(s))
    }
    return i
  }
  const indexes = ctx.indexes
  eachPart(ctx, from, to, (s, row, at, count) => {
    const text = column.text(s, ctx.symbol)
    if (typeof text === "string") indexes.fill(id(text), at, at + count)
    else for (let i = 0; i < count; i++) indexes[at + i] = id(text?.[row + i] ?? "")
  })
  ctx.side.reset()
  for (const e of entries) {
    ctx.side.u32le(e.length)
    ctx.side.bytes(e)
  }
  ctx.body.reset()
  const width = bitLength(Math.max(0, entries.length - 1))
  ctx.body.u8(width)
  writeHybrid(ctx.body, indexes, n, width)
  const page = { encoding: Encoding.RLE_DICTIONARY, rows: n, nulls: 0, levels: noLevels, values: ctx.body.written() }
  const dictionary = { count: entries.length, values: ctx.side.written() }
  return { type: PhysicalType.BYTE_ARRAY, page, dictionary, statistics: textStatistics(entries) }
}

/** Encodes and writes the chunk of `column` for file rows `[from, to)`. */
export function writeChunk(ctx: ChunkContext, column: LakeColumn, from: number, to: number): ChunkWritten {
  const encoded =
    column.kind === "text"
      ? textChunk(ctx, column, from, to)
      : column.kind === "flag"
        ? { ...flagChunk(ctx, column, from, to), dictionary: undefined }
        : { ...numberChunk(ctx, column, from, to), dictionary: undefined }
  const written = writePages(ctx.out, ctx.compress, encoded.page, encoded.dictionary)
  const data = { pageType: PageType.DATA_PAGE_V2, encoding: encoded.page.encoding }
  return {
    ...written,
    name: column.name,
    type: encoded.type,
    // As the lake's files have always listed them: the values' encodings, the dictionary's PLAIN first.
    encodings: encoded.dictionary === undefined ? [data.encoding] : [Encoding.PLAIN, data.encoding],
    pages:
      encoded.dictionary === undefined
        ? [data]
        : [{ pageType: PageType.DICTIONARY_PAGE, encoding: Encoding.PLAIN }, data],
    rows: to - from,
    statistics: encoded.statistics
  }
}

/**
 * A direct Parquet page decoder for the layouts the lake's writers produce (PLAIN, DELTA_BINARY_PACKED and
 * dictionary pages of INT64 / DOUBLE / BOOLEAN, nullable or not, data pages v1 and v2), writing straight into typed
 * arrays. hyparquet decodes one boxed value at a time (INT64 through BigInt); this avoids both. Anything else throws
 * `Unsupported` (or `decodable` says no) and the row-group reader (`row-group.ts`) lets hyparquet read that column
 * chunk instead. The checks that keep a corrupt page from reaching either decoder are in `file-checks.ts`.
 */
import * as zlib from "node:zlib"
import type { CompressionCodec, Compressors, PageHeader, SchemaElement } from "hyparquet"
import { parquetHeader } from "hyparquet/src/column.js"
import { compressors as portableCompressors } from "hyparquet-compressors"

// The lake is ZSTD. Bun's own decoder is the fastest; node:zlib decodes it natively in Deno and Node >= 22.15 (one
// output chunk of the known size avoids concatenating 16 KiB pieces); the pure-JS decoder is the last resort.
const bunZstd = (globalThis as { Bun?: { zstdDecompressSync?: (input: Uint8Array) => Uint8Array } }).Bun
  ?.zstdDecompressSync
const zlibZstd = (zlib as { zstdDecompressSync?: (input: Uint8Array, options: { chunkSize: number }) => Uint8Array })
  .zstdDecompressSync
const bunZstdAsync = (globalThis as { Bun?: { zstdDecompress?: (input: Uint8Array) => Promise<Uint8Array> } }).Bun
  ?.zstdDecompress
export const compressors: Compressors = {
  ...portableCompressors,
  ...(bunZstd !== undefined
    ? { ZSTD: (input: Uint8Array) => bunZstd(input) }
    : zlibZstd !== undefined
      ? { ZSTD: (input: Uint8Array, size: number) => zlibZstd(input, { chunkSize: Math.max(64, size) }) }
      : {})
}

/** A layout this decoder does not handle: the caller hands the chunk to hyparquet. */
export class Unsupported extends Error {}

export interface Bytes {
  readonly b: Uint8Array
  pos: number
}

function varint(r: Bytes): number {
  let out = 0
  let scale = 1
  for (;;) {
    const byte = r.b[r.pos++]
    if (byte === undefined) throw new Error("truncated varint")
    out += (byte & 0x7f) * scale
    if (byte < 0x80) return out
    scale *= 128
  }
}

const zigzag = (n: number): number => (n % 2 === 0 ? n / 2 : -(n + 1) / 2)

/** `width` bits (≤ 53) starting at bit `bit` of `b`, least significant first. */
export function bitsAt(b: Uint8Array, bit: number, width: number): number {
  let out = 0
  let got = 0
  let p = bit
  while (got < width) {
    const off = p & 7
    const take = Math.min(8 - off, width - got)
    out += (((b[p >> 3] ?? 0) >> off) & ((1 << take) - 1)) * 2 ** got
    got += take
    p += take
  }
  return out
}

/** RLE / bit-packed hybrid (levels, dictionary indexes, booleans): `count` values into `out`; returns the end. */
function hybrid(b: Uint8Array, start: number, end: number, width: number, count: number, out: Uint32Array): number {
  const r: Bytes = { b, pos: start }
  const bytesPerValue = (width + 7) >> 3
  let n = 0
  while (n < count && r.pos < end) {
    const header = varint(r)
    if (header % 2 === 0) {
      const run = Math.min(header / 2, count - n)
      let v = 0
      for (let i = 0; i < bytesPerValue; i++) v += (b[r.pos + i] ?? 0) * 2 ** (8 * i)
      r.pos += bytesPerValue
      out.fill(v, n, n + run)
      n += run
    } else {
      const values = ((header - 1) / 2) * 8
      const take = Math.min(values, count - n)
      const bit = r.pos * 8
      for (let i = 0; i < take; i++) out[n + i] = bitsAt(b, bit + i * width, width)
      r.pos += (values * width) / 8
      n += take
    }
  }
  if (n < count) throw new Error("truncated RLE run")
  return r.pos
}

/** DELTA_BINARY_PACKED integers (INT32 or INT64) as numbers, exact below 2^53 (timestamps in ms are). */
function deltaPacked(b: Uint8Array, start: number, count: number, out: Float64Array, at: number): void {
  const r: Bytes = { b, pos: start }
  const blockSize = varint(r)
  const miniblocks = varint(r)
  const total = varint(r)
  let value = zigzag(varint(r))
  if (total !== count || miniblocks === 0 || blockSize % (miniblocks * 8) !== 0) throw new Unsupported()
  const perMiniblock = blockSize / miniblocks
  let n = 0
  if (count > 0) out[at + n++] = value
  while (n < count) {
    const minDelta = zigzag(varint(r))
    const widths = b.subarray(r.pos, r.pos + miniblocks)
    r.pos += miniblocks
    for (let m = 0; m < miniblocks && n < count; m++) {
      const width = widths[m] ?? 0
      if (width > 52) throw new Unsupported()
      const bit = r.pos * 8
      const take = Math.min(perMiniblock, count - n)
      if (width === 0) {
        for (let i = 0; i < take; i++) out[at + n++] = value += minDelta
      } else {
        for (let i = 0; i < take; i++) out[at + n++] = value += minDelta + bitsAt(b, bit + i * width, width)
      }
      r.pos += (perMiniblock * width) / 8
    }
  }
  if (!Number.isSafeInteger(value)) throw new Unsupported()
}

/** `count` PLAIN values of a physical type as numbers (booleans as 0/1). */
function plainValues(type: string | undefined, b: Uint8Array, start: number, count: number): Float64Array | Uint8Array {
  if (type === "DOUBLE") {
    const offset = b.byteOffset + start
    if (start + count * 8 > b.length) throw new Error("truncated page")
    return offset % 8 === 0
      ? new Float64Array(b.buffer, offset, count)
      : new Float64Array(b.buffer.slice(offset, offset + count * 8))
  }
  if (type === "INT64" || type === "INT32") {
    const view = new DataView(b.buffer, b.byteOffset + start)
    const out = new Float64Array(count)
    if (type === "INT32") for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true)
    else
      for (let i = 0; i < count; i++)
        out[i] = view.getInt32(i * 8 + 4, true) * 4_294_967_296 + view.getUint32(i * 8, true)
    return out
  }
  if (type === "BOOLEAN") {
    const out = new Uint8Array(count)
    for (let i = 0; i < count; i++) out[i] = ((b[start + (i >> 3)] ?? 0) >> (i & 7)) & 1
    return out
  }
  throw new Unsupported()
}

const decompress = (codec: CompressionCodec, input: Uint8Array, size: number): Uint8Array | Promise<Uint8Array> => {
  if (codec === "UNCOMPRESSED") return input
  // Bun decompresses on its worker threads: several files' pages inflate while this thread decodes others.
  if (codec === "ZSTD" && bunZstdAsync !== undefined && input.length >= 16_384) return bunZstdAsync(input)
  const f = compressors[codec]
  if (f === undefined) throw new Unsupported()
  return f(input, size)
}

/** A page of a column chunk: header, definition levels (data pages v2 keep them uncompressed), decompressed values. */
export interface RawPage {
  readonly header: PageHeader
  readonly levels: Uint8Array
  readonly values: Uint8Array
}

const noBytes = new Uint8Array(0)

/** Splits a column chunk into pages and decompresses them. */
export async function pagesOf(chunk: Uint8Array, codec: CompressionCodec): Promise<Array<RawPage>> {
  const reader = { view: new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength), offset: 0 }
  const pages: Array<{ header: PageHeader; levels: Uint8Array; values: Uint8Array | Promise<Uint8Array> }> = []
  while (reader.offset < chunk.length) {
    const header = parquetHeader(reader)
    const body = chunk.subarray(reader.offset, reader.offset + header.compressed_page_size)
    reader.offset += header.compressed_page_size
    const v2 = header.type === "DATA_PAGE_V2" ? header.data_page_header_v2 : undefined
    if (v2 === undefined) {
      pages.push({ header, levels: noBytes, values: decompress(codec, body, header.uncompressed_page_size) })
      continue
    }
    const n = v2.repetition_levels_byte_length + v2.definition_levels_byte_length
    const rest = body.subarray(n)
    pages.push({
      header,
      levels: body.subarray(0, n),
      values: v2.is_compressed === false ? rest : decompress(codec, rest, header.uncompressed_page_size - n)
    })
  }
  return Promise.all(pages.map(async (p) => ({ header: p.header, levels: p.levels, values: await p.values })))
}

/** Whether `decodePages` handles this column (flat, millisecond timestamps, booleans into flags). */
export function decodable(element: SchemaElement, dest: Float64Array | Uint8Array): boolean {
  if (element.repetition_type === "REPEATED" || (element.type === "BOOLEAN") !== dest instanceof Uint8Array) {
    return false
  }
  // Timestamps other than milliseconds go through hyparquet, which converts them.
  const unit = element.logical_type?.type === "TIMESTAMP" ? element.logical_type.unit : undefined
  return (unit === undefined || unit === "MILLIS") && element.converted_type !== "TIMESTAMP_MICROS"
}

/**
 * Decodes the pages of one column chunk of a flat (top-level) column into `dest[at, at + rows)`: numbers, NaN for
 * nulls in a Float64Array; 1/0 (nulls 0) in a Uint8Array. Returns false for a layout it does not decode.
 */
export function decodePages(
  pages: ReadonlyArray<RawPage>,
  element: SchemaElement,
  dest: Float64Array | Uint8Array,
  at: number,
  rows: number
): boolean {
  try {
    const type = element.type
    const optional = element.repetition_type === "OPTIONAL"
    const empty = dest instanceof Float64Array ? Number.NaN : 0
    let dictionary: Float64Array | Uint8Array | undefined
    let n = 0
    for (const { header, levels: levelBytes, values } of pages) {
      if (header.type === "DICTIONARY_PAGE") {
        const d = header.dictionary_page_header
        if (d === undefined || (d.encoding !== "PLAIN" && d.encoding !== "PLAIN_DICTIONARY")) return false
        dictionary = plainValues(type, values, 0, d.num_values)
        continue
      }
      let valuesStart = 0
      let levels: Uint32Array | undefined
      let count: number
      let encoding: string
      if (header.type === "DATA_PAGE_V2" && header.data_page_header_v2 !== undefined) {
        const h = header.data_page_header_v2
        if (h.repetition_levels_byte_length !== 0) return false
        count = h.num_values
        encoding = h.encoding
        if (optional && h.num_nulls > 0) {
          levels = new Uint32Array(count)
          hybrid(levelBytes, 0, levelBytes.length, 1, count, levels)
        }
      } else if (header.type === "DATA_PAGE" && header.data_page_header !== undefined) {
        const h = header.data_page_header
        count = h.num_values
        encoding = h.encoding
        if (optional) {
          if (h.definition_level_encoding !== "RLE") return false
          const length = new DataView(values.buffer, values.byteOffset).getUint32(0, true)
          levels = new Uint32Array(count)
          hybrid(values, 4, 4 + length, 1, count, levels)
          valuesStart = 4 + length
        }
      } else {
        return false
      }
      if (n + count > rows) return false
      let present = count
      if (levels !== undefined) {
        present = 0
        for (let i = 0; i < count; i++) present += levels[i] as number
      }
      // The page's non-null values, in order.
      let decoded: Float64Array | Uint8Array
      if (encoding === "PLAIN") {
        decoded = plainValues(type, values, valuesStart, present)
      } else if (encoding === "DELTA_BINARY_PACKED" && (type === "INT64" || type === "INT32")) {
        decoded = new Float64Array(present)
        deltaPacked(values, valuesStart, present, decoded, 0)
      } else if ((encoding === "RLE_DICTIONARY" || encoding === "PLAIN_DICTIONARY") && dictionary !== undefined) {
        const width = values[valuesStart] ?? 0
        const indexes = new Uint32Array(present)
        if (width > 0) hybrid(values, valuesStart + 1, values.length, width, present, indexes)
        const dict = dictionary
        decoded = dest instanceof Uint8Array ? new Uint8Array(present) : new Float64Array(present)
        for (let i = 0; i < present; i++) {
          const v = dict[indexes[i] as number]
          if (v === undefined) return false
          decoded[i] = v
        }
      } else if (encoding === "RLE" && type === "BOOLEAN") {
        const length = new DataView(values.buffer, values.byteOffset + valuesStart).getUint32(0, true)
        const bits = new Uint32Array(present)
        hybrid(values, valuesStart + 4, valuesStart + 4 + length, 1, present, bits)
        decoded = Uint8Array.from(bits)
      } else {
        return false
      }
      if (levels === undefined) {
        if (decoded instanceof Float64Array && dest instanceof Float64Array) dest.set(decoded, at + n)
        else if (decoded instanceof Uint8Array && dest instanceof Uint8Array) dest.set(decoded, at + n)
        else return false
      } else {
        for (let i = 0, k = 0; i < count; i++) dest[at + n + i] = levels[i] === 1 ? (decoded[k++] as number) : empty
      }
      n += count
    }
    return n === rows
  } catch (e) {
    if (e instanceof Unsupported) return false
    throw e
  }
}

/**
 * Pages of a column chunk as the lake writes them: an optional PLAIN dictionary page, then one data page v2 per
 * chunk (a row group of 100,000 doubles is 800 KB, under the 1 MiB pages readers expect). Data pages v2 keep the
 * definition levels outside the compressed values, so the reader's fast path finds them without inflating.
 */
import type { ByteWriter } from "./byte-writer.ts"
import { CompactWriter } from "./thrift.ts"

/** Parquet's enum values (parquet.thrift) for the parts of the format the lake uses. */
export const PhysicalType = { BOOLEAN: 0, INT64: 2, DOUBLE: 5, BYTE_ARRAY: 6 } as const
export const Encoding = { PLAIN: 0, DELTA_BINARY_PACKED: 5, RLE_DICTIONARY: 8 } as const
export const PageType = { DICTIONARY_PAGE: 2, DATA_PAGE_V2: 3 } as const
export const ZSTD_CODEC = 6

export type Compress = (input: Uint8Array) => Uint8Array

/** Where the pages of one chunk went and how big they are (headers included, as the footer counts them). */
export interface PagesWritten {
  readonly start: number
  readonly dataPageOffset: number
  readonly dictionaryPageOffset: number | undefined
  readonly compressed: number
  readonly uncompressed: number
}

export interface DataPage {
  readonly encoding: number
  /** Values including nulls (= rows: the lake's columns are flat). */
  readonly rows: number
  readonly nulls: number
  /** Definition levels, RLE / bit-packed without a length prefix; empty for a required column. */
  readonly levels: Uint8Array
  /** The encoded non-null values, before compression. */
  readonly values: Uint8Array
}

/** Writes the chunk's pages to `out` (a dictionary page first when given). */
export function writePages(
  out: ByteWriter,
  compress: Compress,
  page: DataPage,
  dictionary?: { readonly count: number; readonly values: Uint8Array }
): PagesWritten {
  const start = out.pos
  const thrift = new CompactWriter(out)
  let compressed = 0
  let uncompressed = 0
  if (dictionary !== undefined) {
    const body = compress(dictionary.values)
    thrift.begin()
    thrift.i32(1, PageType.DICTIONARY_PAGE)
    thrift.i32(2, dictionary.values.length)
    thrift.i32(3, body.length)
    thrift.struct(7, () => {
      thrift.i32(1, dictionary.count)
      thrift.i32(2, Encoding.PLAIN)
    })
    thrift.end()
    const header = out.pos - start
    out.bytes(body)
    compressed += header + body.length
    uncompressed += header + dictionary.values.length
  }
  const dataPageOffset = out.pos
  const body = compress(page.values)
  thrift.begin()
  thrift.i32(1, PageType.DATA_PAGE_V2)
  thrift.i32(2, page.levels.length + page.values.length)
  thrift.i32(3, page.levels.length + body.length)
  thrift.struct(8, () => {
    thrift.i32(1, page.rows)
    thrift.i32(2, page.nulls)
    thrift.i32(3, page.rows)
    thrift.i32(4, page.encoding)
    thrift.i32(5, page.levels.length)
    thrift.i32(6, 0)
  })
  thrift.end()
  const header = out.pos - dataPageOffset
  out.bytes(page.levels)
  out.bytes(body)
  compressed += header + page.levels.length + body.length
  uncompressed += header + page.levels.length + page.values.length
  return {
    start,
    dataPageOffset,
    dictionaryPageOffset: dictionary === undefined ? undefined : start,
    compressed,
    uncompressed
  }
}

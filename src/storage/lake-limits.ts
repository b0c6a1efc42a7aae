/**
 * Bounds a lake file must respect. Footers and page headers are read from disk, so their counts and sizes are checked
 * before anything is sized by them: a flipped bit must give a `StorageError`, not a multi-gigabyte allocation or a
 * decoder that never finishes.
 */
import type { PageHeader } from "hyparquet"
import { parquetHeader } from "hyparquet/src/column.js"

/**
 * The most rows one lake file may hold. A file is one symbol's month (1m–30m) or year (1h–1d): a month of 1-minute
 * bars around the clock is 44,640 rows and a year of hourly bars 8,784, so this leaves more than 20× headroom.
 */
export const MAX_FILE_ROWS = 1_000_000

/** Why a row count from a footer cannot be one (`undefined` when it can). */
export function badRowCount(rows: number): string | undefined {
  if (!Number.isSafeInteger(rows) || rows < 0) return `a row count of ${rows}`
  if (rows > MAX_FILE_ROWS) return `${rows} rows, more than a lake file holds (${MAX_FILE_ROWS})`
  return undefined
}

/** The largest decompressed page accepted: the lake's writers cut pages near 1 MiB; this leaves room for others. */
export const MAX_PAGE_BYTES = 64 * 1024 * 1024

const count = (x: unknown, max: number): boolean =>
  Number.isSafeInteger(x) && (x as number) >= 0 && (x as number) <= max

/**
 * Why the pages of one flat column chunk of `rows` rows cannot be read safely (`undefined` when they can): every
 * header must parse, every page must end inside the chunk, no page may decompress past {@link MAX_PAGE_BYTES} and no
 * count may exceed `rows`. Checked before any decoder (this one or hyparquet's) sizes an array by those numbers, so
 * a corrupt header is a read error instead of gigabytes allocated or a loop that never ends.
 */
export function chunkProblem(chunk: Uint8Array, rows: number): string | undefined {
  const reader = { view: new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength), offset: 0 }
  let values = 0
  while (reader.offset < chunk.length) {
    const at = reader.offset
    let header: PageHeader
    try {
      header = parquetHeader(reader)
    } catch (e) {
      return `unreadable page header at byte ${at} of the column chunk (${e instanceof Error ? e.message : String(e)})`
    }
    const size = header.compressed_page_size
    if (!count(size, chunk.length - reader.offset))
      return `a page of ${size} bytes at byte ${at} of a ${chunk.length}-byte chunk`
    if (!count(header.uncompressed_page_size, MAX_PAGE_BYTES))
      return `a page that decompresses to ${header.uncompressed_page_size} bytes`
    reader.offset += size
    const v1 = header.data_page_header
    const v2 = header.data_page_header_v2
    const dictionary = header.dictionary_page_header
    if (header.type === "DATA_PAGE" && v1 !== undefined) {
      if (!count(v1.num_values, rows - values))
        return `a data page of ${v1.num_values} values in a row group of ${rows} rows`
      values += v1.num_values
    } else if (header.type === "DATA_PAGE_V2" && v2 !== undefined) {
      if (!count(v2.num_values, rows - values) || !count(v2.num_rows, rows) || !count(v2.num_nulls, v2.num_values)) {
        return `a data page of ${v2.num_values} values (${v2.num_nulls} null) in a row group of ${rows} rows`
      }
      const levels = v2.definition_levels_byte_length + v2.repetition_levels_byte_length
      if (
        !count(v2.definition_levels_byte_length, size) ||
        !count(v2.repetition_levels_byte_length, size) ||
        levels > size
      ) {
        return `page levels of ${levels} bytes in a page of ${size}`
      }
      values += v2.num_values
    } else if (header.type === "DICTIONARY_PAGE" && dictionary !== undefined) {
      if (!count(dictionary.num_values, rows)) return `a dictionary of ${dictionary.num_values} values for ${rows} rows`
    } else if (header.type !== "INDEX_PAGE") {
      return `a page of type ${String(header.type)} without its header`
    }
  }
  return undefined
}

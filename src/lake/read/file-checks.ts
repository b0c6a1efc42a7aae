/**
 * Bounds a lake file must respect. Footers and page headers are read from disk, so their counts and sizes are checked
 * before anything is sized by them: a flipped bit must give a `StorageError`, not a multi-gigabyte allocation or a
 * decoder that never finishes. Run before either decoder (`page-decoder.ts` or hyparquet) sees a column chunk.
 */
import type { PageHeader, SchemaElement } from "hyparquet"
import { parquetHeader } from "hyparquet/src/column.js"
import { type Bytes, bitsAt, type RawPage } from "./page-decoder.ts"

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

// ---------------------------------------------------------------------------------------------------------------
// Checks before hyparquet decodes a page. Its RLE reader (1.33) repeats a run as often as the run's header says,
// growing its output array past the page's values: one corrupt run length takes all memory and kills the process
// (a JavaScript array that cannot grow is not a catchable error). These mirror its reads, without storing values.

/** hyparquet's `readVarInt`: 32-bit arithmetic, as it decodes. */
function hyparquetVarint(r: Bytes): number {
  let result = 0
  let shift = 0
  for (;;) {
    const byte = r.b[r.pos++]
    if (byte === undefined) throw new RangeError("past the end")
    result |= (byte & 0x7f) << shift
    if (!(byte & 0x80)) return result
    shift += 7
  }
}

/**
 * Why hyparquet's RLE / bit-packed reader would run away on `b` from `start` (`undefined`: it stays within `count`
 * values, or stops with an error at the end of the bytes). `levels` receives the values when given.
 */
function runaway(b: Uint8Array, start: number, width: number, count: number, levels?: Uint8Array): string | undefined {
  const r: Bytes = { b, pos: start }
  let seen = 0
  try {
    while (seen < count) {
      const header = hyparquetVarint(r)
      if (header & 1) {
        // Bit-packed writes stop at the output's end (writers do pad the last run); but with no bits to read, the
        // run's count alone drives the loop, which a negative one never ends.
        const values = (header >> 1) << 3
        if (width === 0 && (values < 0 || values > count - seen + 7)) {
          return `a bit-packed run of ${values} zero-width values where ${count - seen} remain`
        }
        if (values < 0) return undefined // read until the bytes run out: an error, not growth
        const taken = Math.min(values, count - seen)
        if (levels !== undefined) {
          for (let i = 0; i < taken; i++) levels[seen + i] = bitsAt(b, r.pos * 8 + i * width, width)
        }
        if (width > 0 || r.pos < b.length) r.pos += Math.max(1, Math.ceil((values * width) / 8))
        seen += taken
      } else {
        const run = header >>> 1
        if (run > count - seen) return `an RLE run of ${run} values where ${count - seen} remain`
        let v = 0
        for (let i = 0; i < (width + 7) >> 3; i++) v += (b[r.pos + i] ?? 0) * 2 ** (8 * i)
        if (levels !== undefined) levels.fill(v, seen, seen + run)
        r.pos += (width + 7) >> 3
        seen += run
      }
    }
  } catch (e) {
    if (e instanceof RangeError) return undefined
    throw e
  }
  return undefined
}

const bitWidth = (level: number) => (level === 0 ? 0 : 32 - Math.clz32(level))

/**
 * Why hyparquet must not decode these pages of a top-level column (`undefined` when it may): a definition level,
 * repetition level, dictionary index or boolean run that would overrun the page's values, read the way hyparquet
 * reads them (data pages v1 and v2; levels as it derives them from the root and the column's schema elements).
 */
export function runsProblem(
  pages: ReadonlyArray<RawPage>,
  element: SchemaElement,
  root: SchemaElement | undefined
): string | undefined {
  const maxRep = (root?.repetition_type === "REPEATED" ? 1 : 0) + (element.repetition_type === "REPEATED" ? 1 : 0)
  const maxDef = element.repetition_type !== "REQUIRED" ? 1 : 0
  const [repWidth, defWidth] = [bitWidth(maxRep), bitWidth(maxDef)]
  const u32 = (b: Uint8Array, at: number) =>
    at + 4 <= b.length ? new DataView(b.buffer, b.byteOffset + at).getUint32(0, true) : -1
  for (const { header, levels, values } of pages) {
    let problem: string | undefined
    if (header.type === "DATA_PAGE" && header.data_page_header !== undefined) {
      const h = header.data_page_header
      const n = h.num_values
      let at = 0
      let nulls = 0
      if (maxRep > 0) {
        problem = runaway(values, at + 4, repWidth, n)
        at += 4 + Math.max(0, u32(values, at))
      }
      if (problem === undefined && maxDef > 0) {
        const defs = new Uint8Array(n)
        problem = runaway(values, at + 4, defWidth, n, defs)
        at += 4 + Math.max(0, u32(values, at))
        for (let i = 0; i < n; i++) if (defs[i] !== maxDef) nulls++
      }
      if (problem === undefined && ["PLAIN_DICTIONARY", "RLE_DICTIONARY", "RLE"].includes(h.encoding)) {
        const width = element.type === "BOOLEAN" ? 1 : (values[at++] ?? 0)
        if (width > 0) problem = runaway(values, element.type === "BOOLEAN" ? at + 4 : at, width, n - nulls)
      }
    } else if (header.type === "DATA_PAGE_V2" && header.data_page_header_v2 !== undefined) {
      const h = header.data_page_header_v2
      // hyparquet reads levels from the whole page body, past their own section if a run says so.
      const size = Math.min(header.compressed_page_size, levels.buffer.byteLength - levels.byteOffset)
      const body = new Uint8Array(levels.buffer, levels.byteOffset, Math.max(0, size))
      if (maxRep === 0 && h.repetition_levels_byte_length !== 0)
        return "repetition levels on a column that does not repeat"
      // (hyparquet would then decompress the values from another offset than these pages hold)
      if (maxDef === 0 && h.definition_levels_byte_length !== 0) return "definition levels on a required column"
      if (maxRep > 0) problem = runaway(body, 0, repWidth, h.num_values)
      if (problem === undefined && maxDef > 0) {
        problem = runaway(body, h.repetition_levels_byte_length, defWidth, h.num_values)
      }
      const n = h.num_values - h.num_nulls
      if (problem === undefined && h.encoding === "RLE") problem = runaway(values, 4, 1, n)
      if (problem === undefined && (h.encoding === "PLAIN_DICTIONARY" || h.encoding === "RLE_DICTIONARY")) {
        problem = runaway(values, 1, values[0] ?? 0, n)
      }
    }
    if (problem !== undefined) return problem
  }
  return undefined
}

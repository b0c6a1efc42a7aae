/**
 * The lake's one column reader: the columns of one row group, each decoded straight into its place in the caller's
 * arrays. Numbers and flags go through the direct page decoder (`page-decoder.ts`); a layout it does not handle, and
 * every string column, go through hyparquet. Every chunk read is checked first (`file-checks.ts`), so neither decoder
 * sizes anything by a corrupt header.
 */
import type { AsyncBuffer, ColumnData, FileMetaData, RowGroup, SchemaTree } from "hyparquet"
import { parquetRead } from "hyparquet"
import { chunkProblem, runsProblem } from "./file-checks.ts"
import { parsers } from "./lake-file.ts"
import { compressors, decodable, decodePages, pagesOf, Unsupported } from "./page-decoder.ts"

/**
 * Where one column of the row group goes: numbers (NaN for nulls) or flags (1/0) into a typed array, text into an
 * array of strings, or nowhere (the chunk is only checked).
 */
export interface Target {
  readonly name: string
  readonly dest: Float64Array | Uint8Array | Array<string> | undefined
}

/** Reads byte ranges, merging neighbours less than 64 KiB apart into one read. */
async function readRanges(
  file: AsyncBuffer,
  ranges: ReadonlyArray<{ readonly start: number; readonly end: number }>
): Promise<Array<Uint8Array>> {
  const order = ranges.map((_, i) => i).sort((x, y) => (ranges[x]?.start ?? 0) - (ranges[y]?.start ?? 0))
  const out = new Array<Uint8Array>(ranges.length)
  const reads: Array<Promise<void>> = []
  for (let i = 0; i < order.length; ) {
    const start = ranges[order[i] as number]?.start ?? 0
    let end = ranges[order[i] as number]?.end ?? 0
    let j = i + 1
    while (j < order.length && (ranges[order[j] as number]?.start ?? 0) - end < 65_536) {
      end = Math.max(end, ranges[order[j] as number]?.end ?? 0)
      j++
    }
    const members = order.slice(i, j)
    reads.push(
      Promise.resolve(file.slice(start, end)).then((buffer) => {
        for (const m of members) {
          const range = ranges[m]
          if (range !== undefined) out[m] = new Uint8Array(buffer, range.start - start, range.end - range.start)
        }
      })
    )
    i = j
  }
  await Promise.all(reads)
  return out
}

/**
 * Copies values hyparquet decoded into `target[offset, limit)`: nulls become NaN (numbers) or 0 (flags), text is
 * kept as text. Returns how many it placed.
 */
function place(
  target: Float64Array | Uint8Array | Array<string>,
  data: ArrayLike<unknown>,
  offset: number,
  limit: number
) {
  const n = Math.max(0, Math.min(data.length, limit - offset))
  if (target instanceof Uint8Array) {
    for (let i = 0; i < n; i++) target[offset + i] = data[i] === true ? 1 : 0
  } else if (target instanceof Float64Array) {
    for (let i = 0; i < n; i++) {
      const v = data[i]
      target[offset + i] = v === null || v === undefined ? Number.NaN : Number(v)
    }
  } else {
    for (let i = 0; i < n; i++) target[offset + i] = String(data[i])
  }
  return n
}

/** Told which columns of a row group went to hyparquet rather than the direct decoder (tests, diagnostics). */
export type OnFallback = (column: string) => void

/**
 * Decodes the target columns of one row group (`rows` rows from file row `fileRow`) into `dest[at, at + rows)`.
 * Returns, per target, how many values it placed (`rows` for a whole column; 0 for a column the group lacks or a
 * target without a destination). Throws on a chunk that is not safe to decode or has values past the group.
 */
export async function readGroup(
  file: AsyncBuffer,
  metadata: FileMetaData,
  group: RowGroup,
  elements: ReadonlyMap<string, SchemaTree>,
  targets: ReadonlyArray<Target>,
  at: number,
  fileRow: number,
  rows: number,
  onFallback?: OnFallback
): Promise<Array<number>> {
  const chunks = targets.map((target) => {
    const meta = group.columns.find(
      (c) => c.meta_data?.path_in_schema.length === 1 && c.meta_data.path_in_schema[0] === target.name
    )?.meta_data
    // As hyparquet locates a chunk: some writers put 0 for "no dictionary page".
    const start = meta === undefined ? 0 : Number(meta.dictionary_page_offset || meta.data_page_offset)
    return { target, meta, start, end: meta === undefined ? 0 : start + Number(meta.total_compressed_size) }
  })
  const located = chunks.filter((c) => c.meta !== undefined && c.end > c.start)
  const bytes = await readRanges(file, located)
  // Every located chunk's page headers are checked before either decoder trusts a size or count in them.
  located.forEach((c, i) => {
    const problem = chunkProblem(bytes[i] ?? new Uint8Array(0), rows)
    if (problem !== undefined) throw new Error(`column ${c.target.name}: ${problem}`)
  })
  const counts = targets.map(() => 0)
  const decoded = await Promise.all(
    located.map(async (c, i) => {
      const element = elements.get(c.target.name)?.element
      const data = bytes[i]
      if (c.meta === undefined || element === undefined || data === undefined) return false
      let pages: Awaited<ReturnType<typeof pagesOf>>
      try {
        pages = await pagesOf(data, c.meta.codec)
      } catch (e) {
        if (e instanceof Unsupported) return false
        throw e
      }
      // Also when hyparquet decodes this chunk below: its RLE reader trusts run lengths.
      const problem = runsProblem(pages, element, metadata.schema[0])
      if (problem !== undefined) throw new Error(`column ${c.target.name}: ${problem}`)
      const dest = c.target.dest
      if (dest === undefined) return true
      if (Array.isArray(dest) || !decodable(element, dest)) return false
      return decodePages(pages, element, dest, at, rows)
    })
  )
  const fallback: Array<number> = []
  chunks.forEach((c, i) => {
    const found = located.indexOf(c)
    if (found < 0) {
      // Not located in this group: hyparquet may still find it (it reads by the schema, not by this search).
      if (c.target.dest !== undefined) fallback.push(i)
    } else if (decoded[found] !== true) fallback.push(i)
    else if (c.target.dest !== undefined) counts[i] = rows
  })
  let overflow: string | undefined
  for (const i of fallback) {
    const t = targets[i] as Target
    const dest = t.dest
    if (dest === undefined) continue
    onFallback?.(t.name)
    await parquetRead({
      file,
      metadata,
      columns: [t.name],
      rowStart: fileRow,
      rowEnd: fileRow + rows,
      compressors,
      parsers,
      onChunk: (chunk: ColumnData) => {
        // Not thrown here: hyparquet calls this from a promise callback nobody awaits.
        if (chunk.rowStart < fileRow) return
        if (chunk.rowStart + chunk.columnData.length > fileRow + rows) {
          overflow ??= `column ${chunk.columnName} has values past row ${fileRow + rows}`
        }
        counts[i] = (counts[i] ?? 0) + place(dest, chunk.columnData, at + chunk.rowStart - fileRow, at + rows)
      }
    })
  }
  if (overflow !== undefined) throw new Error(overflow)
  return counts
}

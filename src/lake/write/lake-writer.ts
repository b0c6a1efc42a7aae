/**
 * A whole lake file: `PAR1`, row groups of up to 100,000 rows (every column chunk in schema order), the footer, its
 * length and `PAR1` again. Pure and synchronous: typed arrays in, bytes out, no state kept between calls, so worker
 * threads can call it on their own slices.
 */
import { constants, zstdCompressSync } from "node:zlib"
import type { DaySlice } from "../file-format.ts"
import { ByteWriter } from "./byte-writer.ts"
import {
  type ChunkWritten,
  chunkContext,
  type LakeColumn,
  type TimestampEncoding,
  writeChunk
} from "./column-chunks.ts"
import { type RowGroupWritten, writeFooter } from "./footer.ts"

export interface LakeWriterOptions {
  /** ZSTD level (`scripts/bench/encode.ts` measured level 1 against zlib's default, 3). */
  readonly level: number
  readonly timestamps: TimestampEncoding
  readonly rowGroupRows: number
  readonly createdBy: string
}

const MAGIC = Uint8Array.of(0x50, 0x41, 0x52, 0x31)

export function writeLakeFile(
  columns: ReadonlyArray<LakeColumn>,
  symbol: string,
  slices: ReadonlyArray<DaySlice>,
  keyValues: ReadonlyArray<readonly [string, string]>,
  options: LakeWriterOptions
): Uint8Array {
  const rows = slices.reduce((n, s) => n + s.batch.ts.length, 0)
  const groupRows = Math.max(1, options.rowGroupRows)
  // The frame checksum is what makes a damaged page an error: zstd copies literal bytes through unchecked, so
  // without it a flipped byte among them decodes to a wrong value (4 bytes a page).
  const params = { [constants.ZSTD_c_compressionLevel]: options.level, [constants.ZSTD_c_checksumFlag]: 1 }
  const compress = (input: Uint8Array): Uint8Array => zstdCompressSync(input, { params })
  // Minute bars compress to a few bytes a row; the buffer doubles when a file needs more.
  const out = new ByteWriter(16 * rows + 4096)
  out.bytes(MAGIC)
  const ctx = chunkContext(out, compress, options.timestamps, symbol, slices, Math.min(rows, groupRows))
  const groups: Array<RowGroupWritten> = []
  for (let from = 0; from < rows; from += groupRows) {
    const to = Math.min(rows, from + groupRows)
    const chunks: Array<ChunkWritten> = columns.map((c) => writeChunk(ctx, c, from, to))
    groups.push({ rows: to - from, chunks })
  }
  const footer = out.pos
  writeFooter(out, columns, rows, groups, keyValues, options.createdBy)
  out.u32le(out.pos - footer)
  out.bytes(MAGIC)
  // An exact-size copy: the caller may transfer its buffer to another thread or keep it.
  return out.written().slice()
}

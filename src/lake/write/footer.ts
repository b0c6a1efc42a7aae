/**
 * The file footer (`FileMetaData`, Thrift compact) with the fields the lake's files have always carried: schema
 * elements with converted and logical types, per chunk the encodings, sizes, offsets, typed statistics and
 * encoding stats, the key-value metadata, `created_by` and type-defined column orders.
 */
import type { ByteWriter } from "./byte-writer.ts"
import type { ChunkWritten, LakeColumn } from "./column-chunks.ts"
import { PhysicalType, ZSTD_CODEC } from "./pages.ts"
import { CompactWriter } from "./thrift.ts"

const REQUIRED = 0
const OPTIONAL = 1
const UTF8 = 0

export interface RowGroupWritten {
  readonly rows: number
  readonly chunks: ReadonlyArray<ChunkWritten>
}

function schemaElement(t: CompactWriter, column: LakeColumn): void {
  const type =
    column.kind === "text"
      ? PhysicalType.BYTE_ARRAY
      : column.kind === "flag"
        ? PhysicalType.BOOLEAN
        : column.kind === "timestamp" || column.kind === "optionalInt64"
          ? PhysicalType.INT64
          : PhysicalType.DOUBLE
  t.i32(1, type)
  t.i32(3, column.kind === "optionalDouble" || column.kind === "optionalInt64" ? OPTIONAL : REQUIRED)
  t.string(4, column.name)
  if (column.kind === "text") {
    t.i32(6, UTF8)
    t.struct(10, () => t.struct(1, () => {})) // LogicalType.STRING
  } else if (column.kind === "timestamp") {
    // LogicalType.TIMESTAMP { isAdjustedToUTC: true, unit: MILLIS }
    t.struct(10, () =>
      t.struct(8, () => {
        t.bool(1, true)
        t.struct(2, () => t.struct(1, () => {}))
      })
    )
  }
}

function columnChunk(t: CompactWriter, c: ChunkWritten): void {
  t.i64(2, c.start)
  t.struct(3, () => {
    t.i32(1, c.type)
    t.listI32(2, c.encodings)
    t.listString(3, [c.name])
    t.i32(4, ZSTD_CODEC)
    t.i64(5, c.rows)
    t.i64(6, c.uncompressed)
    t.i64(7, c.compressed)
    t.i64(9, c.dataPageOffset)
    if (c.dictionaryPageOffset !== undefined) t.i64(11, c.dictionaryPageOffset)
    const s = c.statistics
    t.struct(12, () => {
      t.i64(3, s.nullCount)
      if (s.max !== undefined) t.binary(5, s.max)
      if (s.min !== undefined) t.binary(6, s.min)
      if (s.nanCount !== undefined) t.i64(9, s.nanCount)
    })
    t.listStruct(13, c.pages, (p) => {
      t.i32(1, p.pageType)
      t.i32(2, p.encoding)
      t.i32(3, 1)
    })
  })
}

/** Writes the footer's Thrift bytes (not its length or the closing magic). */
export function writeFooter(
  out: ByteWriter,
  columns: ReadonlyArray<LakeColumn>,
  rows: number,
  groups: ReadonlyArray<RowGroupWritten>,
  keyValues: ReadonlyArray<readonly [string, string]>,
  createdBy: string
): void {
  const t = new CompactWriter(out)
  t.begin()
  t.i32(1, 2)
  t.listStruct(2, [undefined, ...columns], (column) => {
    if (column === undefined) {
      t.string(4, "schema")
      t.i32(5, columns.length)
    } else schemaElement(t, column)
  })
  t.i64(3, rows)
  t.listStruct(4, groups, (g) => {
    t.listStruct(1, g.chunks, (c) => columnChunk(t, c))
    t.i64(
      2,
      g.chunks.reduce((n, c) => n + c.uncompressed, 0)
    )
    t.i64(3, g.rows)
    t.i64(
      6,
      g.chunks.reduce((n, c) => n + c.compressed, 0)
    )
  })
  t.listStruct(5, keyValues, ([key, value]) => {
    t.string(1, key)
    t.string(2, value)
  })
  t.string(6, createdBy)
  // ColumnOrder.TYPE_ORDER for every column: min/max follow each type's own order.
  t.listStruct(7, columns, () => t.struct(1, () => {}))
  t.end()
}

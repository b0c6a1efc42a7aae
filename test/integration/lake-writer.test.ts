/**
 * The lake's direct writer (`encodeBars` over `src/lake/write/`): every schema read back identically by MarketPipe's
 * reader (through its direct page decoder for every number and flag column), hyparquet, DuckDB, polars and arrow-rs;
 * the same footer fields, rows and key-value metadata as the hyparquet-writer encoder it replaced; and `ts`
 * statistics the readers can prune row groups by.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { Effect } from "effect"
import { type FileMetaData, parquetMetadata } from "hyparquet"
import { parquetWriteBuffer } from "hyparquet-writer"
import type { Symbol } from "../../mod.ts"
import { type DaySlice, encodeBars, encodeBarsWith, lakeWriterOptions } from "../../src/lake/file-format.ts"
import { bytesAsLakeFile, readFooter } from "../../src/lake/read/lake-file.ts"
import { legacyEncodeBars } from "../../test/support/legacy-writer.ts"
import { foreignLakeSchema } from "../support/foreign-parquet.ts"
import {
  expectedColumns,
  firstDifference,
  makeSlices,
  type Schema,
  viaArrow,
  viaDuckDb,
  viaHyparquet,
  viaMarketPipe,
  viaPolars
} from "../support/lake-readers.ts"
import { removeDir, tempDir } from "../support/temp.ts"

const dir = tempDir("mp-lake-writer-")
afterAll(() => removeDir(dir))

const symbol = "AAPL" as Symbol
const schemas: ReadonlyArray<Schema> = ["base", "aggregated", "quarantine"]
const metadata = { "marketpipe.job": "job-1", "marketpipe.frame": "1m" }

/** The shapes every schema is written in: past one row group, one row, many small days. */
const shapes: ReadonlyArray<{ name: string; days: number; rowsOn: (d: number) => number }> = [
  { name: "250,000 rows in 250 days (3 row groups)", days: 250, rowsOn: () => 1000 },
  { name: "one row", days: 1, rowsOn: () => 1 },
  { name: "300 days of 1 to 3 rows", days: 300, rowsOn: (d) => 1 + (d % 3) }
]

const numberColumns = ["ts", "open", "high", "low", "close", "volume", "trade_count", "vwap", "is_partial"]

let fileNo = 0
const save = (bytes: Uint8Array): string => {
  const path = join(dir, `f${fileNo++}.parquet`)
  writeFileSync(path, bytes)
  return path
}

const duckTypes = (schema: Schema) => [
  "symbol VARCHAR",
  "ts TIMESTAMP WITH TIME ZONE",
  ...["open", "high", "low", "close", "volume"].map((c) => `${c} DOUBLE`),
  "trade_count BIGINT",
  "vwap DOUBLE",
  "provider VARCHAR",
  "feed VARCHAR",
  ...(schema === "aggregated" ? ["is_partial BOOLEAN"] : []),
  ...(schema === "quarantine" ? ["rule VARCHAR", "severity VARCHAR"] : [])
]

const polarsTypes = (schema: Schema) =>
  [
    "symbol String",
    "ts Datetime(ms,UTC)",
    ...["open", "high", "low", "close", "volume"].map((c) => `${c} Float64`),
    "trade_count Int64",
    "vwap Float64",
    "provider String",
    "feed String",
    ...(schema === "aggregated" ? ["is_partial Bool"] : []),
    ...(schema === "quarantine" ? ["rule String", "severity String"] : [])
  ].map((t) => t.replace(/ (.*)$/u, " DataType($1)"))

describe("lake writer: every reader reads back what was written", () => {
  for (const schema of schemas) {
    for (const shape of shapes) {
      test(`${schema}, ${shape.name}`, async () => {
        const slices = makeSlices(symbol, schema, shape.days, shape.rowsOn)
        const want = expectedColumns(symbol, schema, slices)
        const bytes = encodeBars(symbol, slices, metadata)
        const path = save(bytes)

        // (1) MarketPipe's reader, through its direct decoder: only text columns may go to hyparquet.
        const fellBack = new Set<string>()
        expect(
          firstDifference(want, await viaMarketPipe(symbol, schema, bytes, (c) => fellBack.add(c)))
        ).toBeUndefined()
        expect([...fellBack].filter((c) => numberColumns.includes(c))).toEqual([])
        // (2) hyparquet
        expect(firstDifference(want, await viaHyparquet(schema, bytes))).toBeUndefined()
        // (3) DuckDB: rows, column types, the key-value metadata
        const duck = await viaDuckDb(schema, path)
        expect(firstDifference(want, duck.columns)).toBeUndefined()
        expect(duck.types).toEqual(duckTypes(schema))
        expect(duck.keyValues).toContain(`marketpipe.rows=${want.ts?.length}`)
        // (4) polars
        const polars = await viaPolars(schema, bytes)
        expect(firstDifference(want, polars.columns)).toBeUndefined()
        expect(polars.types).toEqual(polarsTypes(schema))
        // (5) arrow-rs
        const arrow = await viaArrow(schema, bytes)
        expect(firstDifference(want, arrow.columns)).toBeUndefined()
        expect(arrow.keyValues.get("marketpipe.job")).toBe("job-1")
      }, 120_000)
    }
  }

  test("a file with no rows: no row groups, and every reader gets no rows", async () => {
    const bytes = encodeBars(symbol, [], metadata)
    expect(parquetMetadata(bytes.buffer as ArrayBuffer).row_groups).toEqual([])
    expect(
      firstDifference(expectedColumns(symbol, "base", []), await viaMarketPipe(symbol, "base", bytes))
    ).toBeUndefined()
    const duck = await viaDuckDb("base", save(bytes))
    expect(duck.columns.ts).toEqual([])
    expect(duck.keyValues).toContain("marketpipe.min_ts=")
  })

  test("row groups of a few rows, each day split across them, read back whole (small groups, same layout)", async () => {
    const slices = makeSlices(symbol, "aggregated", 12, (d) => 5 + d, 7)
    const bytes = encodeBarsWith(symbol, slices, metadata, { ...lakeWriterOptions, rowGroupRows: 7 })
    expect(parquetMetadata(bytes.buffer as ArrayBuffer).row_groups).toHaveLength(Math.ceil(126 / 7))
    const want = expectedColumns(symbol, "aggregated", slices)
    expect(firstDifference(want, await viaMarketPipe(symbol, "aggregated", bytes))).toBeUndefined()
    expect(firstDifference(want, (await viaDuckDb("aggregated", save(bytes))).columns)).toBeUndefined()
  })

  test("PLAIN timestamps (the benchmark's variant) read back the same through the direct decoder", async () => {
    const slices = makeSlices(symbol, "base", 20, () => 390, 3)
    const bytes = encodeBarsWith(symbol, slices, metadata, { ...lakeWriterOptions, timestamps: "PLAIN", level: 3 })
    const fellBack = new Set<string>()
    const want = expectedColumns(symbol, "base", slices)
    expect(firstDifference(want, await viaMarketPipe(symbol, "base", bytes, (c) => fellBack.add(c)))).toBeUndefined()
    expect(fellBack.has("ts")).toBe(false)
    expect(firstDifference(want, (await viaDuckDb("base", save(bytes))).columns)).toBeUndefined()
  })

  test("the fallback is observable: a column hyparquet-writer wrote as BYTE_STREAM_SPLIT goes to hyparquet", async () => {
    const slices = makeSlices(symbol, "base", 2, () => 50, 5)
    const b = slices[0]?.batch
    if (b === undefined) throw new Error("no slice")
    const bytes = parquetWriteBuffer({
      schema: foreignLakeSchema(false),
      columnData: [
        { name: "symbol", data: new Array<string>(50).fill(symbol) },
        { name: "ts", data: BigInt64Array.from(b.ts, (t) => BigInt(t)) },
        { name: "open", data: b.open, encoding: "BYTE_STREAM_SPLIT" },
        ...(["high", "low", "close", "volume"] as const).map((c) => ({ name: c, data: b[c] })),
        { name: "trade_count", data: Array.from(b.tradeCount, (x) => (Number.isNaN(x) ? null : BigInt(x))) },
        { name: "vwap", data: Array.from(b.vwap, (x) => (Number.isNaN(x) ? null : x)) },
        { name: "provider", data: new Array<string>(50).fill("fake") },
        { name: "feed", data: new Array<string>(50).fill("sip") }
      ]
    })
    const fellBack = new Set<string>()
    await viaMarketPipe(symbol, "base", new Uint8Array(bytes), (c) => fellBack.add(c))
    expect(fellBack.has("open")).toBe(true)
    expect(fellBack.has("high")).toBe(false)
  })

  test("values the writer cannot hold exactly are refused, not rounded", () => {
    for (const [column, value] of [
      ["ts", 1.5],
      ["ts", 2 ** 60],
      ["tradeCount", 2.5]
    ] as const) {
      const slices = makeSlices(symbol, "base", 1, () => 3)
      const b = slices[0]?.batch
      if (b !== undefined) b[column][1] = value
      expect(() => encodeBars(symbol, slices, {})).toThrow(/not an integer in range/)
    }
  })
})

const textColumns = ["symbol", "provider", "feed", "rule", "severity"]

/**
 * The footer without what depends on compressed sizes (sizes and offsets), for comparing two writers; and without
 * the encodings of number and flag columns, which hyparquet-writer chose per chunk by trying a dictionary (or RLE
 * for flags) on the values, where the lake now writes fixed ones (`encodingsProblem`).
 */
function footerShape(md: FileMetaData) {
  return {
    ...md,
    metadata_length: undefined,
    row_groups: md.row_groups.map((g) => ({
      ...g,
      total_byte_size: undefined,
      total_compressed_size: undefined,
      columns: g.columns.map((c) => {
        const text = textColumns.includes(c.meta_data?.path_in_schema[0] ?? "")
        return {
          ...c,
          file_offset: undefined,
          meta_data: c.meta_data && {
            ...c.meta_data,
            total_compressed_size: undefined,
            total_uncompressed_size: undefined,
            data_page_offset: undefined,
            dictionary_page_offset: c.meta_data.dictionary_page_offset === undefined ? "none" : "set",
            ...(text ? {} : { encodings: undefined, encoding_stats: undefined, dictionary_page_offset: undefined })
          }
        }
      })
    }))
  }
}

/** Why a chunk of the new file is not in the lake's fixed encodings (`undefined`: every one is). */
function encodingsProblem(md: FileMetaData): string | undefined {
  for (const g of md.row_groups) {
    for (const c of g.columns) {
      const m = c.meta_data
      const name = m?.path_in_schema[0] ?? ""
      const want = textColumns.includes(name)
        ? "PLAIN,RLE_DICTIONARY DICTIONARY_PAGE:PLAIN,DATA_PAGE_V2:RLE_DICTIONARY"
        : name === "ts"
          ? "DELTA_BINARY_PACKED DATA_PAGE_V2:DELTA_BINARY_PACKED"
          : "PLAIN DATA_PAGE_V2:PLAIN"
      const got = `${m?.encodings} ${m?.encoding_stats?.map((e) => `${e.page_type}:${e.encoding}`)}`
      if (got !== want) return `${name}: ${got}, not ${want}`
    }
  }
  return undefined
}

/** Why the chunks' offsets and sizes do not tile the file (`undefined`: they do). */
function layoutProblem(md: FileMetaData, size: number): string | undefined {
  let at = 4
  for (const [gi, g] of md.row_groups.entries()) {
    let compressed = 0
    let uncompressed = 0
    for (const c of g.columns) {
      const m = c.meta_data
      if (m === undefined) return `group ${gi}: a chunk without metadata`
      const start = Number(m.dictionary_page_offset ?? m.data_page_offset)
      if (start !== at || Number(c.file_offset) !== at)
        return `group ${gi} ${m.path_in_schema}: starts at ${start}, not ${at}`
      if (m.dictionary_page_offset !== undefined && !(m.data_page_offset > m.dictionary_page_offset)) {
        return `group ${gi} ${m.path_in_schema}: data page before its dictionary`
      }
      if (Number(m.num_values) !== Number(g.num_rows)) return `group ${gi} ${m.path_in_schema}: ${m.num_values} values`
      at += Number(m.total_compressed_size)
      compressed += Number(m.total_compressed_size)
      uncompressed += Number(m.total_uncompressed_size)
    }
    if (Number(g.total_compressed_size) !== compressed || Number(g.total_byte_size) !== uncompressed) {
      return `group ${gi}: totals ${g.total_compressed_size} / ${g.total_byte_size}, chunks sum to ${compressed} / ${uncompressed}`
    }
  }
  const footer = size - 8 - (md.metadata_length ?? 0)
  return at === footer ? undefined : `chunks end at ${at}, the footer starts at ${footer}`
}

describe("lake writer: the same files as the hyparquet-writer encoder it replaced", () => {
  for (const schema of schemas) {
    test(`${schema}: same footer fields, rows, types and key-value metadata (DuckDB); offsets tile the file`, async () => {
      const slices: Array<DaySlice> = makeSlices(symbol, schema, 120, (d) => (d === 7 ? 1 : 900 + d), 11)
      const fresh = encodeBars(symbol, slices, metadata)
      const old = legacyEncodeBars(symbol, slices, metadata)
      const [freshMd, oldMd] = [fresh, old].map((b) => parquetMetadata(b.buffer as ArrayBuffer)) as [
        FileMetaData,
        FileMetaData
      ]
      expect(freshMd.row_groups).toHaveLength(2)
      expect(footerShape(freshMd)).toEqual(footerShape(oldMd))
      expect(layoutProblem(freshMd, fresh.length)).toBeUndefined()
      expect(encodingsProblem(freshMd)).toBeUndefined()
      const [a, b] = await Promise.all([viaDuckDb(schema, save(fresh)), viaDuckDb(schema, save(old))])
      expect(firstDifference(b.columns, a.columns)).toBeUndefined()
      expect(a.types).toEqual(b.types)
      expect(a.keyValues).toEqual(b.keyValues)
    }, 120_000)
  }

  test("ts statistics are each row group's first and last bar, as the reader's footer parse gives them", async () => {
    const slices = makeSlices(symbol, "base", 250, () => 1000, 2)
    const md = await Effect.runPromise(readFooter(bytesAsLakeFile("x", encodeBars(symbol, slices, {})).file))
    const ts = slices.flatMap((s) => Array.from(s.batch.ts))
    const bounds = md.row_groups.map((g) => {
      const stats = g.columns.find((c) => c.meta_data?.path_in_schema[0] === "ts")?.meta_data?.statistics
      return [stats?.min_value, stats?.max_value]
    })
    expect(bounds).toEqual([
      [ts[0], ts[99_999]],
      [ts[100_000], ts[199_999]],
      [ts[200_000], ts[249_999]]
    ])
  })
})

/**
 * The lake reader fuzz corpus and byte mutations (see `lake-reader.test.ts`): real lake files in every layout the
 * reader meets, and mutations from bit flips to re-encoded footers and page headers.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { gzipSync, zstdCompressSync } from "node:zlib"
import { Arbitrary, Effect } from "effect"
import { type FileMetaData, type PageHeader, parquetMetadata } from "hyparquet"
import { parquetHeader } from "hyparquet/src/column.js"
import { ByteWriter, parquetWriteBuffer } from "hyparquet-writer"
import { writePageHeader } from "hyparquet-writer/src/datapage.js"
import { writeMetadata } from "hyparquet-writer/src/metadata.js"
import { type BarBatch, emptyBatch, makeCalendar, type Symbol } from "../../mod.ts"
import { prng } from "../../plugins/fake/generate.ts"
import { tradingDayOf } from "../../src/domain/partition.ts"
import type { Timeframe } from "../../src/domain/timeframe.ts"
import { fileGranularity } from "../../src/lake/layout.ts"
import { makeParquetSink } from "../../src/lake/parquet-sink.ts"
import { decodeBars } from "../../src/lake/read/decode-file.ts"
import { foreignLakeSchema } from "../support/foreign-parquet.ts"
import { duckdb } from "../support/lake.ts"
import { anyIndex, int, oneOf, union } from "./runs.ts"

const calendar = makeCalendar()
const MIN = 60_000

// ---------------------------------------------------------------------------------------------------------------
// The corpus

export interface Base {
  readonly name: string
  readonly frame: Timeframe
  readonly symbol: Symbol
  readonly period: string
  readonly bytes: Uint8Array
  /** The clean file as `decodeBars` reads it: the oracle for unmutated cases. */
  readonly rows: BarBatch
}

/** A deterministic PRNG (the fake provider's mulberry32): corpus values and garbage bytes. */
export { prng }

/** Bars of `days`, one every `stepMs` inside each regular (or extended) session, from a seeded walk. */
function barsOf(symbol: Symbol, days: ReadonlyArray<string>, stepMs: number, seed: number, extended = false) {
  const rand = prng(seed)
  const ts: Array<number> = []
  for (const day of days) {
    const s = calendar.session(day, extended ? "extended" : "regular")
    if (s !== undefined) for (let t = s.open; t < s.close; t += stepMs) ts.push(t)
  }
  const b = emptyBatch(symbol, ts.length)
  let price = 100
  ts.forEach((t, i) => {
    price *= 1 + (rand() - 0.5) / 100
    b.ts[i] = t
    b.open[i] = Math.round(price * 100) / 100
    b.high[i] = b.open[i] + 1
    b.low[i] = b.open[i] - 1
    b.close[i] = b.open[i] + 0.5
    b.volume[i] = Math.floor(rand() * 10_000)
    b.tradeCount[i] = rand() < 0.2 ? Number.NaN : Math.floor(rand() * 100)
    b.vwap[i] = rand() < 0.2 ? Number.NaN : b.open[i] + 0.25
  })
  return b
}

const withPartial = (b: BarBatch, every: number): BarBatch => ({
  ...b,
  partial: Uint8Array.from({ length: b.ts.length }, (_, i) => (i % every === every - 1 ? 1 : 0))
})

/** Day slices of a batch, for the sink. */
function slices(b: BarBatch) {
  const byDay = new Map<string, Array<number>>()
  b.ts.forEach((t, i) => {
    const day = tradingDayOf(t)
    byDay.set(day, [...(byDay.get(day) ?? []), i])
  })
  return [...byDay].map(([day, rows]) => {
    const part = emptyBatch(b.symbol, rows.length)
    const out = b.partial === undefined ? part : { ...part, partial: new Uint8Array(rows.length) }
    rows.forEach((r, k) => {
      for (const c of ["ts", "open", "high", "low", "close", "volume", "tradeCount", "vwap"] as const) {
        out[c][k] = b[c][r] as number
      }
      if (out.partial !== undefined) out.partial[k] = b.partial?.[r] ?? 0
    })
    return { day, batch: out, provider: "fuzz", feed: "fuzz" }
  })
}

const periodOf = (frame: Timeframe, day: string) =>
  fileGranularity(frame) === "month" ? day.slice(0, 7) : day.slice(0, 4)

async function sinkFile(dir: string, name: string, frame: Timeframe, b: BarBatch): Promise<Omit<Base, "rows">> {
  const sink = makeParquetSink(dir)
  const period = periodOf(frame, tradingDayOf(b.ts[0] as number))
  const written = await Effect.runPromise(sink.writeDays({ frame, symbol: b.symbol, period }, slices(b), {}))
  return { name, frame, symbol: b.symbol, period, bytes: new Uint8Array(readFileSync(join(dir, written.file))) }
}

/** The same bars through hyparquet-writer in another layout. */
function foreignFile(
  name: string,
  frame: Timeframe,
  b: BarBatch,
  layout: {
    codec: "ZSTD" | "SNAPPY" | "GZIP" | "UNCOMPRESSED"
    pageSize: number
    rowGroupSize: number
    plainTs: boolean
  }
): Omit<Base, "rows"> {
  const n = b.ts.length
  const partial = b.partial !== undefined
  const bytes = parquetWriteBuffer({
    schema: foreignLakeSchema(partial),
    columnData: [
      { name: "symbol", data: new Array<string>(n).fill(b.symbol) },
      {
        name: "ts",
        data: BigInt64Array.from(Array.from(b.ts, (t) => BigInt(t))),
        ...(layout.plainTs ? { encoding: "PLAIN" as const } : {})
      },
      { name: "open", data: b.open, encoding: "BYTE_STREAM_SPLIT" },
      { name: "high", data: b.high },
      { name: "low", data: b.low },
      { name: "close", data: b.close },
      { name: "volume", data: b.volume },
      { name: "trade_count", data: Array.from(b.tradeCount, (x) => (Number.isNaN(x) ? null : BigInt(x))) },
      { name: "vwap", data: Array.from(b.vwap, (x) => (Number.isNaN(x) ? null : x)) },
      { name: "provider", data: new Array<string>(n).fill("fuzz") },
      { name: "feed", data: new Array<string>(n).fill("fuzz") },
      ...(partial ? [{ name: "is_partial", data: Array.from(b.partial ?? [], (x) => x === 1) }] : [])
    ],
    codec: layout.codec,
    compressors: {
      ZSTD: (input: Uint8Array) => new Uint8Array(zstdCompressSync(input)),
      GZIP: (input: Uint8Array) => new Uint8Array(gzipSync(input))
    },
    rowGroupSize: layout.rowGroupSize,
    pageSize: layout.pageSize
  })
  return {
    name,
    frame,
    symbol: b.symbol,
    period: periodOf(frame, tradingDayOf(b.ts[0] as number)),
    bytes: new Uint8Array(bytes)
  }
}

/** The corpus, once `buildCorpus` has run. */
export const corpus: Array<Base> = []

const SYM = (s: string) => s as Symbol

/** Writes the corpus files (in `corpusDir`) and fills `corpus`. */
export async function buildCorpus(corpusDir: string): Promise<void> {
  const march = ["2024-03-07", "2024-03-08", "2024-03-11"]
  const oneMinute = barsOf(SYM("AAPL"), march, MIN, 1)
  const fiveMinutes = withPartial(barsOf(SYM("MSFT"), march, 5 * MIN, 2), 7)
  const daily = barsOf(SYM("SPY"), ["2024-01-02", "2024-01-03", "2024-02-01", "2024-03-08", "2024-06-03"], 390 * MIN, 3)
  const extended = barsOf(SYM("QQQ"), ["2024-03-08"], MIN, 4, true)
  const files: Array<Omit<Base, "rows">> = [
    await sinkFile(corpusDir, "sink 1m", "1m", oneMinute),
    await sinkFile(corpusDir, "sink 5m partial", "5m", fiveMinutes),
    await sinkFile(corpusDir, "sink 1d year", "1d", daily),
    await sinkFile(corpusDir, "sink 1m extended", "1m", extended),
    await sinkFile(corpusDir, "sink one row", "1m", barsOf(SYM("ONE"), ["2024-03-08"], 390 * MIN, 5)),
    foreignFile("hyparquet zstd small pages", "5m", fiveMinutes, {
      codec: "ZSTD",
      pageSize: 512,
      rowGroupSize: 60,
      plainTs: true
    }),
    foreignFile(
      "hyparquet snappy",
      "1m",
      { ...oneMinute, symbol: SYM("SNAP") },
      {
        codec: "SNAPPY",
        pageSize: 2048,
        rowGroupSize: 400,
        plainTs: false
      }
    ),
    foreignFile(
      "hyparquet gzip",
      "1m",
      { ...oneMinute, symbol: SYM("GZ") },
      {
        codec: "GZIP",
        pageSize: 4096,
        rowGroupSize: 100_000,
        plainTs: true
      }
    ),
    foreignFile(
      "hyparquet uncompressed",
      "5m",
      { ...fiveMinutes, symbol: SYM("RAW") },
      {
        codec: "UNCOMPRESSED",
        pageSize: 1024,
        rowGroupSize: 100,
        plainTs: false
      }
    )
  ]
  // DuckDB: data pages v1, its own dictionary and compression choices.
  const source = join(corpusDir, "source.parquet")
  writeFileSync(source, (files[5] as Omit<Base, "rows">).bytes)
  for (const [symbol, compression] of [
    ["DUCKZ", "zstd"],
    ["DUCKS", "snappy"]
  ] as const) {
    const out = join(corpusDir, `${symbol}.parquet`)
    await duckdb(
      `COPY (SELECT '${symbol}' AS symbol, ts, open, high, low, close, volume, trade_count, vwap, provider, feed, is_partial
       FROM read_parquet('${source}') ORDER BY ts) TO '${out}' (FORMAT parquet, COMPRESSION ${compression}, ROW_GROUP_SIZE 200)`
    )
    files.push({
      name: `duckdb ${compression}`,
      frame: "5m",
      symbol: SYM(symbol),
      period: "2024-03",
      bytes: new Uint8Array(readFileSync(out))
    })
  }
  for (const f of files) corpus.push({ ...f, rows: (await decodeBars(f.symbol, f.bytes)).batch })
}

// ---------------------------------------------------------------------------------------------------------------
// Byte mutations

export type ByteMutation =
  | { readonly kind: "flip"; readonly at: number; readonly bit: number }
  | { readonly kind: "set"; readonly at: number; readonly value: number }
  | { readonly kind: "zero" | "delete" | "duplicate"; readonly at: number; readonly length: number }
  | { readonly kind: "truncate"; readonly at: number }
  | { readonly kind: "insert"; readonly at: number; readonly length: number; readonly seed: number }
  | { readonly kind: "footerLength"; readonly value: number }
  | { readonly kind: "spliceFooter"; readonly from: number }
  | { readonly kind: "metadata"; readonly slot: number; readonly value: number; readonly choice: number }
  | {
      readonly kind: "pageHeader"
      readonly column: number
      readonly page: number
      readonly slot: number
      readonly value: number
      readonly choice: number
    }
  | { readonly kind: "garbage"; readonly length: number; readonly seed: number; readonly magic: boolean }

/** Values for length, count and offset fields: zero, signs, sizes around 2^31 and 2^53, and nearby sizes. */
const hostileSizes = [
  0,
  1,
  2,
  3,
  7,
  8,
  64,
  255,
  4096,
  65_535,
  1_000_000,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 40,
  2 ** 53 - 1,
  -1,
  -2,
  -(2 ** 31),
  -(2 ** 53)
] as const

const sizeArb = union([oneOf(hostileSizes), oneOf(hostileSizes), int(0, 100_000), int(-10, 10)])

const pageHeaderMutation: Arbitrary.Arbitrary<ByteMutation> = Arbitrary.map(
  Arbitrary.all([anyIndex, int(0, 3), anyIndex, sizeArb, anyIndex]),
  ([column, page, slot, value, choice]) => ({ kind: "pageHeader", column, page, slot, value, choice })
)

export const mutationArb: Arbitrary.Arbitrary<ByteMutation> = union<ByteMutation>([
  Arbitrary.map(Arbitrary.all([anyIndex, int(0, 7)]), ([at, bit]) => ({ kind: "flip", at, bit })),
  Arbitrary.map(
    Arbitrary.all([anyIndex, union([int(0, 255), oneOf([0, 0xff, 0x7f, 0x80] as const)])]),
    ([at, value]) => ({
      kind: "set",
      at,
      value
    })
  ),
  Arbitrary.map(Arbitrary.all([anyIndex, union([int(1, 16), int(1, 4096)])]), ([at, length]) => ({
    kind: "zero",
    at,
    length
  })),
  Arbitrary.map(Arbitrary.all([anyIndex, int(1, 512)]), ([at, length]) => ({ kind: "delete", at, length })),
  Arbitrary.map(Arbitrary.all([anyIndex, int(1, 512)]), ([at, length]) => ({ kind: "duplicate", at, length })),
  Arbitrary.map(anyIndex, (at) => ({ kind: "truncate", at })),
  Arbitrary.map(Arbitrary.all([anyIndex, int(1, 64), anyIndex]), ([at, length, seed]) => ({
    kind: "insert",
    at,
    length,
    seed
  })),
  Arbitrary.map(sizeArb, (value) => ({ kind: "footerLength", value })),
  Arbitrary.map(anyIndex, (from) => ({ kind: "spliceFooter", from })),
  Arbitrary.map(Arbitrary.all([anyIndex, sizeArb, anyIndex]), ([slot, value, choice]) => ({
    kind: "metadata",
    slot,
    value,
    choice
  })),
  Arbitrary.map(Arbitrary.all([anyIndex, sizeArb, anyIndex]), ([slot, value, choice]) => ({
    kind: "metadata",
    slot,
    value,
    choice
  })),
  // Listed twice: page headers size every decoder allocation, so they get twice the share of mutations.
  pageHeaderMutation,
  pageHeaderMutation,
  Arbitrary.map(
    Arbitrary.all([union([int(0, 64), int(0, 20_000)]), anyIndex, oneOf([true, false] as const)]),
    ([length, seed, magic]) => ({
      kind: "garbage",
      length,
      seed,
      magic
    })
  )
])

const MAGIC = [0x50, 0x41, 0x52, 0x31] // PAR1

const footerStart = (b: Uint8Array): number | undefined => {
  if (b.length < 12) return undefined
  const len = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(b.length - 8, true)
  const start = b.length - 8 - len
  return start >= 4 ? start : undefined
}

const concat = (...parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

const metadataOf = (b: Uint8Array): FileMetaData | undefined => {
  try {
    return parquetMetadata(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer, {
      geoparquet: false
    })
  } catch {
    return undefined
  }
}

const codecs = ["UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW", "BOGUS"] as const
const types = [
  "BOOLEAN",
  "INT32",
  "INT64",
  "INT96",
  "FLOAT",
  "DOUBLE",
  "BYTE_ARRAY",
  "FIXED_LEN_BYTE_ARRAY",
  "BOGUS"
] as const
const repetitions = ["REQUIRED", "OPTIONAL", "REPEATED", "BOGUS"] as const
const encodings = [
  "PLAIN",
  "PLAIN_DICTIONARY",
  "RLE",
  "BIT_PACKED",
  "DELTA_BINARY_PACKED",
  "DELTA_LENGTH_BYTE_ARRAY",
  "DELTA_BYTE_ARRAY",
  "RLE_DICTIONARY",
  "BYTE_STREAM_SPLIT",
  "BOGUS"
] as const
const pageTypes = ["DATA_PAGE", "INDEX_PAGE", "DICTIONARY_PAGE", "DATA_PAGE_V2", "BOGUS"] as const

/** The names a footer or page-header enum field is set to (real ones and one no reader knows). */
const enumNames = { codec: codecs, type: types, repetition: repetitions, encoding: encodings, pageType: pageTypes }

type Obj = Record<string, unknown>
/** A settable field: an object and a key, with the kind of value it holds. */
interface Slot {
  readonly obj: Obj
  readonly key: string
  readonly kind: "int" | "bigint" | "codec" | "type" | "repetition" | "encoding" | "pageType" | "bool" | "stat"
}

/** Every field of the footer worth corrupting. */
function metadataSlots(md: FileMetaData): Array<Slot> {
  const out: Array<Slot> = [{ obj: md as unknown as Obj, key: "num_rows", kind: "bigint" }]
  for (const e of md.schema) {
    const o = e as unknown as Obj
    out.push({ obj: o, key: "num_children", kind: "int" }, { obj: o, key: "type", kind: "type" })
    out.push({ obj: o, key: "repetition_type", kind: "repetition" }, { obj: o, key: "type_length", kind: "int" })
  }
  for (const g of md.row_groups) {
    const go = g as unknown as Obj
    out.push({ obj: go, key: "num_rows", kind: "bigint" }, { obj: go, key: "total_byte_size", kind: "bigint" })
    for (const c of g.columns) {
      const m = c.meta_data as unknown as Obj | undefined
      if (m === undefined) continue
      for (const key of ["num_values", "total_uncompressed_size", "total_compressed_size", "data_page_offset"]) {
        out.push({ obj: m, key, kind: "bigint" })
      }
      out.push({ obj: m, key: "dictionary_page_offset", kind: "bigint" }, { obj: m, key: "codec", kind: "codec" })
      out.push({ obj: m, key: "type", kind: "type" })
      const stats = m.statistics as Obj | undefined
      if (stats !== undefined)
        out.push({ obj: stats, key: "min_value", kind: "stat" }, { obj: stats, key: "max_value", kind: "stat" })
    }
  }
  return out
}

/** Every field of a page header worth corrupting. */
function headerSlots(h: PageHeader): Array<Slot> {
  const o = h as unknown as Obj
  const out: Array<Slot> = [
    { obj: o, key: "type", kind: "pageType" },
    { obj: o, key: "uncompressed_page_size", kind: "int" },
    { obj: o, key: "compressed_page_size", kind: "int" }
  ]
  const v1 = h.data_page_header as unknown as Obj | undefined
  if (v1 !== undefined) {
    out.push({ obj: v1, key: "num_values", kind: "int" }, { obj: v1, key: "encoding", kind: "encoding" })
    out.push({ obj: v1, key: "definition_level_encoding", kind: "encoding" })
  }
  const v2 = h.data_page_header_v2 as unknown as Obj | undefined
  if (v2 !== undefined) {
    for (const key of [
      "num_values",
      "num_nulls",
      "num_rows",
      "definition_levels_byte_length",
      "repetition_levels_byte_length"
    ]) {
      out.push({ obj: v2, key, kind: "int" })
    }
    out.push({ obj: v2, key: "encoding", kind: "encoding" }, { obj: v2, key: "is_compressed", kind: "bool" })
  }
  const dict = h.dictionary_page_header as unknown as Obj | undefined
  if (dict !== undefined)
    out.push({ obj: dict, key: "num_values", kind: "int" }, { obj: dict, key: "encoding", kind: "encoding" })
  return out
}

function setSlot(slot: Slot, value: number, choice: number, fileSize: number): void {
  // A corrupt header can hold a number where a struct belongs: nothing to set then.
  if (typeof slot.obj !== "object" || slot.obj === null || Object.isFrozen(slot.obj)) return
  const current = slot.obj[slot.key]
  const near = typeof current === "bigint" ? Number(current) : typeof current === "number" ? current : 0
  // Half the time a value near the current one or the file size: plausible corruption, not only absurd sizes.
  const v = choice % 4 === 0 ? near + (value % 7) - 3 : choice % 4 === 1 ? fileSize + (value % 5) - 2 : value
  switch (slot.kind) {
    case "int":
      slot.obj[slot.key] = Math.trunc(v)
      return
    case "bigint":
      slot.obj[slot.key] = BigInt(Math.trunc(v))
      return
    case "codec":
    case "type":
    case "repetition":
    case "encoding":
    case "pageType": {
      const names = enumNames[slot.kind]
      slot.obj[slot.key] = names[choice % names.length]
      return
    }
    case "bool":
      slot.obj[slot.key] = choice % 2 === 0
      return
    case "stat":
      slot.obj[slot.key] = choice % 3 === 0 ? new Date(v) : choice % 3 === 1 ? BigInt(Math.trunc(v)) : v
      return
  }
}

function encodeFooter(md: FileMetaData): Uint8Array | undefined {
  try {
    const w = new ByteWriter()
    writeMetadata(w, md as never)
    w.appendUint32(0x31524150)
    return new Uint8Array(w.getBuffer())
  } catch {
    return undefined
  }
}

/** The page headers of a column chunk: start offset, header length, the header. */
function pagesOf(b: Uint8Array, start: number, end: number) {
  const out: Array<{ at: number; length: number; header: PageHeader }> = []
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength)
  let at = start
  while (at < end && at < b.length && out.length < 8) {
    const reader = { view, offset: at }
    let header: PageHeader
    try {
      header = parquetHeader(reader)
    } catch {
      break
    }
    out.push({ at, length: reader.offset - at, header })
    const size = header.compressed_page_size
    if (typeof size !== "number" || !(size > 0)) break
    at = reader.offset + size
  }
  return out
}

export function applyMutation(b: Uint8Array, m: ByteMutation): Uint8Array {
  const at = (x: number) => x % (b.length + 1)
  switch (m.kind) {
    case "flip": {
      if (b.length === 0) return b
      const out = b.slice()
      const i = m.at % b.length
      out[i] = (out[i] as number) ^ (1 << m.bit)
      return out
    }
    case "set": {
      if (b.length === 0) return b
      const out = b.slice()
      out[m.at % b.length] = m.value
      return out
    }
    case "zero": {
      const out = b.slice()
      out.fill(0, at(m.at), at(m.at) + m.length)
      return out
    }
    case "delete":
      return concat(b.subarray(0, at(m.at)), b.subarray(at(m.at) + m.length))
    case "duplicate":
      return concat(
        b.subarray(0, at(m.at) + m.length),
        b.subarray(at(m.at), at(m.at) + m.length),
        b.subarray(at(m.at) + m.length)
      )
    case "truncate":
      return b.subarray(0, m.at % Math.max(1, b.length))
    case "insert": {
      const rand = prng(m.seed)
      return concat(
        b.subarray(0, at(m.at)),
        Uint8Array.from({ length: m.length }, () => Math.floor(rand() * 256)),
        b.subarray(at(m.at))
      )
    }
    case "footerLength": {
      if (b.length < 8) return b
      const out = b.slice()
      new DataView(out.buffer).setUint32(out.length - 8, m.value >>> 0, true)
      return out
    }
    case "spliceFooter": {
      const other = corpus[m.from % corpus.length] as Base
      const mine = footerStart(b)
      const theirs = footerStart(other.bytes)
      if (mine === undefined || theirs === undefined) return b
      return concat(b.subarray(0, mine), other.bytes.subarray(theirs))
    }
    case "metadata": {
      const md = metadataOf(b)
      const start = footerStart(b)
      if (md === undefined || start === undefined) return b
      const slots = metadataSlots(md)
      setSlot(slots[m.slot % slots.length] as Slot, m.value, m.choice, b.length)
      const footer = encodeFooter(md)
      return footer === undefined ? b : concat(b.subarray(0, start), footer)
    }
    case "pageHeader": {
      const md = metadataOf(b)
      const columns = md?.row_groups.flatMap((g) => g.columns) ?? []
      const meta = columns[m.column % Math.max(1, columns.length)]?.meta_data
      if (meta === undefined) return b
      const start = Number(meta.dictionary_page_offset ?? meta.data_page_offset)
      const pages = pagesOf(b, start, start + Number(meta.total_compressed_size))
      const page = pages[m.page % Math.max(1, pages.length)]
      if (page === undefined) return b
      const slots = headerSlots(page.header)
      setSlot(slots[m.slot % slots.length] as Slot, m.value, m.choice, b.length)
      try {
        const w = new ByteWriter()
        writePageHeader(w, page.header as never)
        return concat(b.subarray(0, page.at), new Uint8Array(w.getBuffer()), b.subarray(page.at + page.length))
      } catch {
        return b
      }
    }
    case "garbage": {
      const rand = prng(m.seed)
      const out = Uint8Array.from({ length: m.length }, () => Math.floor(rand() * 256))
      if (m.magic && out.length >= 12) {
        out.set(MAGIC, 0)
        out.set(MAGIC, out.length - 4)
      }
      return out
    }
  }
}

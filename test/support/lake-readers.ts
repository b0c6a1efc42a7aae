/**
 * Lake files read back by five independent readers, each into the same columnar shape (`Columns`: per column, one
 * value per row; `ts` as epoch ms, nulls as null, flags as booleans): MarketPipe's own reader, hyparquet, DuckDB,
 * polars (nodejs-polars) and arrow-rs (parquet-wasm). Plus day slices to write, and what they should read back as.
 */
import { DuckDBInstance } from "@duckdb/node-api"
import { parquetReadObjects } from "hyparquet"
import { compressors } from "hyparquet-compressors"
import { Compression, readParquet, WriterPropertiesBuilder, writeParquet } from "parquet-wasm"
import { type BarBatch, emptyBatch, type Symbol } from "../../mod.ts"
import { prng } from "../../plugins/fake/generate.ts"
import type { DaySlice } from "../../src/lake/file-format.ts"
import { decodeBars } from "../../src/lake/read/decode-file.ts"

export type Value = string | number | boolean | null
export type Columns = Record<string, Array<Value>>
export type Schema = "base" | "aggregated" | "quarantine"

export const columnNames = (schema: Schema): Array<string> => [
  ...["symbol", "ts", "open", "high", "low", "close", "volume", "trade_count", "vwap", "provider", "feed"],
  ...(schema === "aggregated" ? ["is_partial"] : schema === "quarantine" ? ["rule", "severity"] : [])
]

const DAY = 86_400_000
const rulesSeen = ["high_below_low", "zero_volume", "high_below_low,zero_volume", "ts_misaligned"]

/**
 * `days` consecutive days from 2023-01-02 of `rowsOn(day)` minute bars each (at most 1,440), with values from a
 * seeded walk that include zeros, negatives and integers past 2^32; ~20% of trade counts and vwaps null, and whole
 * days without any. Provider and feed change from day to day.
 */
export function makeSlices(
  symbol: Symbol,
  schema: Schema,
  days: number,
  rowsOn: (day: number) => number,
  seed = 1
): Array<DaySlice> {
  const rand = prng(seed)
  const t0 = Date.UTC(2023, 0, 2, 9, 0)
  return Array.from({ length: days }, (_, d) => {
    const n = rowsOn(d)
    const b: BarBatch =
      schema === "aggregated" ? { ...emptyBatch(symbol, n), partial: new Uint8Array(n) } : emptyBatch(symbol, n)
    const nullDay = d % 5 === 3
    const denseDay = d % 5 === 4
    for (let i = 0; i < n; i++) {
      const ts = t0 + d * DAY + i * 60_000
      // A slow wave, not a walk: prices stay varied (a walk pinned at a floor would be a handful of values).
      const open = i === 0 ? 0 : Math.round((100 + 20 * Math.sin(ts / 3e8) + rand()) * 100) / 100
      b.ts[i] = ts
      b.open[i] = open
      b.high[i] = open + rand()
      b.low[i] = d === 1 && i === 1 ? -0 : open - rand()
      b.close[i] = rand() < 0.01 ? -1.5e300 : open + 0.5
      b.volume[i] = Math.floor(rand() * 1e6)
      b.tradeCount[i] = nullDay || (!denseDay && rand() < 0.2) ? Number.NaN : Math.floor(rand() * 2 ** 40) - 2 ** 20
      b.vwap[i] = nullDay || (!denseDay && rand() < 0.2) ? Number.NaN : open + 0.25
      if (b.partial !== undefined) b.partial[i] = d % 3 === 0 ? 0 : rand() < 0.1 ? 1 : 0
    }
    return {
      day: new Date(t0 + d * DAY).toISOString().slice(0, 10),
      batch: b,
      provider: ["fake", "alpaca", "polygon", "zé-feed"][Math.floor(d / 2) % 4] as string,
      feed: ["sip", "iex"][d % 2] as string,
      ...(schema === "quarantine"
        ? { rules: Array.from({ length: n }, (_, i) => rulesSeen[(i * 7 + d) % 4] as string) }
        : {})
    }
  })
}

/** What the slices must read back as. */
export function expectedColumns(symbol: Symbol, schema: Schema, slices: ReadonlyArray<DaySlice>): Columns {
  const out: Columns = Object.fromEntries(columnNames(schema).map((c) => [c, []]))
  const push = (c: string, v: Value) => out[c]?.push(v)
  const nullable = (x: number) => (Number.isNaN(x) ? null : x)
  for (const s of slices) {
    const b = s.batch
    for (let i = 0; i < b.ts.length; i++) {
      push("symbol", symbol)
      push("ts", b.ts[i] as number)
      for (const c of ["open", "high", "low", "close", "volume"] as const) push(c, b[c][i] as number)
      push("trade_count", nullable(b.tradeCount[i] as number))
      push("vwap", nullable(b.vwap[i] as number))
      push("provider", s.provider)
      push("feed", s.feed)
      if (schema === "aggregated") push("is_partial", b.partial?.[i] === 1)
      if (schema === "quarantine") {
        push("rule", s.rules?.[i] ?? "")
        push("severity", "error")
      }
    }
  }
  return out
}

/** The first place two column sets differ (`undefined`: identical; -0 and +0 are different values). */
export function firstDifference(want: Columns, got: Columns): string | undefined {
  const names = Object.keys(want)
  if (JSON.stringify(Object.keys(got)) !== JSON.stringify(names)) {
    return `columns ${Object.keys(got).join(",")} instead of ${names.join(",")}`
  }
  for (const c of names) {
    const [a, b] = [want[c] ?? [], got[c] ?? []]
    if (a.length !== b.length) return `column ${c}: ${b.length} values instead of ${a.length}`
    for (let i = 0; i < a.length; i++)
      if (!Object.is(a[i], b[i])) return `column ${c} row ${i}: ${b[i]} instead of ${a[i]}`
  }
  return undefined
}

const normal = (v: unknown): Value => {
  if (v === null || v === undefined) return null
  if (v instanceof Date) return v.getTime()
  if (typeof v === "bigint") return Number(v)
  return v as Value
}

const toColumns = (rows: ReadonlyArray<Record<string, unknown>>, names: ReadonlyArray<string>): Columns =>
  Object.fromEntries(names.map((c) => [c, rows.map((r) => normal(r[c]))]))

const arrayBuffer = (b: Uint8Array) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer

/** MarketPipe's reader (`decodeBars`: what the sink's merge, revalidation and `ledger verify` read). */
export async function viaMarketPipe(
  symbol: Symbol,
  schema: Schema,
  bytes: Uint8Array,
  onFallback?: (column: string) => void
): Promise<Columns> {
  const d = await decodeBars(symbol, bytes, onFallback)
  const n = d.batch.ts.length
  const b = d.batch
  const col = (a: Float64Array, nullable = false) => Array.from(a, (x) => (nullable && Number.isNaN(x) ? null : x))
  // Symbol and severity are checked, not kept, by this reader: what it gives back is the symbol it was asked for.
  return {
    symbol: new Array(n).fill(symbol),
    ts: col(b.ts),
    open: col(b.open),
    high: col(b.high),
    low: col(b.low),
    close: col(b.close),
    volume: col(b.volume),
    trade_count: col(b.tradeCount, true),
    vwap: col(b.vwap, true),
    provider: [...d.provider],
    feed: [...d.feed],
    ...(schema === "aggregated" ? { is_partial: Array.from(b.partial ?? [], (x) => x === 1) } : {}),
    ...(schema === "quarantine" ? { rule: [...(d.rules ?? [])], severity: new Array(n).fill("error") } : {})
  }
}

export async function viaHyparquet(schema: Schema, bytes: Uint8Array): Promise<Columns> {
  return toColumns(await parquetReadObjects({ file: arrayBuffer(bytes), compressors }), columnNames(schema))
}

/** DuckDB's `SELECT * ... ORDER BY ts` (ts as epoch ms), and the column types `DESCRIBE` gives. */
export async function viaDuckDb(
  schema: Schema,
  path: string
): Promise<{ columns: Columns; types: Array<string>; keyValues: Array<string> }> {
  const instance = await DuckDBInstance.create(":memory:")
  const connection = await instance.connect()
  try {
    const source = `read_parquet('${path}')`
    const rows = await connection.runAndReadAll(`SELECT * REPLACE (epoch_ms(ts) AS ts) FROM ${source} ORDER BY ts`)
    const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`)
    const kv = await connection.runAndReadAll(
      `SELECT decode(key) || '=' || decode(value) AS kv FROM parquet_kv_metadata('${path}') ORDER BY key`
    )
    const byName = rows.getColumnsObjectJS() as Record<string, Array<unknown>>
    return {
      columns: Object.fromEntries(columnNames(schema).map((c) => [c, (byName[c] ?? []).map(normal)])),
      types: described.getRowObjectsJson().map((r) => `${r.column_name} ${r.column_type}`),
      keyValues: kv.getRowObjectsJson().map((r) => String(r.kv))
    }
  } finally {
    connection.closeSync()
    instance.closeSync()
  }
}

/** What these tests use of nodejs-polars (its own declarations do not type-check with `skipLibCheck` off). */
interface Polars {
  readonly readParquet: (bytes: Buffer) => {
    readonly schema: Record<string, unknown>
    readonly getColumn: (name: string) => { readonly toArray: () => Array<unknown> }
  }
}

// A specifier TypeScript does not resolve, so it never loads nodejs-polars' declarations.
const polarsModule: string = "nodejs-polars"

/** polars' `readParquet`, and its dtypes. */
export async function viaPolars(
  schema: Schema,
  bytes: Uint8Array
): Promise<{ columns: Columns; types: Array<string> }> {
  const pl = ((await import(polarsModule)) as { default: Polars }).default
  const df = pl.readParquet(Buffer.from(bytes))
  return {
    columns: Object.fromEntries(columnNames(schema).map((c) => [c, df.getColumn(c).toArray().map(normal)])),
    types: Object.entries(df.schema).map(([name, type]) => `${name} ${String(type)}`)
  }
}

/**
 * arrow-rs (parquet-wasm) reads the file into an Arrow table; the table is written back as Parquet by arrow-rs and
 * that file read by hyparquet. parquet-wasm hands tables over as Arrow IPC, which needs a reader of its own; a
 * round trip shows the same thing: arrow-rs decoded every value (a wrong one would be written back wrong). The
 * file's key-value metadata comes along as the Arrow schema's.
 */
export async function viaArrow(
  schema: Schema,
  bytes: Uint8Array
): Promise<{ columns: Columns; rows: number; keyValues: Map<string, string>; rewritten: Uint8Array }> {
  const table = readParquet(bytes)
  const keyValues = new Map(table.schema.metadata())
  const props = new WriterPropertiesBuilder().setCompression(Compression.UNCOMPRESSED).build()
  const rewritten = writeParquet(table, props)
  const columns = await viaHyparquet(schema, rewritten)
  return { columns, rows: columns.ts?.length ?? 0, keyValues, rewritten }
}

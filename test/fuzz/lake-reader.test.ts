/**
 * Fuzz: the lake reader — `loadOhlcvEffect` (the research read path) and the sink's `readFile` (`decodeBars`), both
 * over `lake/read/` (the direct page decoder, hyparquet fallback). The corpus is real lake files: written by the sink
 * (`writeDays`: 1m month files with nulls, aggregated 5m files with `is_partial`, a 1d year file, a one-row file), by
 * hyparquet-writer in other layouts (small pages and row groups, PLAIN / BYTE_STREAM_SPLIT / dictionary, SNAPPY, GZIP,
 * uncompressed) and by DuckDB (data pages v1). Each case takes one, mutates its bytes — bit flips, byte sets, zeroed
 * ranges, truncation, inserted / deleted / duplicated ranges, a hostile footer length, another file's footer spliced
 * in, footer fields re-encoded with hostile values (row counts, offsets, sizes, codecs, types), page headers
 * re-encoded with hostile sizes and counts, or random garbage named `*.parquet` — and queries it with a generated
 * range, session filter and column list.
 *
 * Property: a typed error (`StorageError`, or `UsageError`) or a well-formed frame (every column as long as `ts`,
 * segments covering it in order; for an unmutated file exactly the rows `decodeBars` gives inside the range and
 * sessions); never a defect, never over the per-case bound, no allocation that fails for its size, nothing written
 * to the lake.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Arbitrary, Cause, Effect, Exit } from "effect"
import { type BarBatch, makeCalendar } from "../../mod.ts"
import { StorageError, UsageError } from "../../src/domain/errors.ts"
import { tradingDayOf } from "../../src/domain/partition.ts"
import type { Timeframe } from "../../src/domain/timeframe.ts"
import { loadOhlcvEffect, type OhlcvColumn, type OhlcvFrame, ohlcvColumns } from "../../src/lake/load/load-ohlcv.ts"
import { makeParquetSink } from "../../src/lake/parquet-sink.ts"
import { removeDir, tempDir } from "../support/temp.ts"
import { applyMutation, type Base, type ByteMutation, buildCorpus, corpus, mutationArb } from "./lake-corpus.ts"
import { anyIndex, checkProperty, constant, int, label, oneOf, union } from "./runs.ts"

const calendar = makeCalendar()
const MIN = 60_000

let corpusDir = ""
let lakeDir = ""

beforeAll(async () => {
  corpusDir = tempDir("mp-fuzz-lake-corpus-")
  lakeDir = tempDir("mp-fuzz-lake-")
  await buildCorpus(corpusDir)
}, 120_000)

afterAll(() => {
  removeDir(corpusDir)
  removeDir(lakeDir)
})

// ---------------------------------------------------------------------------------------------------------------
// Queries

interface Query {
  /** Bars from the file's first bar to the range start (negative: before it). */
  readonly from: number
  readonly span: number
  readonly wide: boolean
  readonly session: "all" | "regular" | "extended"
  readonly columns: ReadonlyArray<string> | undefined
  readonly otherSymbol: boolean
}

const queryArb: Arbitrary.Arbitrary<Query> = Arbitrary.all({
  from: union([int(-20, 400), int(-5000, 5000)]),
  span: union([int(0, 500), int(0, 100_000)]),
  wide: oneOf([false, false, false, false, false, false, false, true] as const),
  session: oneOf(["all", "all", "regular", "extended"] as const),
  columns: union<ReadonlyArray<string> | undefined>([
    constant(undefined),
    constant(undefined),
    Arbitrary.array(oneOf([...ohlcvColumns, "ts", "symbol"] as const), { maxLength: 10 })
  ]),
  otherSymbol: oneOf([false, false, false, true] as const)
})

interface Case {
  readonly base: number
  readonly mutations: ReadonlyArray<ByteMutation>
  readonly query: Query
}

const caseArb: Arbitrary.Arbitrary<Case> = Arbitrary.all({
  base: anyIndex,
  mutations: union<ReadonlyArray<ByteMutation>>([
    constant([]),
    Arbitrary.array(mutationArb, { minLength: 1, maxLength: 2 }),
    Arbitrary.array(mutationArb, { minLength: 1, maxLength: 2 }),
    Arbitrary.array(mutationArb, { minLength: 1, maxLength: 2 }),
    Arbitrary.array(mutationArb, { minLength: 1, maxLength: 4 })
  ]),
  query: queryArb
})

const frameMs: Record<Timeframe, number> = {
  "1m": MIN,
  "5m": 5 * MIN,
  "15m": 15 * MIN,
  "30m": 30 * MIN,
  "1h": 60 * MIN,
  "4h": 240 * MIN,
  "1d": 1440 * MIN
}

const rangeOf = (base: Base, q: Query) => {
  if (q.wide) return { start: Date.UTC(1990, 0, 1), end: Date.UTC(2031, 0, 1) }
  const start = (base.rows.ts[0] as number) + q.from * frameMs[base.frame]
  return { start, end: start + q.span * frameMs[base.frame] }
}

// ---------------------------------------------------------------------------------------------------------------
// Checks

/** A failure whose reason says an allocation was refused: some length from the file was trusted. */
const allocationFailure = /out of memory|allocation failed|invalid (typed )?array length|array buffer allocation/iu

/** What is wrong with a frame (`undefined`: nothing). */
function badFrame(frame: OhlcvFrame<OhlcvColumn>): string | undefined {
  const n = frame.length
  if (frame.ts.length !== n || frame.symbols.length !== n)
    return `ts ${frame.ts.length} / symbols ${frame.symbols.length} vs length ${n}`
  for (const c of frame.columns) {
    const column = (frame as unknown as Record<string, ArrayLike<number>>)[c]
    if (column?.length !== n) return `column ${c} has ${column?.length} rows, length is ${n}`
  }
  let at = 0
  for (const s of frame.segments) {
    if (s.from !== at || s.to <= s.from) return `segments ${JSON.stringify(frame.segments)} do not tile [0, ${n})`
    at = s.to
  }
  if (at !== n) return `segments end at ${at}, length is ${n}`
  return undefined
}

const sameNumber = (a: number, b: number) => a === b || (Number.isNaN(a) && Number.isNaN(b))

/** The rows of the clean base inside the query: what an unmutated load must return. */
function expected(base: Base, start: number, end: number, session: Query["session"]): Array<number> {
  const rows: Array<number> = []
  base.rows.ts.forEach((t, i) => {
    if (t < start || t >= end) return
    if (session !== "all") {
      const s = calendar.session(tradingDayOf(t), session)
      if (s === undefined || t < s.open || t >= s.close) return
    }
    rows.push(i)
  })
  return rows
}

const columnOf: Record<OhlcvColumn, keyof BarBatch> = {
  open: "open",
  high: "high",
  low: "low",
  close: "close",
  volume: "volume",
  trade_count: "tradeCount",
  vwap: "vwap",
  is_partial: "partial"
}

function differs(base: Base, frame: OhlcvFrame<OhlcvColumn>, rows: ReadonlyArray<number>): string | undefined {
  if (frame.length !== rows.length) return `${frame.length} rows, the clean file has ${rows.length} in the range`
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k] as number
    if (frame.ts[k] !== base.rows.ts[r]) return `row ${k}: ts ${frame.ts[k]} != ${base.rows.ts[r]}`
    for (const c of frame.columns) {
      const got = (frame as unknown as Record<string, ArrayLike<number>>)[c]?.[k] as number
      const source = base.rows[columnOf[c]] as ArrayLike<number> | undefined
      const want = source === undefined ? (c === "is_partial" ? 0 : Number.NaN) : (source[r] as number)
      if (!sameNumber(got, want)) return `row ${k}: ${c} ${got} != ${want}`
    }
  }
  return undefined
}

function typedError(cause: Cause.Cause<unknown>): { readonly error: unknown } | string {
  if (Cause.hasDies(cause) || Cause.hasInterrupts(cause)) return `not a typed failure:\n${Cause.pretty(cause)}`
  const found = Cause.findErrorOption(cause)
  return found._tag === "Some" ? { error: found.value } : Cause.pretty(cause)
}

/** Resident memory after a case: a decoder that trusted a corrupt length would leave it far above this. */
const RSS_LIMIT = 3 * 1024 ** 3

async function runCase(c: Case): Promise<string | undefined> {
  const base = corpus[c.base % corpus.length] as Base
  let bytes = base.bytes
  for (const m of c.mutations) bytes = applyMutation(bytes, m)
  const mutated = c.mutations.length > 0

  // The lake holds just this file (and nothing else a previous case left).
  rmSync(join(lakeDir, "ohlcv"), { recursive: true, force: true })
  const dir = join(lakeDir, "ohlcv", `frame=${base.frame}`, `symbol=${base.symbol}`)
  mkdirSync(dir, { recursive: true })
  const path = join(dir, `${base.period}.parquet`)
  writeFileSync(path, bytes)

  const { start, end } = rangeOf(base, c.query)
  const symbols = c.query.otherSymbol ? [base.symbol, "ZZZZ"] : base.symbol
  const loaded = await Effect.runPromiseExit(
    loadOhlcvEffect({
      symbols,
      start,
      end,
      timeframe: base.frame,
      session: c.query.session,
      dataDir: lakeDir,
      ...(c.query.columns === undefined ? {} : { columns: c.query.columns as ReadonlyArray<OhlcvColumn> })
    })
  )
  const read = await Effect.runPromiseExit(
    makeParquetSink(lakeDir).readFile({ frame: base.frame, symbol: base.symbol, period: base.period })
  )

  if (readdirSync(dir).join(",") !== `${base.period}.parquet`) return `the lake changed: ${readdirSync(dir).join(", ")}`
  if (!Buffer.from(readFileSync(path)).equals(Buffer.from(bytes))) return "the file was changed by reading it"
  const rss = process.memoryUsage().rss
  if (rss > RSS_LIMIT) return `resident memory ${Math.round(rss / 2 ** 20)} MiB after the case`
  label(`rss ${Math.round(rss / 2 ** 27) * 128} MiB`)

  // loadOhlcv
  if (Exit.isSuccess(loaded)) {
    const bad = badFrame(loaded.value)
    if (bad !== undefined) return `loadOhlcv: ${bad}`
    if (!mutated) {
      const diff = differs(base, loaded.value, expected(base, start, end, c.query.session))
      if (diff !== undefined) return `loadOhlcv on the clean file: ${diff}`
    }
    label(`loadOhlcv: ${mutated ? "" : "clean, "}${loaded.value.length === 0 ? "empty frame" : "rows"}`)
  } else {
    const failure = typedError(loaded.cause)
    if (typeof failure === "string") return `loadOhlcv: ${failure}`
    const e = failure.error
    if (!(e instanceof StorageError) && !(e instanceof UsageError)) return `loadOhlcv failed with ${String(e)}`
    if (!mutated) return `loadOhlcv failed on the clean file: ${e.message}`
    if (allocationFailure.test(e.message)) return `loadOhlcv: an allocation sized by the file failed: ${e.message}`
    label(
      `loadOhlcv ${e._tag}: ${e.message
        .replace(/^.*?\.parquet: /u, "")
        .replace(/\d+/gu, "#")
        .slice(0, 70)}`
    )
  }

  // decodeBars, through the sink
  if (Exit.isSuccess(read)) {
    const file = read.value
    if (file === undefined) return "readFile: the file is there but nothing was read"
    const n = file.batch.ts.length
    for (const col of ["open", "high", "low", "close", "volume", "tradeCount", "vwap"] as const) {
      if (file.batch[col].length !== n) return `readFile: ${col} has ${file.batch[col].length} rows, ts ${n}`
    }
    if (file.provider.length !== n || file.feed.length !== n) return "readFile: provenance columns of another length"
    label("readFile: decoded")
  } else {
    const failure = typedError(read.cause)
    if (typeof failure === "string") return `readFile: ${failure}`
    const e = failure.error
    if (!(e instanceof StorageError)) return `readFile failed with ${String(e)}`
    if (!mutated) return `readFile failed on the clean file: ${e.message}`
    if (allocationFailure.test(e.message)) return `readFile: an allocation sized by the file failed: ${e.message}`
    label(
      `readFile: ${e.message
        .replace(/^.*?\.parquet: /u, "")
        .replace(/\d+/gu, "#")
        .slice(0, 70)}`
    )
  }
  return undefined
}

describe("fuzz: lake reader", () => {
  test("mutated lake files give a frame or a StorageError (loadOhlcv) and a batch or a StorageError (readFile)", async () => {
    expect(corpus.length).toBeGreaterThan(8)
    const runs = await checkProperty(
      "lake reader",
      caseArb,
      (c) =>
        Effect.flatMap(
          Effect.promise(() => runCase(c)),
          (bad) => (bad === undefined ? Effect.void : Effect.fail(bad))
        ),
      {
        ciRuns: 400,
        show: (c) => ({ base: (corpus[c.base % corpus.length] as Base).name, mutations: c.mutations, query: c.query })
      }
    )
    expect(runs).toBeGreaterThan(0)
  })
})

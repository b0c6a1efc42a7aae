import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { zstdCompressSync } from "node:zlib"
import { Effect, Exit, Option } from "effect"
import { parquetMetadata } from "hyparquet"
import { parquetWriteBuffer } from "hyparquet-writer"
import { batchFromBars, makeCalendar, type Symbol } from "../../mod.ts"
import { loadOhlcv, loadOhlcvEffect, type OhlcvFrame, resolveTime } from "../../src/lake/load/load-ohlcv.ts"
import { makeParquetSink } from "../../src/lake/parquet-sink.ts"
import { foreignLakeSchema } from "../support/foreign-parquet.ts"
import { failureTag, ingestFlags, ingestIn } from "../support/ingest.ts"
import { duckdb, lakeGlob } from "../support/lake.ts"
import { removeDir, tempDir } from "../support/temp.ts"

const MIN = 60_000
const utc = (iso: string) => Date.parse(iso)

let cwd = ""
let dataDir = ""

beforeAll(async () => {
  cwd = tempDir("mp-load-")
  dataDir = join(cwd, "data")
  // AAPL and MSFT: regular session, 6 trading days over two month files (Feb 27..Mar 5, 2024).
  const regular = await ingestIn(cwd, ingestFlags({ symbols: "AAPL,MSFT", start: "2024-02-27", end: "2024-03-05" }))
  expect(Exit.isSuccess(regular)).toBe(true)
  // SPY: extended hours (04:00-20:00 ET) stored for two days.
  const extended = await ingestIn(
    cwd,
    ingestFlags({ symbols: "SPY", start: "2024-03-04", end: "2024-03-05", session: Option.some("extended") })
  )
  expect(Exit.isSuccess(extended)).toBe(true)
}, 120_000)

afterAll(() => removeDir(cwd))

const expectSorted = (f: Pick<OhlcvFrame, "length" | "symbols" | "ts">) => {
  for (let i = 1; i < f.length; i++) {
    const [a, b] = [f.symbols[i - 1] as string, f.symbols[i] as string]
    expect(a < b || (a === b && (f.ts[i - 1] as number) < (f.ts[i] as number))).toBe(true)
  }
}

describe("loadOhlcv over an ingested lake", () => {
  test("a range spanning two month files returns every bar of both, in order", async () => {
    const f = await loadOhlcv({ symbols: "AAPL", start: "2024-02-27", end: "2024-03-06", dataDir })
    expect(f.length).toBe(6 * 390)
    expect(f.timeframe).toBe("1m")
    expect(f.ts[0]).toBe(utc("2024-02-27T14:30:00Z"))
    expect(f.ts[f.length - 1]).toBe(utc("2024-03-05T20:59:00Z"))
    expect(f.segments).toEqual([{ symbol: "AAPL", from: 0, to: 2340 }])
    expect(f.ts.filter((t) => t < utc("2024-03-01T00:00:00Z")).length).toBe(3 * 390)
    expectSorted(f)
  })

  test("half-open [start, end): a start on a bar includes it, an end on a bar excludes it", async () => {
    const t0 = utc("2024-02-29T15:00:00Z")
    const f = await loadOhlcv({ symbols: "AAPL", start: t0, end: t0 + 5 * MIN, dataDir })
    expect([...f.ts]).toEqual([0, 1, 2, 3, 4].map((i) => t0 + i * MIN))
    // One millisecond later the first bar is out; one millisecond later the end bar is in.
    const g = await loadOhlcv({ symbols: "AAPL", start: t0 + 1, end: t0 + 5 * MIN + 1, dataDir })
    expect([...g.ts]).toEqual([1, 2, 3, 4, 5].map((i) => t0 + i * MIN))
    // Adjacent windows tile without overlap or gap, also across the month boundary.
    const cut = utc("2024-03-01T14:30:00Z")
    const [left, right, whole] = await Promise.all([
      loadOhlcv({ symbols: "AAPL", start: "2024-02-28", end: cut, dataDir }),
      loadOhlcv({ symbols: "AAPL", start: cut, end: "2024-03-05", dataDir }),
      loadOhlcv({ symbols: "AAPL", start: "2024-02-28", end: "2024-03-05", dataDir })
    ])
    expect(left.ts[left.length - 1]).toBe(utc("2024-02-29T20:59:00Z"))
    expect(right.ts[0]).toBe(cut)
    expect([...left.ts, ...right.ts]).toEqual([...whole.ts])
  })

  test("YYYY-MM-DD means New York midnight; Dates, epoch ms and ISO instants are exact", async () => {
    const f = await loadOhlcv({ symbols: "MSFT", start: "2024-03-01", end: "2024-03-02", dataDir })
    expect(f.start.toISOString()).toBe("2024-03-01T05:00:00.000Z") // EST
    expect(f.end.toISOString()).toBe("2024-03-02T05:00:00.000Z")
    expect(f.length).toBe(390)
    const same = await loadOhlcv({
      symbols: "MSFT",
      start: new Date("2024-03-01T05:00:00Z"),
      end: "2024-03-02T00:00:00-05:00",
      dataDir
    })
    expect([...same.ts]).toEqual([...f.ts])
    expect(resolveTime("start", "2024-03-11")).toBe(utc("2024-03-11T04:00:00Z")) // after the switch to EDT
    expect(resolveTime("start", "2024-03-10")).toBe(utc("2024-03-10T05:00:00Z")) // the switch day starts in EST
    expect(resolveTime("start", "2024-11-03")).toBe(utc("2024-11-03T04:00:00Z")) // and the day back starts in EDT
    expect(resolveTime("start", "2024-03-04T09:30")).toBe(utc("2024-03-04T14:30:00Z")) // New York wall clock
    expect(resolveTime("start", "2024-07-01T09:30:15.5")).toBe(utc("2024-07-01T13:30:15.500Z"))
    expect(resolveTime("start", "2024-03-04T14:30:00Z")).toBe(utc("2024-03-04T14:30:00Z"))
    expect(resolveTime("start", 1_709_562_600_000)).toBe(1_709_562_600_000)
    for (const bad of ["2024-02-30", "yesterday", "2024-03-04T25:00", "03/04/2024"]) {
      expect(() => resolveTime("start", bad)).toThrow(`start: "${bad}" is not a time`)
    }
    expect(() => resolveTime("end", new Date(Number.NaN))).toThrow("end: an invalid Date is not a time")
  })

  test("several symbols: normalised, de-duplicated, sorted by symbol then ts, each in its segment", async () => {
    const f = await loadOhlcv({
      symbols: ["MSFT", "aapl", "AAPL", " spy "],
      start: "2024-03-04T09:30",
      end: "2024-03-04T16:00",
      dataDir
    })
    expect(f.segments).toEqual([
      { symbol: "AAPL", from: 0, to: 390 },
      { symbol: "MSFT", from: 390, to: 780 },
      { symbol: "SPY", from: 780, to: 1170 }
    ])
    expect(f.symbols.length).toBe(1170)
    expect(new Set(f.symbols.slice(0, 390))).toEqual(new Set(["AAPL"]))
    expect(f.symbols[390]).toBe("MSFT")
    expect(f.symbols[1169]).toBe("SPY")
    expectSorted(f)
    // The same bars as loading each symbol alone.
    const msft = await loadOhlcv({ symbols: "MSFT", start: "2024-03-04T09:30", end: "2024-03-04T16:00", dataDir })
    expect([...f.close.subarray(390, 780)]).toEqual([...msft.close])
  })

  test("columns: only the ones asked for (plus symbol and ts), same values as a full load", async () => {
    const range = { symbols: "AAPL", start: "2024-02-29", end: "2024-03-02", dataDir } as const
    const full = await loadOhlcv(range)
    const some = await loadOhlcv({ ...range, columns: ["close", "vwap"] })
    expect(some.columns).toEqual(["close", "vwap"])
    expect(Object.keys(some).filter((k) => k === "open" || k === "volume" || k === "is_partial")).toEqual([])
    expect([...some.close]).toEqual([...full.close])
    expect([...some.vwap]).toEqual([...full.vwap])
    expect([...some.ts]).toEqual([...full.ts])
    expect(full.columns).toEqual(["open", "high", "low", "close", "volume", "trade_count", "vwap", "is_partial"])
    // 1m files have no is_partial column: no bar is partial.
    expect(full.is_partial.every((x) => x === 0)).toBe(true)
    const none = await loadOhlcv({ ...range, columns: [] })
    expect(none.length).toBe(full.length)
    expect(none.columns).toEqual([])
  })

  test('session "regular" keeps 09:30-16:00 New York; "all" keeps whatever is stored', async () => {
    const range = { symbols: "SPY", start: "2024-03-04", end: "2024-03-06", dataDir } as const
    const all = await loadOhlcv(range)
    const regular = await loadOhlcv({ ...range, session: "regular" })
    const extended = await loadOhlcv({ ...range, session: "extended" })
    expect(all.length).toBe(2 * 960)
    expect(extended.length).toBe(2 * 960)
    expect(regular.length).toBe(2 * 390)
    const calendar = makeCalendar()
    for (const day of ["2024-03-04", "2024-03-05"]) {
      const s = calendar.session(day, "regular")
      const inDay = regular.ts.filter((t) => t >= (s?.open ?? 0) - 6 * 3_600_000 && t < (s?.close ?? 0) + 6 * 3_600_000)
      expect(inDay[0]).toBe(s?.open)
      expect(inDay[inDay.length - 1]).toBe((s?.close ?? 0) - MIN)
    }
    // Regular-session data is unchanged by the filter.
    const aapl = { symbols: "AAPL", start: "2024-02-27", end: "2024-03-06", dataDir } as const
    expect((await loadOhlcv({ ...aapl, session: "regular" })).length).toBe((await loadOhlcv(aapl)).length)
  })

  test("missing symbols, empty ranges and ranges without files give an empty frame, not an error", async () => {
    const cases = [
      { symbols: "NOPE", start: "2024-03-01", end: "2024-03-06" },
      { symbols: ["NOPE", "AAPL"], start: "2023-01-01", end: "2024-01-01" },
      { symbols: "AAPL", start: "2024-03-02", end: "2024-03-04" }, // a weekend
      { symbols: "AAPL", start: "2024-03-04", end: "2024-03-04" }, // start = end
      { symbols: "AAPL", start: "2024-03-05", end: "2024-03-04" }, // end before start
      { symbols: "AAPL", start: "2000-01-01", end: "2024-01-01", timeframe: "1h" as const }, // years without files
      { symbols: [], start: "2024-03-01", end: "2024-03-06" }
    ]
    for (const c of cases) {
      const f = await loadOhlcv({ ...c, dataDir })
      expect(f.length).toBe(0)
      expect(f.ts.length).toBe(0)
      expect(f.close.length).toBe(0)
      expect(f.segments).toEqual([])
      expect(f.rows()).toEqual([])
    }
    // A data dir that does not exist at all.
    expect(
      (await loadOhlcv({ symbols: "AAPL", start: 0, end: Date.now(), dataDir: join(cwd, "nowhere") })).length
    ).toBe(0)
  })

  test("a very wide range finds the files by listing only that symbol's directory", async () => {
    const f = await loadOhlcv({ symbols: ["AAPL", "NOPE"], start: "1990-01-01", end: "2090-01-01", dataDir })
    expect(f.length).toBe(6 * 390)
  })

  test("equals DuckDB over the same files", async () => {
    const start = utc("2024-02-28T16:07:00Z")
    const end = utc("2024-03-04T19:00:00Z")
    const f = await loadOhlcv({ symbols: ["SPY", "MSFT", "AAPL"], start, end, dataDir })
    const rows = await duckdb<Record<string, number | string | null>>(
      `SELECT symbol, epoch_ms(ts)::DOUBLE AS ts, open, high, low, close, volume, trade_count::DOUBLE AS trade_count, vwap
       FROM ${lakeGlob(dataDir)}
       WHERE frame = '1m' AND ts >= to_timestamp(${start / 1000}) AND ts < to_timestamp(${end / 1000})
       ORDER BY symbol, ts`
    )
    expect(f.length).toBe(rows.length)
    expect(f.length).toBeGreaterThan(2000)
    const got = f.rows().map((r) => ({ ...r, ts: r.ts.getTime() }))
    expect(got.map(({ is_partial: _, ...r }) => r)).toEqual(rows as never)
  })

  test("higher frames (aggregated after ingest) come from their own files, is_partial included", async () => {
    for (const timeframe of ["5m", "1h", "1d"] as const) {
      const f = await loadOhlcv({
        symbols: ["AAPL", "MSFT"],
        start: "2024-02-27",
        end: "2024-03-06",
        timeframe,
        dataDir
      })
      const rows = await duckdb<Record<string, unknown>>(
        `SELECT symbol, epoch_ms(ts)::DOUBLE AS ts, open, high, low, close, volume, trade_count::DOUBLE AS trade_count,
           vwap, coalesce(is_partial, false) AS is_partial
         FROM read_parquet('${join(dataDir, "ohlcv", `frame=${timeframe}`)}/*/*.parquet')
         WHERE symbol IN ('AAPL', 'MSFT') ORDER BY symbol, ts`
      )
      expect(rows.length).toBeGreaterThan(0)
      expect(f.rows().map((r) => ({ ...r, ts: r.ts.getTime() }))).toEqual(rows as never)
    }
  })

  test("a bad symbol, timeframe, column or session is rejected with a clear error naming it", async () => {
    const base = { start: "2024-03-01", end: "2024-03-02", dataDir }
    await expect(loadOhlcv({ ...base, symbols: "../x" })).rejects.toThrow('symbols: "../x" is not a valid symbol')
    await expect(loadOhlcv({ ...base, symbols: ["AAPL", "a b"] })).rejects.toThrow('"a b" is not a valid symbol')
    await expect(loadOhlcv({ ...base, symbols: "" })).rejects.toThrow('symbols: "" is not a valid symbol')
    await expect(loadOhlcv({ ...base, symbols: "AAPL", timeframe: "2m" as never })).rejects.toThrow(
      'timeframe: "2m" is not a timeframe'
    )
    await expect(loadOhlcv({ ...base, symbols: "AAPL", columns: ["close", "adj" as never] })).rejects.toThrow(
      'columns: unknown column "adj"'
    )
    await expect(loadOhlcv({ ...base, symbols: "AAPL", session: "pre" as never })).rejects.toThrow("session")
    // Slashes are share classes (BRK/B is BRK.B), never directories: this stays a harmless, absent symbol.
    expect((await loadOhlcv({ ...base, symbols: "x/../../etc" })).length).toBe(0)
    const exit = await Effect.runPromiseExit(loadOhlcvEffect({ ...base, symbols: "../x" }))
    expect(failureTag(exit)).toBe("UsageError")
  })

  test("the Effect version gives the same frame", async () => {
    const range = { symbols: "MSFT", start: "2024-03-04", end: "2024-03-05", dataDir, columns: ["close"] as const }
    const f = await Effect.runPromise(loadOhlcvEffect(range))
    expect([...f.close]).toEqual([...(await loadOhlcv(range)).close])
  })

  test("the row view's values match the columns", async () => {
    const f = await loadOhlcv({
      symbols: ["AAPL", "MSFT"],
      start: "2024-03-05T10:00",
      end: "2024-03-05T10:30",
      dataDir
    })
    const rows = f.rows()
    expect(rows.length).toBe(60)
    rows.forEach((r, i) => {
      expect(r.symbol).toBe(f.symbols[i] as string)
      expect(r.ts).toBeInstanceOf(Date)
      expect(r.ts.getTime()).toBe(f.ts[i] as number)
      expect([r.open, r.high, r.low, r.close, r.volume]).toEqual([
        f.open[i] as number,
        f.high[i] as number,
        f.low[i] as number,
        f.close[i] as number,
        f.volume[i] as number
      ])
      expect(r.trade_count).toBe(f.trade_count[i] as number)
      expect(r.vwap).toBe(f.vwap[i] as number)
      expect(r.is_partial).toBe(false)
    })
    expect(Object.keys(rows[0] ?? {})).toEqual([
      "symbol",
      "ts",
      "open",
      "high",
      "low",
      "close",
      "volume",
      "trade_count",
      "vwap",
      "is_partial"
    ])
  })
})

describe("loadOhlcv over files other writers produce", () => {
  let lake = ""
  let lakeData = ""
  const calendar = makeCalendar()
  const marchDays = calendar.tradingDays("2024-03-01", "2024-03-29")

  /** 5m bars of March 2024, regular session; some nulls, and the last bar of each day marked partial. */
  const march5m = () => {
    const ts: Array<number> = []
    for (const day of marchDays) {
      const s = calendar.session(day, "regular")
      for (let t = s?.open ?? 0; t < (s?.close ?? 0); t += 5 * MIN) ts.push(t)
    }
    const n = ts.length
    const price = (i: number, k: number) => Math.round((100 + Math.sin(i / 17) * 5 + k) * 1e4) / 1e4
    return {
      n,
      ts,
      open: Float64Array.from({ length: n }, (_, i) => price(i, 0)),
      high: Float64Array.from({ length: n }, (_, i) => price(i, 1)),
      low: Float64Array.from({ length: n }, (_, i) => price(i, -1)),
      close: Float64Array.from({ length: n }, (_, i) => price(i, 0.5)),
      volume: Float64Array.from({ length: n }, (_, i) => 1000 + (i % 97)),
      trade_count: Array.from({ length: n }, (_, i) => (i % 7 === 3 ? null : BigInt(10 + (i % 5)))),
      vwap: Array.from({ length: n }, (_, i) => (i % 5 === 1 ? null : price(i, 0.25))),
      is_partial: ts.map((t, i) => i + 1 === n || tradingDay(ts[i + 1] as number) !== tradingDay(t))
    }
  }
  const tradingDay = (t: number) => new Date(t - 5 * 3_600_000).toISOString().slice(0, 10)

  const fileOf = (symbol: string) => join(lakeData, "ohlcv", "frame=5m", `symbol=${symbol}`, "2024-03.parquet")

  beforeAll(async () => {
    lake = tempDir("mp-load-foreign-")
    lakeData = join(lake, "data")
    const m = march5m()
    // hyparquet-writer with small row groups and pages, PLAIN ts, BYTE_STREAM_SPLIT open (decoded by hyparquet).
    const bytes = parquetWriteBuffer({
      schema: foreignLakeSchema(true),
      columnData: [
        { name: "symbol", data: new Array<string>(m.n).fill("HW") },
        { name: "ts", data: BigInt64Array.from(m.ts.map(BigInt)), encoding: "PLAIN" },
        { name: "open", data: m.open, encoding: "BYTE_STREAM_SPLIT" },
        { name: "high", data: m.high },
        { name: "low", data: m.low },
        { name: "close", data: m.close },
        { name: "volume", data: m.volume },
        { name: "trade_count", data: m.trade_count },
        { name: "vwap", data: m.vwap },
        { name: "provider", data: new Array<string>(m.n).fill("test") },
        { name: "feed", data: new Array<string>(m.n).fill("test") },
        { name: "is_partial", data: m.is_partial }
      ],
      codec: "ZSTD",
      compressors: { ZSTD: (input: Uint8Array) => new Uint8Array(zstdCompressSync(input)) },
      rowGroupSize: 500,
      pageSize: 1024
    })
    mkdirSync(join(fileOf("HW"), ".."), { recursive: true })
    writeFileSync(fileOf("HW"), new Uint8Array(bytes))

    // The lake's own writer (the sink) with nulls in trade_count and vwap.
    const nullsDay = "2024-03-04"
    const open = calendar.session(nullsDay, "regular")?.open ?? 0
    const bars = Array.from({ length: 390 }, (_, i) => ({
      ts: open + i * MIN,
      open: 10,
      high: 11,
      low: 9,
      close: 10.5,
      volume: i,
      trade_count: i % 3 === 0 ? null : i,
      vwap: i % 4 === 0 ? null : 10.25
    }))
    await Effect.runPromise(
      makeParquetSink(lakeData).writeDays(
        { frame: "1m", symbol: "NULLS" as Symbol, period: "2024-03" },
        [{ day: nullsDay, batch: batchFromBars("NULLS" as Symbol, bars), provider: "test", feed: "test" }],
        {}
      )
    )

    // DuckDB (data pages v1): one copy with INT64 epoch-ms ts, one with its own TIMESTAMP WITH TIME ZONE (micros).
    const hw = `read_parquet('${fileOf("HW")}')`
    for (const [symbol, ts] of [
      ["DUCKMS", "epoch_ms(ts)"],
      ["DUCKUS", "ts"]
    ] as const) {
      mkdirSync(join(fileOf(symbol), ".."), { recursive: true })
      await duckdb(
        `COPY (SELECT '${symbol}' AS symbol, ${ts} AS ts, open, high, low, close, volume, trade_count, vwap, provider, feed, is_partial
         FROM ${hw} ORDER BY ts) TO '${fileOf(symbol)}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 700)`
      )
    }
  }, 60_000)

  afterAll(() => removeDir(lake))

  const duckRows = (symbol: string, start: number, end: number) =>
    duckdb<Record<string, unknown>>(
      `SELECT '${symbol}' AS symbol, ts, open, high, low, close, volume, trade_count::DOUBLE AS trade_count, vwap, is_partial
       FROM (SELECT epoch_ms(ts)::DOUBLE AS ts, * EXCLUDE (ts) FROM read_parquet('${fileOf("HW")}'))
       WHERE ts >= ${start} AND ts < ${end} ORDER BY ts`
    )

  test("many row groups and pages, PLAIN and BYTE_STREAM_SPLIT values, nulls, is_partial: as DuckDB reads them", async () => {
    const start = utc("2024-03-07T15:02:00Z")
    const end = utc("2024-03-21T18:00:00Z")
    const expected = await duckRows("HW", start, end)
    expect(expected.length).toBeGreaterThan(700)
    for (const symbol of ["HW", "DUCKMS", "DUCKUS"]) {
      const f = await loadOhlcv({ symbols: symbol, start, end, timeframe: "5m", dataDir: lakeData })
      const got = f.rows().map((r) => ({ ...r, ts: r.ts.getTime() }))
      expect(got).toEqual(expected.map((r) => ({ ...r, symbol })) as never)
      expect(f.is_partial.reduce((a, b) => a + b, 0)).toBe(got.filter((r) => r.is_partial).length)
      expect(f.vwap.some(Number.isNaN)).toBe(true)
      expect(f.trade_count.some(Number.isNaN)).toBe(true)
    }
  })

  test("nulls written by the lake's own writer come back as NaN in columns and null in rows", async () => {
    const f = await loadOhlcv({ symbols: "NULLS", start: "2024-03-04", end: "2024-03-05", dataDir: lakeData })
    expect(f.length).toBe(390)
    expect(Number.isNaN(f.trade_count[0] as number)).toBe(true)
    expect(f.trade_count[1]).toBe(1)
    expect(Number.isNaN(f.vwap[4] as number)).toBe(true)
    expect(f.vwap[5]).toBe(10.25)
    const rows = f.rows()
    expect(rows[0]).toMatchObject({ trade_count: null, vwap: null, volume: 0 })
    expect(rows[5]).toMatchObject({ trade_count: 5, vwap: 10.25 })
  })

  test("row groups outside the range are never decoded (their statistics rule them out)", async () => {
    // Copy HW with the data of its first row group destroyed: ranges outside that group still load.
    const bytes = new Uint8Array(readFileSync(fileOf("HW")))
    const metadata = parquetMetadata(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
    )
    const first = metadata.row_groups[0]
    expect(metadata.row_groups.length).toBeGreaterThan(2)
    for (const c of first?.columns ?? []) {
      const m = c.meta_data
      if (m === undefined) continue
      const from = Number(m.dictionary_page_offset ?? m.data_page_offset)
      bytes.fill(0xff, from, from + Number(m.total_compressed_size))
    }
    mkdirSync(join(fileOf("BROKEN"), ".."), { recursive: true })
    writeFileSync(fileOf("BROKEN"), bytes)
    const late = { start: "2024-03-20", end: "2024-03-23", timeframe: "5m", dataDir: lakeData } as const
    const broken = await loadOhlcv({ ...late, symbols: "BROKEN" })
    const intact = await loadOhlcv({ ...late, symbols: "HW" })
    expect(broken.length).toBe(3 * 78)
    expect([...broken.close]).toEqual([...intact.close])
    // A range inside the destroyed group fails, naming the file.
    const early = loadOhlcv({ ...late, symbols: "BROKEN", start: "2024-03-01", end: "2024-03-02" })
    await expect(early).rejects.toThrow(`storage ${fileOf("BROKEN")}: cannot read it as a lake file`)
  })
})

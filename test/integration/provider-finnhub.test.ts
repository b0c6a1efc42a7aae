import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Effect, Stream } from "effect"
import { type BarBatch, type BarsRequest, barsOf, type ProviderError, type Symbol } from "../../mod.ts"
import fake from "../../plugins/fake/mod.ts"
import finnhub from "../../plugins/finnhub/mod.ts"
import { type Candle, type CompanyProfile, toBatch } from "../../plugins/finnhub/wire.ts"
import { makePluginHost } from "../../src/providers/host.ts"
import { finnhubRoutes } from "../emulators/finnhub.ts"
import { type Emulator, startEmulator } from "../emulators/server.ts"
import { canonicalBars, readFixture } from "../support/canonical.ts"
import { duckdb, lakeGlob } from "../support/lake.ts"
import { calendar, ingestThrough, makeClient } from "../support/provider-run.ts"
import { kitServices } from "../support/run-services.ts"
import { listFiles, useTempDirs } from "../support/temp.ts"

let emulator: Emulator
const fresh = useTempDirs("mp-finnhub-")
beforeAll(async () => {
  emulator = await startEmulator({ routes: [finnhubRoutes] })
})
afterAll(async () => {
  await emulator.stop()
})

const run = (options: Record<string, unknown> = {}, key?: string) => ({
  plugin: finnhub,
  baseUrl: `${emulator.url}/api/v1`,
  env: { FINNHUB_API_KEY: key ?? emulator.keys.finnhub },
  options
})
const fakeRun = { plugin: fake, baseUrl: "", env: {} }
const host = () => makePluginHost("finnhub", calendar, kitServices())
const candlePath = "/api/v1/stock/candle"

/** Everything but vwap and trade count, which Finnhub does not carry. */
const ohlcvDigest = async (dataDir: string) => {
  const rows = await duckdb<{ n: string; h: string }>(
    `SELECT count(*) AS n, md5(string_agg(concat_ws('|', symbol, ts, open, high, low, close, volume), ',' ORDER BY symbol, ts)) AS h FROM ${lakeGlob(dataDir)}`
  )
  return rows[0] ?? { n: "0", h: "" }
}

const request = (start: number, end: number, frame: BarsRequest["frame"] = "1m"): BarsRequest => ({
  symbols: ["AAPL" as Symbol],
  frame,
  start,
  end,
  feed: "finnhub",
  adjustment: "raw",
  session: "regular"
})
const collect = async (options: Record<string, unknown>, req: BarsRequest) => {
  const c = await Effect.runPromise(makeClient(run(options)))
  return Array.from(await Effect.runPromise(Stream.runCollect(c.bars(req))))
}
const sessionOf = (day: string) => {
  const s = calendar.session(day, "regular")
  if (s === undefined) throw new Error(`${day} is no trading day`)
  return s
}

describe("finnhub plugin against the emulator", () => {
  test("fixture candles parse to exactly the canonical bars, and the two time chunks add up to the day", () => {
    const { kit } = host()
    const parsed: Array<Record<string, unknown>> = []
    for (const symbol of ["AAPL", "MSFT"]) {
      for (const day of ["2024-03-08", "2024-03-11"]) {
        const batch = toBatch(kit, symbol as Symbol, readFixture(`finnhub/candle_${symbol}_1_${day}.json`) as Candle)
        expect(typeof batch).not.toBe("string")
        parsed.push(...barsOf(batch as BarBatch))
      }
    }
    const byKey = (a: { symbol: string; ts: number }, b: { symbol: string; ts: number }) =>
      a.symbol.localeCompare(b.symbol) || a.ts - b.ts
    expect(parsed.sort(byKey as never)).toEqual(
      canonicalBars()
        .sort(byKey)
        .map((b) => ({ ...b, vwap: null, trade_count: null })) as never
    )
    const chunks = [1, 2].flatMap((n) =>
      barsOf(
        toBatch(
          kit,
          "AAPL" as Symbol,
          readFixture(`finnhub/candle_AAPL_1_2024-03-08_chunk${n}.json`) as Candle
        ) as BarBatch
      )
    )
    expect(chunks).toEqual(
      barsOf(toBatch(kit, "AAPL" as Symbol, readFixture("finnhub/candle_AAPL_1_2024-03-08.json") as Candle) as BarBatch)
    )
    expect(chunks.length).toBe(6)
  })

  test("malformed candles are named (unequal arrays, a non-number, an unknown status); out-of-window rows dropped", () => {
    const { kit } = host()
    const full = readFixture("finnhub/candle_AAPL_1_2024-03-08.json") as Candle & { c: Array<unknown> }
    expect(toBatch(kit, "AAPL" as Symbol, { ...full, c: full.c.slice(1) })).toMatch(/unequal length/)
    expect(toBatch(kit, "AAPL" as Symbol, { ...full, c: ["x", ...full.c.slice(1)] })).toMatch(/malformed candle 0/)
    expect(toBatch(kit, "AAPL" as Symbol, { s: "error" })).toMatch(/unexpected candle status/)
    expect(toBatch(kit, "AAPL" as Symbol, { s: "ok" })).toMatch(/arrays missing/)
    const empty = toBatch(kit, "AAPL" as Symbol, readFixture("finnhub/candle_no_data.json") as Candle) as BarBatch
    expect(empty.ts.length).toBe(0)
    // Rows outside the requested window (a server that answers more than asked) are dropped.
    const window = { start: Date.parse("2024-03-08T14:31:00Z"), end: Date.parse("2024-03-08T14:34:00Z"), daily: false }
    const inside = barsOf(toBatch(kit, "AAPL" as Symbol, full, window) as BarBatch)
    expect(inside.map((b) => new Date(b.ts).toISOString().slice(11, 16))).toEqual(["14:31", "14:32", "14:33"])
    expect(inside[0]).toMatchObject({ open: 169.3, close: 169.27, volume: 664094, vwap: null, trade_count: null })
  })

  test("ranges split into chunk_days chunks land exactly the bars a fake-provider ingest lands", async () => {
    emulator.resetStats()
    const viaFinnhub = fresh()
    // Two-day chunks: each symbol's window (Thu 09:30 to Tue 16:00) takes three requests.
    const summary = await ingestThrough(
      run({ chunk_days: 2 }),
      viaFinnhub,
      ["AAPL", "MSFT"],
      "2024-03-07",
      "2024-03-12"
    )
    expect(summary.job).toMatchObject({ state: "succeeded", partitionsDone: 8, barsWritten: 8 * 390 })
    expect(emulator.stats().byPath[candlePath]).toBeGreaterThan(2 * 2)
    const direct = fresh()
    await ingestThrough(fakeRun, direct, ["AAPL", "MSFT"], "2024-03-07", "2024-03-12")
    const got = await ohlcvDigest(viaFinnhub)
    expect(got).toEqual(await ohlcvDigest(direct))
    expect(Number(got.n)).toBe(8 * 390)
    const reported = await duckdb<{ n: string }>(
      `SELECT count(*) AS n FROM ${lakeGlob(viaFinnhub)} WHERE vwap IS NOT NULL OR trade_count IS NOT NULL`
    )
    expect(Number(reported[0]?.n)).toBe(0)
    for (const file of listFiles(viaFinnhub)) {
      expect(readFileSync(join(viaFinnhub, file), "latin1").includes(emulator.keys.finnhub)).toBe(false)
    }
    const first = async (day: string) => {
      const s = sessionOf(day)
      const got = await collect({}, request(s.open, s.close))
      return new Date((got[0] as BarBatch).ts[0] as number).toISOString()
    }
    expect(await first("2024-03-08")).toBe("2024-03-08T14:30:00.000Z")
    expect(await first("2024-03-11")).toBe("2024-03-11T13:30:00.000Z")
  }, 60_000)

  test("more than a month is split into requests of at most 30 days; the emulator refuses longer ones", async () => {
    const refused = await fetch(
      `${emulator.url}/api/v1/stock/candle?symbol=AAPL&resolution=1&from=1704205800&to=1709931600`,
      { headers: { "X-Finnhub-Token": emulator.keys.finnhub } }
    )
    expect(refused.status).toBe(422)
    emulator.resetStats()
    const start = sessionOf("2024-01-02").open
    const end = sessionOf("2024-03-08").close
    const batches = await collect({}, request(start, end))
    // 66 days: 30 + 30 + 6.
    expect(emulator.stats().byPath[candlePath]).toBe(3)
    expect(batches.length).toBe(3)
    const ts = batches.flatMap((b) => Array.from(b.ts))
    const expected = calendar
      .tradingDays("2024-01-02", "2024-03-08")
      .reduce((n, day) => n + calendar.expectedBars(day, "extended", 1), 0)
    // Extended-hours bars come too (the pipeline keeps the requested session); none is lost or repeated at the seams.
    expect(ts.filter((t) => t >= start && t < end).length).toBe(ts.length)
    expect(new Set(ts).size).toBe(ts.length)
    expect(ts.every((t, i) => i === 0 || t > (ts[i - 1] as number))).toBe(true)
    expect(ts.length).toBeLessThan(expected)
    expect(ts.length).toBeGreaterThan(expected - 2 * 960)
  }, 60_000)

  test("5m candles are aligned; daily candles (stamped 00:00 UTC) are labelled with their session open", async () => {
    const from = sessionOf("2024-03-07").open
    const to = sessionOf("2024-03-12").close
    const five = await collect({}, request(from, to, "5m"))
    const fiveTs = five.flatMap((b) => Array.from(b.ts))
    expect(fiveTs.length).toBeGreaterThan(4 * 78)
    expect(fiveTs.every((t) => t % 300_000 === 0)).toBe(true)
    const daily = (await collect({}, request(from, to, "1d"))).flatMap((b) => barsOf(b))
    expect(daily.map((b) => new Date(b.ts).toISOString())).toEqual([
      "2024-03-07T14:30:00.000Z",
      "2024-03-08T14:30:00.000Z",
      "2024-03-11T13:30:00.000Z",
      "2024-03-12T13:30:00.000Z"
    ])
    // The daily bar is the regular session's minutes rolled up.
    const minutes = (await collect({}, request(sessionOf("2024-03-08").open, sessionOf("2024-03-08").close)))
      .flatMap((b) => barsOf(b))
      .filter((b) => b.ts >= sessionOf("2024-03-08").open && b.ts < sessionOf("2024-03-08").close)
    expect(daily[1]).toMatchObject({
      open: minutes[0]?.open,
      close: minutes.at(-1)?.close,
      high: Math.max(...minutes.map((b) => b.high)),
      low: Math.min(...minutes.map((b) => b.low)),
      volume: minutes.reduce((v, b) => v + b.volume, 0)
    })
  }, 60_000)

  test('{"s":"no_data"} is no bars, not an error', async () => {
    const sat = Date.parse("2024-03-09T14:00:00Z")
    expect((await collect({}, request(sat, sat + 3_600_000))).length).toBe(0)
    const c = await Effect.runPromise(makeClient(run()))
    const unsupported = await Effect.runPromise(Effect.flip(Stream.runCollect(c.bars(request(sat, sat + 1, "4h")))))
    expect(unsupported.reason).toMatch(/no 4h candles/)
  })

  test("rejected and free keys stop the run with a fatal error naming FINNHUB_API_KEY; the key is never shown", async () => {
    const dir = fresh()
    const wrong = "wrong-finnhub-key-123"
    const error = await ingestThrough(run({}, wrong), dir, ["AAPL"], "2024-03-07", "2024-03-08").catch(
      (e: unknown) => e
    )
    expect(error).toMatchObject({ _tag: "ProviderError", fatal: true })
    expect(String((error as Error).message)).toMatch(/Finnhub rejected the API key .*check FINNHUB_API_KEY/)
    expect(String((error as Error).message).includes(wrong)).toBe(false)
    for (const file of listFiles(dir)) {
      expect(readFileSync(join(dir, file), "latin1").includes(wrong)).toBe(false)
    }
    const free = `free-${emulator.keys.finnhub}`
    const freeDir = fresh()
    const denied = await ingestThrough(run({}, free), freeDir, ["AAPL"], "2024-03-07", "2024-03-08").catch(
      (e: unknown) => e
    )
    expect(denied).toMatchObject({ _tag: "ProviderError", fatal: true })
    expect(String((denied as Error).message)).toMatch(/candles need a paid Finnhub plan \(HTTP 403/)
    expect(String((denied as Error).message).includes(free)).toBe(false)
    for (const file of listFiles(freeDir)) {
      expect(readFileSync(join(freeDir, file), "latin1").includes(free)).toBe(false)
    }
    // The free key still reads the symbol list (a free endpoint).
    const freeClient = await Effect.runPromise(makeClient(run({}, free)))
    expect((await Effect.runPromise(Stream.runCollect(freeClient.symbols?.() ?? Stream.empty))).length).toBe(6)
    const missing = await Effect.runPromise(Effect.flip(makeClient({ ...run(), env: {} })))
    expect(missing.reason).toMatch(/set FINNHUB_API_KEY/)
    expect(missing.fatal).toBe(true)
    const blank = await Effect.runPromise(Effect.flip(makeClient(run({}, "  "))))
    expect(blank.reason).toMatch(/set FINNHUB_API_KEY/)
    const badOption = await Effect.runPromise(Effect.flip(makeClient(run({ chunk_days: 31 }))))
    expect(badOption.reason).toMatch(/providers\.finnhub/)
  }, 60_000)

  test("symbols() lists the US symbol list with names and MICs", async () => {
    const c = await Effect.runPromise(makeClient(run()))
    const list = await Effect.runPromise(Stream.runCollect(c.symbols?.() ?? Stream.empty))
    const fixture = readFixture("finnhub/stock_symbol_US.json") as Array<{ symbol: string }>
    expect(list.map((s) => String(s.symbol))).toEqual(fixture.map((r) => r.symbol))
    expect(list.find((s) => s.symbol === "AAPL")).toEqual({
      symbol: "AAPL" as Symbol,
      name: "APPLE INC",
      exchange: "XNAS"
    })
    expect(list.find((s) => s.symbol === "BRK.B")).toMatchObject({ exchange: "XNYS" })
  })

  test("profile() converts Finnhub's millions to dollars and shares; an unknown symbol is undefined", async () => {
    const c = (await Effect.runPromise(makeClient(run()))) as unknown as {
      readonly profile: (symbol: Symbol) => Effect.Effect<CompanyProfile | undefined, ProviderError>
    }
    const aapl = await Effect.runPromise(c.profile("AAPL" as Symbol))
    expect(aapl).toMatchObject({
      symbol: "AAPL",
      name: "Apple Inc",
      industry: "Technology",
      marketCap: 2_658_319_810_000,
      sharesOutstanding: 15_441_880_000
    })
    expect((await Effect.runPromise(c.profile("MSFT" as Symbol)))?.marketCap).toBe(3_004_806_990_000)
    expect(await Effect.runPromise(c.profile("ZZZZQ" as Symbol))).toBeUndefined()
  })
})

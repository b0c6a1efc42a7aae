import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Effect, Stream } from "effect"
import {
  type BarBatch,
  type BarsRequest,
  barsOf,
  type ProviderClient,
  type ProviderError,
  type ReferenceRequest,
  type Symbol,
  type SymbolMeta
} from "../../mod.ts"
import fake from "../../plugins/fake/mod.ts"
import finnhub from "../../plugins/finnhub/mod.ts"
import { type Candle, type CompanyProfile, toBatch } from "../../plugins/finnhub/wire.ts"
import { tradingDayOf } from "../../src/domain/partition.ts"
import { makePluginHost } from "../../src/providers/host.ts"
import { makeDataset } from "../emulators/dataset.ts"
import { finnhubRoutes } from "../emulators/finnhub.ts"
import { closeOnOrBefore, listedOn, listingOf, listings } from "../emulators/reference.ts"
import { type Emulator, type EmulatorOptions, startEmulator } from "../emulators/server.ts"
import type { ProviderRoutes } from "../emulators/types.ts"
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
const symbolPath = "/api/v1/stock/symbol"
const profilePath = "/api/v1/stock/profile2"

/** The tickers the register lists on the emulator's today (every register date is before it). */
const listedNow = () =>
  listings
    .filter((l) => listedOn(l, tradingDayOf(Date.now())))
    .map((l) => l.ticker)
    .sort()

const referenceOf = (c: ProviderClient, details: ReferenceRequest["details"]) => {
  if (c.reference === undefined) throw new Error("the finnhub plugin has no reference part")
  return c.reference.symbols({ asOf: tradingDayOf(Date.now()), details })
}
const collectReference = async (c: ProviderClient, details: ReferenceRequest["details"] = []) =>
  Array.from(await Effect.runPromise(Stream.runCollect(referenceOf(c, details)))) as Array<SymbolMeta>
const referenceError = (c: ProviderClient, details: ReferenceRequest["details"] = []) =>
  Effect.runPromise(Effect.flip(Stream.runCollect(referenceOf(c, details))))
const symbols = (details: ReadonlyArray<string>) => details as ReadonlyArray<Symbol>

/** A second emulator for one test (its own fault sequence, from the same seed every time; or its own routes). */
const withEmulator = async <A>(options: EmulatorOptions, use: (e: Emulator) => Promise<A>): Promise<A> => {
  const e = await startEmulator({ routes: [finnhubRoutes], ...options })
  try {
    return await use(e)
  } finally {
    await e.stop()
  }
}
const runOn = (e: Emulator, options: Record<string, unknown> = {}) => ({ ...run(options), baseUrl: `${e.url}/api/v1` })

/**
 * The register's market cap for a listing as the emulator computes it: shares × the last close. Either New York
 * day around the request counts, so a test run across midnight still agrees with the emulator.
 */
const expectedCaps = (ticker: string, days: ReadonlyArray<string>) => {
  const l = listingOf(ticker)
  if (l?.shares === undefined) throw new Error(`${ticker} has no shares in the register`)
  const dataset = makeDataset()
  return days.map((day) => (l.shares ?? 0) * (closeOnOrBefore(dataset, l, day) ?? Number.NaN))
}

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
    expect((await Effect.runPromise(Stream.runCollect(freeClient.symbols?.() ?? Stream.empty))).length).toBe(
      listedNow().length
    )
    const missing = await Effect.runPromise(Effect.flip(makeClient({ ...run(), env: {} })))
    expect(missing.reason).toMatch(/set FINNHUB_API_KEY/)
    expect(missing.fatal).toBe(true)
    const blank = await Effect.runPromise(Effect.flip(makeClient(run({}, "  "))))
    expect(blank.reason).toMatch(/set FINNHUB_API_KEY/)
    const badOption = await Effect.runPromise(Effect.flip(makeClient(run({ chunk_days: 31 }))))
    expect(badOption.reason).toMatch(/providers\.finnhub/)
  }, 60_000)

  test("symbols() (contract v1) lists the symbols trading now with names and MICs", async () => {
    const c = await Effect.runPromise(makeClient(run()))
    const list = await Effect.runPromise(Stream.runCollect(c.symbols?.() ?? Stream.empty))
    expect(list.map((s) => String(s.symbol)).sort()).toEqual(listedNow())
    expect(list.find((s) => s.symbol === "AAPL")).toMatchObject({ name: "APPLE INC.", exchange: "XNAS" })
    expect(list.find((s) => s.symbol === "JPM")).toMatchObject({ exchange: "XNYS" })
  })

  test("profile() converts Finnhub's millions to dollars and shares; unknown and delisted symbols are undefined", async () => {
    const c = (await Effect.runPromise(makeClient(run()))) as unknown as {
      readonly profile: (symbol: Symbol) => Effect.Effect<CompanyProfile | undefined, ProviderError>
    }
    const before = tradingDayOf(Date.now())
    const aapl = await Effect.runPromise(c.profile("AAPL" as Symbol))
    const caps = expectedCaps("AAPL", [before, tradingDayOf(Date.now())])
    expect(aapl).toMatchObject({
      symbol: "AAPL",
      name: "Apple Inc.",
      exchange: "NASDAQ NMS - GLOBAL MARKET",
      industry: "Technology",
      ipo: "1980-12-12",
      // 15,441.88 million: Finnhub's two decimals of millions.
      sharesOutstanding: 15_441_880_000
    })
    // Within Finnhub's rounding to a hundredth of a million.
    expect(caps.some((cap) => Math.abs((aapl?.marketCap ?? 0) - cap) <= 5_000)).toBe(true)
    expect(await Effect.runPromise(c.profile("ZZZZQ" as Symbol))).toBeUndefined()
    expect(await Effect.runPromise(c.profile("TWTR" as Symbol))).toBeUndefined()
  })

  test("reference.symbols lists the register's current listings with names, MICs, types and USD; no profiles", async () => {
    emulator.resetStats()
    const c = await Effect.runPromise(makeClient(run()))
    const list = await collectReference(c)
    expect(list.map((s) => String(s.symbol)).sort()).toEqual(listedNow())
    const of = (symbol: string) => list.find((s) => s.symbol === symbol)
    expect(of("AAPL")).toEqual({
      symbol: "AAPL" as Symbol,
      name: "APPLE INC.",
      exchange: "XNAS",
      type: "CS",
      currency: "USD",
      active: true
    })
    expect(of("SPY")).toMatchObject({ exchange: "ARCX", type: "ETF" })
    expect(of("ARM")).toMatchObject({ exchange: "XNAS", type: "ADRC" })
    expect(of("A")).toMatchObject({ exchange: "XNYS", type: "CS" })
    // Finnhub lists only what trades: the delisted ones are simply absent, the renamed company under its new ticker.
    expect(of("TWTR")).toBeUndefined()
    expect(of("FB")).toBeUndefined()
    expect(of("META")).toMatchObject({ active: true })
    // Finnhub's "" description, mic and type are no name, exchange or type, not empty ones.
    expect(of("ZXZZT")).toStrictEqual({ symbol: "ZXZZT" as Symbol, currency: "USD", active: true })
    expect(emulator.stats().byPath[symbolPath]).toBe(1)
    expect(emulator.stats().byPath[profilePath]).toBeUndefined()
    expect(finnhub.contractVersion).toBe(3)
    expect(finnhub.capabilities.reference?.detailFields).toEqual([
      "marketCap",
      "sharesOutstanding",
      "sector",
      "listDate",
      "currency"
    ])
  })

  test("details for AAPL (and an unlisted symbol) cost exactly one profile request and add AAPL's figures", async () => {
    const c = await Effect.runPromise(makeClient(run()))
    const plain = await collectReference(c)
    emulator.resetStats()
    const before = tradingDayOf(Date.now())
    const list = await collectReference(c, symbols(["AAPL", "ZZZZQ"]))
    const caps = expectedCaps("AAPL", [before, tradingDayOf(Date.now())])
    expect(emulator.stats().byPath[profilePath]).toBe(1)
    expect(emulator.stats().byPath[symbolPath]).toBe(1)
    const aapl = list.find((s) => s.symbol === "AAPL")
    expect(aapl).toMatchObject({
      name: "APPLE INC.",
      exchange: "XNAS",
      type: "CS",
      sector: "Technology",
      listDate: "1980-12-12",
      sharesOutstanding: 15_441_880_000,
      currency: "USD"
    })
    expect(caps.some((cap) => Math.abs((aapl?.marketCap ?? 0) - cap) <= 5_000)).toBe(true)
    // The unlisted symbol adds no row; every other row is the plain list's.
    expect(list.some((s) => s.symbol === "ZZZZQ")).toBe(false)
    expect(list.filter((s) => s.symbol !== "AAPL")).toEqual(plain.filter((s) => s.symbol !== "AAPL"))
  })

  test('details "all" look up every listed symbol once; a profile of {} adds nothing', async () => {
    const c = await Effect.runPromise(makeClient(run()))
    emulator.resetStats()
    const list = await collectReference(c, "all")
    expect(emulator.stats().byPath[profilePath]).toBe(listedNow().length)
    expect(list.map((s) => String(s.symbol))).toEqual(listedNow())
    expect(list.find((s) => s.symbol === "ZXZZT")).toStrictEqual({
      symbol: "ZXZZT" as Symbol,
      currency: "USD",
      active: true
    })
    expect(list.find((s) => s.symbol === "ARM")).toMatchObject({ sector: "Semiconductors", listDate: "2023-09-14" })
    // SPY has no industry in the register: no sector, and no guess at one.
    expect(list.find((s) => s.symbol === "SPY")).not.toHaveProperty("sector")
    expect(list.find((s) => s.symbol === "SPY")).toMatchObject({ sharesOutstanding: 1_010_000_000 })
  })

  test("5xx answers on the list and the profiles are retried and the result comes through whole", async () => {
    const clean = await collectReference(await Effect.runPromise(makeClient(run())), symbols(["AAPL", "MSFT"]))
    await withEmulator({ faults: { error5xxRate: 0.5 } }, async (faulty) => {
      const c = await Effect.runPromise(makeClient(runOn(faulty, { max_attempts: 12 })))
      const got = await collectReference(c, symbols(["AAPL", "MSFT"]))
      // The close behind the market cap is the same dataset's, so only a run across midnight could differ.
      expect(got.map(({ marketCap: _, ...rest }) => rest)).toEqual(clean.map(({ marketCap: _, ...rest }) => rest))
      expect(got.find((s) => s.symbol === "MSFT")?.marketCap).toBeGreaterThan(0)
      expect(faulty.stats().faults.http5xx).toBeGreaterThan(0)
    })
  })

  test("a persistent 5xx fails the stream with a ProviderError (not an empty list) that shows no key", async () => {
    emulator.setFaults({ error5xxRate: 1 })
    try {
      const error = await referenceError(await Effect.runPromise(makeClient(run({ max_attempts: 3 }))))
      expect(error).toMatchObject({ _tag: "ProviderError", exhausted: true })
      expect(error.message).toMatch(/gave up after 3 tries: HTTP 50\d.*\/stock\/symbol/)
      expect(error.message.includes(emulator.keys.finnhub)).toBe(false)
    } finally {
      emulator.setFaults({})
    }
  })

  test("a failing profile fails the whole stream; details are never dropped silently", async () => {
    const profilesDown: ProviderRoutes = {
      ...finnhubRoutes,
      handle: (req, ctx) =>
        req.path.endsWith("/stock/profile2")
          ? { status: 503, body: { error: "Service unavailable" } }
          : finnhubRoutes.handle(req, ctx)
    }
    await withEmulator({ routes: [profilesDown] }, async (e) => {
      const c = await Effect.runPromise(makeClient(runOn(e, { max_attempts: 2 })))
      const error = await referenceError(c, symbols(["MSFT"]))
      expect(error).toMatchObject({ _tag: "ProviderError", exhausted: true })
      expect(error.message).toMatch(/gave up after 2 tries: HTTP 503: Service unavailable.*\/stock\/profile2/)
      expect(error.message.includes(emulator.keys.finnhub)).toBe(false)
      // Without details the same emulator's list is fine: it is the profile that failed.
      expect((await collectReference(c)).length).toBe(listedNow().length)
    })
  })

  test("a rejected key stops the reference list with a fatal error that never shows it", async () => {
    const wrong = "wrong-finnhub-key-456"
    const error = await referenceError(await Effect.runPromise(makeClient(run({}, wrong))), "all")
    expect(error).toMatchObject({ _tag: "ProviderError", fatal: true })
    expect(error.message).toMatch(/Finnhub rejected the API key \(HTTP 401 Invalid API key\.\): check FINNHUB_API_KEY/)
    expect(error.message.includes(wrong)).toBe(false)
  })
})

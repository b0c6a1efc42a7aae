import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Effect, Stream } from "effect"
import { type BarBatch, barsOf, type ProviderClient, type Symbol, type SymbolMeta } from "../../mod.ts"
import alpaca from "../../plugins/alpaca/mod.ts"
import { toBatch } from "../../plugins/alpaca/wire.ts"
import fake from "../../plugins/fake/mod.ts"
import { tradingDayOf } from "../../src/domain/partition.ts"
import { makePluginHost } from "../../src/providers/host.ts"
import { alpacaRoutes } from "../emulators/alpaca.ts"
import { delistedBy, listedOn, listings } from "../emulators/reference.ts"
import { type Emulator, type EmulatorOptions, startEmulator } from "../emulators/server.ts"
import { canonicalBars, readFixture } from "../support/canonical.ts"
import { lakeDigest } from "../support/lake.ts"
import { calendar, ingestThrough, makeClient } from "../support/provider-run.ts"
import { kitServices } from "../support/run-services.ts"
import { listFiles, useTempDirs } from "../support/temp.ts"

let emulator: Emulator
const fresh = useTempDirs("mp-alpaca-")
beforeAll(async () => {
  emulator = await startEmulator({ routes: [alpacaRoutes] })
})
afterAll(async () => {
  await emulator.stop()
})

const env = () => ({ ALPACA_KEY: emulator.keys.alpaca.id, ALPACA_SECRET: emulator.keys.alpaca.secret })
const run = (options: Record<string, unknown> = {}) => ({
  plugin: alpaca,
  baseUrl: emulator.url,
  env: env(),
  feed: "sip",
  options
})
const fakeRun = { plugin: fake, baseUrl: "", env: {} }

/** The register's tickers as the emulator sees them today (every register date is before it). */
const tickers = (keep: (l: (typeof listings)[number], day: string) => boolean) =>
  listings
    .filter((l) => keep(l, tradingDayOf(Date.now())))
    .map((l) => l.ticker)
    .sort()

const referenceOf = (c: ProviderClient) => {
  if (c.reference === undefined) throw new Error("the alpaca plugin has no reference part")
  return c.reference.symbols({ asOf: tradingDayOf(Date.now()), details: "all" })
}
const collectReference = async (c: ProviderClient): Promise<Array<SymbolMeta>> =>
  Array.from(await Effect.runPromise(Stream.runCollect(referenceOf(c))))
const referenceError = (c: ProviderClient) => Effect.runPromise(Effect.flip(Stream.runCollect(referenceOf(c))))

/** A second emulator for one test (its own fault sequence, from the same seed every time). */
const withEmulator = async <A>(options: EmulatorOptions, use: (e: Emulator) => Promise<A>): Promise<A> => {
  const e = await startEmulator({ routes: [alpacaRoutes], ...options })
  try {
    return await use(e)
  } finally {
    await e.stop()
  }
}

describe("alpaca plugin against the emulator", () => {
  test("fixture pages parse to exactly the canonical bars (a symbol split across pages is appended)", () => {
    const host = makePluginHost("alpaca", calendar, kitServices())
    const parsed: Array<Record<string, unknown>> = []
    for (const day of ["2024-03-08", "2024-03-11"]) {
      for (const page of [1, 2]) {
        const body = readFixture(`alpaca/bars_multi_${day}_page${page}.json`) as {
          bars: Record<string, Array<unknown>>
        }
        for (const [symbol, list] of Object.entries(body.bars)) {
          parsed.push(...barsOf(toBatch(host.kit, symbol as Symbol, list) as BarBatch))
        }
      }
    }
    const byKey = (a: { symbol: string; ts: number }, b: { symbol: string; ts: number }) =>
      a.symbol.localeCompare(b.symbol) || a.ts - b.ts
    expect(parsed.sort(byKey as never)).toEqual(
      canonicalBars()
        .sort(byKey)
        .map((b) => ({ ...b })) as never
    )
  })

  test("multi-page days across DST land exactly the bars a fake-provider ingest lands", async () => {
    emulator.resetStats()
    const viaAlpaca = fresh()
    // 500 bars a page: each symbol's week spans several pages and pages hold two symbols at the seams.
    const summary = await ingestThrough(
      run({ page_limit: 500 }),
      viaAlpaca,
      ["AAPL", "MSFT", "BRK.B"],
      "2024-03-07",
      "2024-03-12"
    )
    expect(summary.job).toMatchObject({ state: "succeeded", partitionsDone: 12, barsWritten: 12 * 390 })
    expect(emulator.stats().requests).toBeGreaterThan(6)
    const direct = fresh()
    await ingestThrough(fakeRun, direct, ["AAPL", "MSFT", "BRK.B"], "2024-03-07", "2024-03-12")
    expect(await lakeDigest(viaAlpaca)).toEqual(await lakeDigest(direct))
    const c = await makeClient(run()).pipe(Effect.runPromise)
    const first = async (day: string) => {
      const s = calendar.session(day, "regular")
      const got = await Effect.runPromise(
        Stream.runCollect(
          c.bars({
            symbols: ["AAPL" as Symbol],
            frame: "1m",
            start: s?.open ?? 0,
            end: s?.close ?? 0,
            feed: "sip",
            adjustment: "raw",
            session: "regular"
          })
        )
      )
      return new Date((got[0] as BarBatch).ts[0] as number).toISOString()
    }
    expect(await first("2024-03-08")).toBe("2024-03-08T14:30:00.000Z")
    expect(await first("2024-03-11")).toBe("2024-03-11T13:30:00.000Z")
  })

  test("an empty result ({} bars, null token) is no bars, not an error", async () => {
    const c = await Effect.runPromise(makeClient(run()))
    const sat = Date.parse("2024-03-09T14:00:00Z")
    const got = await Effect.runPromise(
      Stream.runCollect(
        c.bars({
          symbols: ["AAPL" as Symbol],
          frame: "1m",
          start: sat,
          end: sat + 3_600_000,
          feed: "sip",
          adjustment: "raw",
          session: "regular"
        })
      )
    )
    expect(got.length).toBe(0)
  })

  test("rejected keys stop the run with a fatal error that names the credentials and never shows them", async () => {
    const dir = fresh()
    const bad = { ...run(), env: { ALPACA_KEY: emulator.keys.alpaca.id, ALPACA_SECRET: "wrong-secret-value-123" } }
    const error = await ingestThrough(bad, dir, ["AAPL"], "2024-03-07", "2024-03-08").catch((e: unknown) => e)
    expect(error).toMatchObject({ _tag: "ProviderError", fatal: true })
    expect(String((error as Error).message)).toMatch(/check ALPACA_KEY and ALPACA_SECRET/)
    for (const file of listFiles(dir)) {
      const bytes = readFileSync(join(dir, file), "latin1")
      expect(bytes.includes("wrong-secret-value-123")).toBe(false)
      expect(bytes.includes(emulator.keys.alpaca.id)).toBe(false)
    }
    expect(String((error as Error).message).includes("wrong-secret-value-123")).toBe(false)
    const missing = await Effect.runPromise(Effect.flip(makeClient({ ...run(), env: {} })))
    expect(missing.reason).toMatch(/set ALPACA_KEY and ALPACA_SECRET/)
  })

  test("SIP data from the last 15 minutes is refused with a hint to use the IEX feed", async () => {
    const c = await Effect.runPromise(makeClient(run()))
    const now = Date.now()
    const error = await Effect.runPromise(
      Effect.flip(
        Stream.runCollect(
          c.bars({
            symbols: ["AAPL" as Symbol],
            frame: "1m",
            start: now - 3_600_000,
            end: now,
            feed: "sip",
            adjustment: "raw",
            session: "regular"
          })
        )
      )
    )
    expect(error.reason).toMatch(/use --feed iex/)
    expect(error.fatal).toBe(false)
  })

  test("reference.symbols lists listed assets as active and delisted ones as inactive, with MICs and USD", async () => {
    emulator.resetStats()
    const c = await Effect.runPromise(makeClient(run()))
    const list = await collectReference(c)
    expect(list.map((s) => String(s.symbol)).sort()).toEqual(tickers((l, d) => listedOn(l, d) || delistedBy(l, d)))
    const of = (symbol: string) => list.find((s) => s.symbol === symbol)
    expect(of("AAPL")).toEqual({
      symbol: "AAPL" as Symbol,
      name: "Apple Inc.",
      exchange: "XNAS",
      active: true,
      currency: "USD"
    })
    expect(of("JPM")).toMatchObject({ exchange: "XNYS", active: true })
    expect(of("SPY")).toMatchObject({ name: "SPDR S&P 500 ETF Trust", exchange: "ARCX", active: true })
    expect(of("TWTR")).toEqual({
      symbol: "TWTR" as Symbol,
      name: "Twitter, Inc. Common Stock",
      exchange: "XNYS",
      active: false,
      currency: "USD"
    })
    // The rename: the old ticker inactive, the new one active.
    expect(of("FB")).toMatchObject({ active: false })
    expect(of("META")).toMatchObject({ active: true })
    // No name (Alpaca's ""), and over the counter since it has no listing exchange; Alpaca has no types at all.
    expect(of("ZXZZT")).toStrictEqual({ symbol: "ZXZZT" as Symbol, exchange: "OTCM", active: true, currency: "USD" })
    expect(list.some((s) => "type" in s || "listDate" in s || "marketCap" in s)).toBe(false)
    // One request per status, nothing per symbol.
    expect(emulator.stats().byPath["/v2/assets"]).toBe(2)
    expect(alpaca.contractVersion).toBe(3)
    expect(alpaca.capabilities.reference).toEqual({
      pointInTime: false,
      delisted: false,
      detailFields: [],
      marketDay: false
    })
  })

  test("symbols() (contract v1) lists only the assets trading now", async () => {
    const c = await Effect.runPromise(makeClient(run({ trading_base_url: emulator.url })))
    const list = await Effect.runPromise(Stream.runCollect(c.symbols?.() ?? Stream.empty))
    expect(list.map((s) => String(s.symbol)).sort()).toEqual(tickers(listedOn))
    expect(list.every((s) => s.active === true)).toBe(true)
    expect(list.find((s) => s.symbol === "MSFT")).toMatchObject({ name: "Microsoft Corp", exchange: "XNAS" })
  })

  test("the emulator answers one asset by symbol or id, and Alpaca's 404 for one it does not know", async () => {
    const get = (path: string) =>
      fetch(`${emulator.url}${path}`, {
        headers: { "APCA-API-KEY-ID": emulator.keys.alpaca.id, "APCA-API-SECRET-KEY": emulator.keys.alpaca.secret }
      })
    const aapl = (await (await get("/v2/assets/AAPL")).json()) as Record<string, unknown>
    expect(aapl).toMatchObject({
      class: "us_equity",
      exchange: "NASDAQ",
      symbol: "AAPL",
      name: "Apple Inc.",
      status: "active",
      tradable: true,
      attributes: []
    })
    expect(String(aapl.id)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(await (await get(`/v2/assets/${String(aapl.id)}`)).json()).toEqual(aapl)
    expect(await (await get("/v2/assets/TWTR")).json()).toMatchObject({ status: "inactive", tradable: false })
    const missing = await get("/v2/assets/NOPE")
    expect(missing.status).toBe(404)
    expect(await missing.json()).toEqual({ code: 40410000, message: "asset not found" })
  })

  test("a 5xx on the assets list is retried and the list comes through whole", async () => {
    const clean = await collectReference(await Effect.runPromise(makeClient(run())))
    await withEmulator({ faults: { error5xxRate: 0.5 } }, async (faulty) => {
      const c = await Effect.runPromise(makeClient({ ...run({ max_attempts: 12 }), baseUrl: faulty.url }))
      expect(await collectReference(c)).toEqual(clean)
      expect(faulty.stats().faults.http5xx).toBeGreaterThan(0)
    })
  })

  test("a persistent 5xx fails the stream with a ProviderError (not an empty list) that shows no key", async () => {
    emulator.setFaults({ error5xxRate: 1 })
    try {
      const c = await Effect.runPromise(makeClient(run({ max_attempts: 3 })))
      const error = await referenceError(c)
      expect(error).toMatchObject({ _tag: "ProviderError", exhausted: true })
      expect(error.message).toMatch(/gave up after 3 tries: HTTP 50\d.*\/v2\/assets/)
      expect(error.message.includes(emulator.keys.alpaca.id)).toBe(false)
      expect(error.message.includes(emulator.keys.alpaca.secret)).toBe(false)
    } finally {
      emulator.setFaults({})
    }
  })

  test("a rejected key on the Trading API stops the reference list with a fatal error that never shows it", async () => {
    const wrong = "wrong-secret-value-456"
    const c = await Effect.runPromise(
      makeClient({ ...run(), env: { ALPACA_KEY: emulator.keys.alpaca.id, ALPACA_SECRET: wrong } })
    )
    const error = await referenceError(c)
    expect(error).toMatchObject({ _tag: "ProviderError", fatal: true })
    expect(error.message).toMatch(
      /Trading API rejected the credentials \(HTTP 401\).*check ALPACA_KEY and ALPACA_SECRET/
    )
    expect(error.message.includes(wrong)).toBe(false)
    expect(error.message.includes(emulator.keys.alpaca.id)).toBe(false)
  })
})

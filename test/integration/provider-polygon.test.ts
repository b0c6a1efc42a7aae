import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Effect, Stream } from "effect"
import { type BarBatch, type BarsRequest, barsOf, type ProviderPlugin, type Symbol } from "../../mod.ts"
import fake from "../../plugins/fake/mod.ts"
import polygon from "../../plugins/polygon/mod.ts"
import { toBatch } from "../../plugins/polygon/wire.ts"
import { makePluginHost } from "../../src/providers/host.ts"
import { makeDataset } from "../emulators/dataset.ts"
import { polygonRoutes } from "../emulators/polygon.ts"
import { closeOnOrBefore, listingOf } from "../emulators/reference.ts"
import { type Emulator, startEmulator } from "../emulators/server.ts"
import type { EmulatorRequest, ProviderRoutes } from "../emulators/types.ts"
import { canonicalBars, readFixture } from "../support/canonical.ts"
import { lakeDigest } from "../support/lake.ts"
import { calendar, ingestThrough, makeClient, type PluginRun } from "../support/provider-run.ts"
import { kitServices } from "../support/run-services.ts"
import { listFiles, useTempDirs } from "../support/temp.ts"

/** What the quirks emulator saw: every request's path, query and Authorization header. */
const seen: Array<{ path: string; query: string; authorization: string | undefined }> = []

/**
 * Polygon as it really answers, where the shared emulator is kinder: `next_url` on Polygon's own host (so a client
 * must keep only path + query), `status: "DELAYED"`, and a plan error (NOPLAN) and an unknown ticker (ZZZZQ).
 */
const quirkRoutes: ProviderRoutes = {
  ...polygonRoutes,
  handle: (req: EmulatorRequest, ctx) => {
    seen.push({ path: req.path, query: req.query.toString(), authorization: req.headers.authorization })
    if (req.path.startsWith("/v2/aggs/ticker/NOPLAN/")) {
      return { status: 403, body: readFixture("polygon/error_403_not_authorized.json") }
    }
    if (req.path.startsWith("/v2/aggs/ticker/ZZZZQ/")) {
      return { status: 404, body: readFixture("polygon/error_404_ticker_not_found.json") }
    }
    const answer = polygonRoutes.handle(req, ctx)
    const body = answer.body as Record<string, unknown>
    if (answer.status !== 200 || body === null || typeof body !== "object") return answer
    const next = typeof body.next_url === "string" ? new URL(body.next_url) : undefined
    return {
      ...answer,
      body: {
        ...body,
        ...(body.status === "OK" ? { status: "DELAYED" } : {}),
        ...(next === undefined ? {} : { next_url: `https://api.massive.com${next.pathname}${next.search}` })
      }
    }
  }
}

let emulator: Emulator
let quirks: Emulator

/** Everything a plugin stream gives, in order (an absent part gives nothing). */
const drain = async <A>(stream: Stream.Stream<A, unknown> | undefined): Promise<Array<A>> =>
  Array.from(await Effect.runPromise(Stream.runCollect(stream ?? Stream.empty)))
const fresh = useTempDirs("mp-polygon-")
beforeAll(async () => {
  emulator = await startEmulator({ routes: [polygonRoutes] })
  quirks = await startEmulator({ routes: [quirkRoutes] })
})
afterAll(async () => {
  await emulator.stop()
  await quirks.stop()
})

/**
 * The plugin as a user with a paid plan configures it (`providers.polygon.rate_limit`): the free plan's 5 requests a
 * minute would make every test here wait minutes.
 */
const paidPlan: ProviderPlugin = {
  ...polygon,
  make: (host, settings) =>
    polygon.make(host, { ...settings, rateLimit: settings.rateLimit ?? { requests: 1000, perSeconds: 1 } })
}

const run = (
  options: Record<string, unknown> = {},
  env: Record<string, string> = {},
  baseUrl = emulator.url
): PluginRun => ({
  plugin: paidPlan,
  baseUrl,
  env: { POLYGON_API_KEY: emulator.keys.polygon, ...env },
  options
})
const fakeRun = { plugin: fake, baseUrl: "", env: {} }

const request = (symbols: ReadonlyArray<string>, start: number, end: number): BarsRequest => ({
  symbols: symbols as ReadonlyArray<Symbol>,
  frame: "1m",
  start,
  end,
  feed: "sip",
  adjustment: "raw",
  session: "regular"
})

const collect = (r: PluginRun, req: BarsRequest) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const client = yield* makeClient(r)
      return yield* Stream.runCollect(client.bars(req))
    })
  )

const failure = (r: PluginRun, req: BarsRequest) =>
  Effect.runPromise(
    Effect.flip(
      Effect.gen(function* () {
        const client = yield* makeClient(r)
        return yield* Stream.runCollect(client.bars(req))
      })
    )
  )

describe("polygon plugin against the emulator", () => {
  test("fixture pages parse to the canonical bars (vwap rounded to 4 decimals by Polygon)", () => {
    const host = makePluginHost("polygon", calendar, kitServices())
    const parsed: Array<Record<string, unknown>> = []
    for (const symbol of ["AAPL", "MSFT"]) {
      for (const day of ["2024-03-08", "2024-03-11"]) {
        for (const page of [1, 2]) {
          const body = readFixture(`polygon/aggs_${symbol}_1minute_${day}_page${page}.json`) as {
            results: Array<unknown>
            next_url?: string
          }
          expect(body.next_url === undefined).toBe(page === 2)
          const batch = toBatch(host.kit, symbol as Symbol, body.results)
          expect(typeof batch).not.toBe("string")
          parsed.push(...barsOf(batch as BarBatch))
        }
      }
    }
    const byKey = (a: { symbol: string; ts: number }, b: { symbol: string; ts: number }) =>
      a.symbol.localeCompare(b.symbol) || a.ts - b.ts
    const expected = canonicalBars().sort(byKey)
    parsed.sort(byKey as never)
    expect(parsed.length).toBe(expected.length)
    expected.forEach((want, i) => {
      const got = parsed[i] as Record<string, unknown>
      expect({ ...got, vwap: 0 }).toEqual({ ...want, vwap: 0 } as never)
      expect(Math.abs((got.vwap as number) - want.vwap)).toBeLessThanOrEqual(1e-4 + 1e-9)
    })
  })

  test("toBatch names a malformed bar and keeps NaN for a missing vwap or trade count", () => {
    const host = makePluginHost("polygon", calendar, kitServices())
    const ok = toBatch(host.kit, "AAPL" as Symbol, [{ t: 1709908200000, o: 1, h: 2, l: 0.5, c: 1.5, v: 10 }])
    expect(barsOf(ok as BarBatch)[0]).toMatchObject({ trade_count: null, vwap: null, ts: 1709908200000 })
    expect(toBatch(host.kit, "AAPL" as Symbol, [{ t: "2024-03-08", o: 1, h: 2, l: 0.5, c: 1.5, v: 10 }])).toMatch(
      /malformed bar 0 for AAPL/
    )
    expect(toBatch(host.kit, "AAPL" as Symbol, [null])).toMatch(/malformed bar 0/)
  })

  test("multi-page days across DST land exactly the bars a fake-provider ingest lands", async () => {
    emulator.resetStats()
    const viaPolygon = fresh()
    // 300 results a page: every regular session (390 bars) and every night between two sessions spans pages.
    const summary = await ingestThrough(
      run({ page_limit: 300 }),
      viaPolygon,
      ["AAPL", "MSFT"],
      "2024-03-07",
      "2024-03-12"
    )
    expect(summary.job).toMatchObject({ state: "succeeded", partitionsDone: 8, barsWritten: 8 * 390 })
    const stats = emulator.stats()
    expect(stats.requests).toBeGreaterThan(2 * 8)
    expect(stats.byProvider.polygon).toBe(stats.requests)
    const direct = fresh()
    await ingestThrough(fakeRun, direct, ["AAPL", "MSFT"], "2024-03-07", "2024-03-12")
    expect(await lakeDigest(viaPolygon)).toEqual(await lakeDigest(direct))
    const first = async (day: string) => {
      const s = calendar.session(day, "regular")
      const got = await collect(run({ page_limit: 300 }), request(["AAPL"], s?.open ?? 0, s?.close ?? 0))
      expect(got.reduce((n, b) => n + b.ts.length, 0)).toBe(390)
      return new Date((got[0] as BarBatch).ts[0] as number).toISOString()
    }
    expect(await first("2024-03-08")).toBe("2024-03-08T14:30:00.000Z")
    expect(await first("2024-03-11")).toBe("2024-03-11T13:30:00.000Z")
  }, 60_000)

  test("two symbols are two single-ticker requests, each batch labelled with its own symbol", async () => {
    const s = calendar.session("2024-03-08", "regular")
    const got = await collect(run(), request(["MSFT", "AAPL"], s?.open ?? 0, s?.close ?? 0))
    expect(got.map((b) => [String(b.symbol), b.ts.length])).toEqual([
      ["MSFT", 390],
      ["AAPL", 390]
    ])
  })

  test("an empty result (resultsCount 0, no results key) is no bars, not an error", async () => {
    const sat = Date.parse("2024-03-09T14:00:00Z")
    const got = await collect(run(), request(["AAPL"], sat, sat + 3_600_000))
    expect(got.length).toBe(0)
    const raw = await fetch(`${emulator.url}/v2/aggs/ticker/AAPL/range/1/minute/2024-03-09/2024-03-09`, {
      headers: { authorization: `Bearer ${emulator.keys.polygon}` }
    })
    const body = (await raw.json()) as Record<string, unknown>
    expect(body).toMatchObject({ ticker: "AAPL", resultsCount: 0, status: "OK" })
    expect("results" in body).toBe(false)
  })

  test("rejected keys stop the run with a fatal error that names the variable and never shows the key", async () => {
    const dir = fresh()
    const wrong = "wrong-polygon-key-value-123"
    const error = await ingestThrough(
      run({}, { POLYGON_API_KEY: wrong }),
      dir,
      ["AAPL"],
      "2024-03-07",
      "2024-03-08"
    ).catch((e: unknown) => e)
    expect(error).toMatchObject({ _tag: "ProviderError", fatal: true })
    const message = String((error as Error).message)
    expect(message).toMatch(/rejected the API key .*Unknown API Key.*check POLYGON_API_KEY/)
    expect(message.includes(wrong)).toBe(false)
    for (const file of listFiles(dir)) {
      const bytes = readFileSync(join(dir, file), "latin1")
      expect(bytes.includes(wrong)).toBe(false)
      expect(bytes.includes(emulator.keys.polygon)).toBe(false)
    }
    const missing = await Effect.runPromise(Effect.flip(makeClient({ ...run(), env: {} })))
    expect(missing.reason).toMatch(/set POLYGON_API_KEY \(or MASSIVE_API_KEY\)/)
    expect(missing.fatal).toBe(true)
    const blank = await Effect.runPromise(Effect.flip(makeClient({ ...run(), env: { POLYGON_API_KEY: " " } })))
    expect(blank.reason).toMatch(/set POLYGON_API_KEY/)
  })

  test("MASSIVE_API_KEY works as well as POLYGON_API_KEY", async () => {
    const s = calendar.session("2024-03-08", "regular")
    const got = await collect(
      { ...run(), env: { MASSIVE_API_KEY: emulator.keys.polygon } },
      request(["AAPL"], s?.open ?? 0, (s?.open ?? 0) + 600_000)
    )
    expect(got.reduce((n, b) => n + b.ts.length, 0)).toBe(10)
  })

  test("bad options are refused at make", async () => {
    const bad = await Effect.runPromise(Effect.flip(makeClient(run({ page_limit: 50_001 }))))
    expect(bad.reason).toMatch(/providers\.polygon/)
  })

  test("the emulator's 429 is Polygon's JSON body without rate-limit headers", async () => {
    emulator.setFaults({ error429Rate: 1 })
    try {
      const res = await fetch(`${emulator.url}/v2/aggs/ticker/AAPL/range/1/minute/2024-03-08/2024-03-08`, {
        headers: { authorization: `Bearer ${emulator.keys.polygon}` }
      })
      expect(res.status).toBe(429)
      expect(res.headers.get("retry-after")).toBeNull()
      expect(res.headers.get("x-ratelimit-remaining")).toBeNull()
      expect(await res.json()).toMatchObject({ status: "ERROR", error: expect.stringMatching(/maximum requests/) })
    } finally {
      emulator.setFaults({})
    }
  })

  test("next_url on Polygon's own host is followed on the configured base URL, with the Bearer header", async () => {
    seen.length = 0
    const s = calendar.session("2024-03-11", "regular")
    const got = await collect(run({ page_limit: 100 }, {}, quirks.url), request(["AAPL"], s?.open ?? 0, s?.close ?? 0))
    expect(got.reduce((n, b) => n + b.ts.length, 0)).toBe(390)
    expect(seen.length).toBe(4)
    expect(seen.every((r) => r.authorization === `Bearer ${quirks.keys.polygon}`)).toBe(true)
    expect(seen.every((r) => !r.query.includes("apiKey"))).toBe(true)
    const [firstReq, ...rest] = seen
    expect(firstReq?.path).toBe(`/v2/aggs/ticker/AAPL/range/1/minute/${s?.open}/${(s?.close ?? 0) - 1}`)
    expect(new URLSearchParams(firstReq?.query)).toEqual(
      new URLSearchParams({ adjusted: "false", sort: "asc", limit: "100" })
    )
    for (const r of rest) expect([...new URLSearchParams(r.query).keys()]).toEqual(["cursor"])
    const ts = got.flatMap((b) => [...b.ts])
    expect(ts.every((t, i) => i === 0 || t === (ts[i - 1] as number) + 60_000)).toBe(true)
  })

  test("split adjustment asks for adjusted=true", async () => {
    seen.length = 0
    const s = calendar.session("2024-03-11", "regular")
    await collect(run({}, {}, quirks.url), { ...request(["AAPL"], s?.open ?? 0, s?.close ?? 0), adjustment: "split" })
    expect(new URLSearchParams(seen[0]?.query).get("adjusted")).toBe("true")
  })

  test("a plan error and an unknown ticker fail that request only, in words", async () => {
    const s = calendar.session("2024-03-11", "regular")
    const plan = await failure(run({}, {}, quirks.url), request(["NOPLAN"], s?.open ?? 0, s?.close ?? 0))
    expect(plan.reason).toMatch(/your Massive\/Polygon plan does not include this data \(Your plan doesn't include/)
    expect(plan.fatal).toBe(false)
    const unknown = await failure(run({}, {}, quirks.url), request(["ZZZZQ"], s?.open ?? 0, s?.close ?? 0))
    expect(unknown.reason).toMatch(/unknown ticker ZZZZQ \(Ticker not found\.\)/)
    expect(unknown.fatal).toBe(false)
  })

  test("the emulator pages with apiKey= too, and its next_url resumes at the next bar without the key", async () => {
    const key = encodeURIComponent(emulator.keys.polygon)
    const base = `${emulator.url}/v2/aggs/ticker/MSFT/range/1/minute`
    const page1 = (await (await fetch(`${base}/2024-03-08/2024-03-08?limit=500&apiKey=${key}`)).json()) as {
      results: Array<{ t: number }>
      next_url: string
      resultsCount: number
    }
    expect(page1.resultsCount).toBe(500)
    expect(page1.next_url).not.toContain("apiKey")
    const next = new URL(page1.next_url)
    expect(next.searchParams.get("cursor")).toMatch(/^[A-Za-z0-9_-]+$/)
    const page2 = (await (await fetch(`${page1.next_url}&apiKey=${key}`)).json()) as {
      results: Array<{ t: number }>
      next_url?: string
    }
    expect(page2.results[0]?.t).toBe((page1.results[499]?.t ?? 0) + 60_000)
    // 04:00-20:00 ET: the extended session's 960 minutes, the rest on the last page.
    expect(page2.results.length).toBe(460)
    expect(page2.next_url).toBeUndefined()
    const noKey = await fetch(`${base}/2024-03-08/2024-03-08`)
    expect(noKey.status).toBe(401)
    expect(await noKey.json()).toMatchObject({ status: "ERROR", error: "API Key was not provided" })
    const badKey = await fetch(`${base}/2024-03-08/2024-03-08?apiKey=nope`)
    expect(await badKey.json()).toMatchObject({ status: "ERROR", error: "Unknown API Key" })
    const fiveMin = (await (
      await fetch(`${emulator.url}/v2/aggs/ticker/MSFT/range/5/minute/2024-03-08/2024-03-08?apiKey=${key}`)
    ).json()) as { results: Array<{ t: number }> }
    expect(fiveMin.results.every((b) => b.t % 300_000 === 0)).toBe(true)
    expect(fiveMin.results.length).toBe((16 * 60) / 5)
  })

  test("reference: the tickers listed as of a past day, paged by next_url, then the ones delisted by then", async () => {
    emulator.resetStats()
    const c = await Effect.runPromise(makeClient(run({ reference_limit: 3 })))
    const in2019 = await drain(c.reference?.symbols({ asOf: "2019-06-03", details: [] }))
    expect(in2019.map((m) => String(m.symbol))).toEqual(["A", "AAPL", "FB", "JPM", "MSFT", "SPY", "TWTR", "ZXZZT"])
    expect(in2019.every((m) => m.active === true && m.delistDate === undefined)).toBe(true)
    // 8 listed at 3 a page, and one page of none delisted.
    expect(emulator.stats().byPath["/v3/reference/tickers"]).toBe(4)
    expect(in2019.find((m) => m.symbol === "SPY")).toEqual({
      symbol: "SPY" as Symbol,
      name: "SPDR S&P 500 ETF Trust",
      exchange: "ARCX",
      type: "ETF",
      currency: "USD",
      active: true
    })
    // A source that leaves fields out: the ticker and what little it has, nothing made up.
    expect(in2019.find((m) => m.symbol === "ZXZZT")).toEqual({
      symbol: "ZXZZT" as Symbol,
      currency: "USD",
      active: true
    })

    const in2023 = await drain(c.reference?.symbols({ asOf: "2023-01-03", details: [] }))
    const listed = in2023.filter((m) => m.active).map((m) => String(m.symbol))
    expect(listed).toEqual(["A", "AAPL", "JPM", "META", "MSFT", "SPY", "ZXZZT"])
    // The rename and the delisting: both old tickers are still there, inactive, with the day they stopped.
    expect(in2023.filter((m) => m.active === false).map((m) => [String(m.symbol), m.delistDate])).toEqual([
      ["FB", "2022-06-09"],
      ["TWTR", "2022-11-08"]
    ])
  })

  test("reference details: one request per symbol asked, market cap from the day's close, SIC as industry", async () => {
    emulator.resetStats()
    const c = await Effect.runPromise(makeClient(run()))
    const metas = await drain(c.reference?.symbols({ asOf: "2024-03-11", details: ["AAPL" as Symbol] }))
    expect(emulator.stats().byPath["/v3/reference/tickers/AAPL"]).toBe(1)
    expect(Object.keys(emulator.stats().byPath).filter((p) => p.startsWith("/v3/reference/tickers/"))).toEqual([
      "/v3/reference/tickers/AAPL"
    ])
    const aapl = metas.find((m) => m.symbol === "AAPL")
    const apple = listingOf("AAPL")
    const close = apple === undefined ? undefined : closeOnOrBefore(makeDataset(), apple, "2024-03-11")
    expect(close).toBeGreaterThan(0)
    expect(aapl).toMatchObject({
      sic: "3571",
      industry: "ELECTRONIC COMPUTERS",
      sharesOutstanding: 15_441_881_000,
      listDate: "1980-12-12",
      active: true
    })
    expect(aapl?.marketCap).toBeCloseTo(15_441_881_000 * (close ?? 0), -1)
    // Not asked, not fetched: the list row alone.
    expect(metas.find((m) => m.symbol === "MSFT")?.marketCap).toBeUndefined()

    emulator.resetStats()
    const all = await drain(c.reference?.symbols({ asOf: "2023-01-03", details: "all" }))
    // "all" is every ticker trading that day (7): the delisted ones are out of any universe of the day anyway.
    const detailed = Object.keys(emulator.stats().byPath).filter((p) => p.startsWith("/v3/reference/tickers/"))
    expect(detailed.sort()).toEqual(
      ["A", "AAPL", "JPM", "META", "MSFT", "SPY", "ZXZZT"].map((t) => `/v3/reference/tickers/${t}`)
    )
    expect(all.find((m) => m.symbol === "TWTR")).toEqual({
      symbol: "TWTR" as Symbol,
      name: "Twitter, Inc. Common Stock",
      exchange: "XNYS",
      type: "CS",
      currency: "USD",
      active: false,
      delistDate: "2022-11-08"
    })
  })

  test("marketDay: one grouped-daily request gives every listed ticker's day; a holiday gives none", async () => {
    emulator.resetStats()
    const c = await Effect.runPromise(makeClient(run()))
    const day = await drain(c.reference?.marketDay?.("2024-03-08"))
    expect(emulator.stats().byPath["/v2/aggs/grouped/locale/us/market/stocks/2024-03-08"]).toBe(1)
    expect(day.map((b) => String(b.symbol))).toEqual(["A", "AAPL", "ARM", "JPM", "META", "MSFT", "SPY", "ZXZZT"])
    const minutes = makeDataset().bars(
      "MSFT",
      Date.parse("2024-03-08T14:30:00Z"),
      Date.parse("2024-03-08T21:00:00Z"),
      false
    )
    const msft = day.find((b) => b.symbol === "MSFT")
    expect(msft?.close).toBe(minutes.at(-1)?.c as number)
    expect(msft?.volume).toBe(minutes.reduce((sum, b) => sum + b.v, 0))
    expect(await drain(c.reference?.marketDay?.("2024-03-29"))).toEqual([])
  })

  test("a reference page that keeps failing fails the list with a retried, key-free ProviderError", async () => {
    const failing = await startEmulator({ routes: [polygonRoutes], faults: { error5xxRate: 1 } })
    try {
      const c = await Effect.runPromise(makeClient(run({ max_attempts: 2, retry_base_ms: 1 }, {}, failing.url)))
      const exit = await Effect.runPromiseExit(
        Stream.runCollect(c.reference?.symbols({ asOf: "2024-03-11", details: [] }) ?? Stream.empty)
      )
      expect(exit._tag).toBe("Failure")
      const text = JSON.stringify(exit)
      expect(text).toContain("ProviderError")
      expect(text).not.toContain(emulator.keys.polygon)
      expect(failing.stats().byPath["/v3/reference/tickers"]).toBe(2)
    } finally {
      await failing.stop()
    }
  })

  test("symbols() (contract v1) is the list as it is now, without details", async () => {
    const c = await Effect.runPromise(makeClient(run()))
    const now = await drain(c.symbols?.())
    expect(now.filter((m) => m.active).map((m) => m.symbol)).toContain("META" as Symbol)
    expect(now.find((m) => m.symbol === "TWTR")).toMatchObject({ active: false, delistDate: "2022-11-08" })
    expect(now.some((m) => m.marketCap !== undefined)).toBe(false)
  })

  test("capabilities: single ticker, 50,000 bars a page, the free plan's 5 requests a minute", () => {
    expect(polygon.capabilities).toMatchObject({
      feeds: ["sip"],
      defaultFeed: "sip",
      maxSymbolsPerRequest: 1,
      maxBarsPerRequest: 50_000,
      rateLimit: { requests: 5, perSeconds: 60 },
      credentials: ["POLYGON_API_KEY", "MASSIVE_API_KEY"]
    })
  })
})

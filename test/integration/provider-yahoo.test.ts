import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { Effect, Schema, Stream } from "effect"
import { TestClock } from "effect/testing"
import { type BarBatch, type BarsRequest, barsOf, type Symbol } from "../../mod.ts"
import fake from "../../plugins/fake/mod.ts"
import yahoo from "../../plugins/yahoo/mod.ts"
import { type ChartResult, chartSchemas, toBatch } from "../../plugins/yahoo/wire.ts"
import { makePluginHost } from "../../src/providers/host.ts"
import { type Emulator, startEmulator } from "../emulators/server.ts"
import { yahooRoutes } from "../emulators/yahoo.ts"
import { canonicalBars, readFixture } from "../support/canonical.ts"
import { duckdb, lakeGlob } from "../support/lake.ts"
import { calendar, ingestThrough, makeClient } from "../support/provider-run.ts"
import { kitServices } from "../support/run-services.ts"
import { useTempDirs } from "../support/temp.ts"

let emulator: Emulator
const fresh = useTempDirs("mp-yahoo-")
beforeAll(async () => {
  emulator = await startEmulator({ routes: [yahooRoutes] })
})
afterAll(async () => {
  await emulator.stop()
})

/** `max_history_days: 0` turns the 30-day age check off: the shared dataset's days are from 2024. */
const anyAge = { max_history_days: 0 }
const run = (options: Record<string, unknown> = {}) => ({ plugin: yahoo, baseUrl: emulator.url, env: {}, options })
const fakeRun = { plugin: fake, baseUrl: "", env: {} }
const request = (symbol: string, start: number, end: number, session: "regular" | "extended" = "regular") =>
  ({
    symbols: [symbol as Symbol],
    frame: "1m",
    start,
    end,
    feed: "yahoo",
    adjustment: "raw",
    session
  }) satisfies BarsRequest
const dayOf = (day: string, kind: "regular" | "extended" = "regular") => {
  const s = calendar.session(day, kind)
  if (s === undefined) throw new Error(`${day} is not a trading day`)
  return s
}

const host = makePluginHost("yahoo", calendar, kitServices())
const decodeChart = Schema.decodeUnknownSync(chartSchemas(Schema).chart)
const fixtureResult = (file: string): ChartResult => {
  const result = decodeChart(readFixture(`yahoo/${file}`)).chart.result?.[0]
  if (result === undefined) throw new Error(`${file} has no chart result`)
  return result
}
const parseFixture = (file: string, symbol: string) => {
  const batch = toBatch(host.kit, symbol as Symbol, fixtureResult(file))
  if (typeof batch === "string") throw new Error(batch)
  return barsOf(batch)
}

/** Yahoo's and the fake provider's lakes side by side: same rows and volumes, prices equal up to float32 rounding. */
const compareLakes = async (viaYahoo: string, direct: string) => {
  const rows = await duckdb<Record<string, string | number | null>>(`
    WITH y AS (SELECT * FROM ${lakeGlob(viaYahoo)}), f AS (SELECT * FROM ${lakeGlob(direct)})
    SELECT
      (SELECT count(*) FROM y) AS yahoo_rows,
      (SELECT count(*) FROM f) AS fake_rows,
      count(*) AS matched,
      count(*) FILTER (WHERE y.volume <> f.volume) AS volume_diffs,
      max(greatest(
        abs(y.open - f.open) / f.open, abs(y.high - f.high) / f.high,
        abs(y.low - f.low) / f.low, abs(y.close - f.close) / f.close
      )) AS max_rel,
      count(y.vwap) + count(y.trade_count) AS reported_extras
    FROM y JOIN f ON y.symbol = f.symbol AND y.ts = f.ts`)
  const r = rows[0] ?? {}
  return {
    yahooRows: Number(r.yahoo_rows),
    fakeRows: Number(r.fake_rows),
    matched: Number(r.matched),
    volumeDiffs: Number(r.volume_diffs),
    maxRel: Number(r.max_rel),
    reportedExtras: Number(r.reported_extras)
  }
}

describe("yahoo plugin against the emulator", () => {
  test("fixture charts parse to the canonical bars (float32 prices within 1e-4, no vwap or trade count)", () => {
    const parsed = ["AAPL", "MSFT"].flatMap((symbol) =>
      ["2024-03-08", "2024-03-11"].flatMap((day) => parseFixture(`chart_${symbol}_1m_${day}.json`, symbol))
    )
    const byKey = (a: { symbol: string; ts: number }, b: { symbol: string; ts: number }) =>
      a.symbol.localeCompare(b.symbol) || a.ts - b.ts
    const expected = canonicalBars().sort(byKey)
    parsed.sort(byKey)
    expect(parsed.map((b) => [String(b.symbol), b.ts])).toEqual(expected.map((b) => [b.symbol, b.ts]))
    for (const [i, b] of parsed.entries()) {
      const want = expected[i]
      if (want === undefined) throw new Error(`no canonical bar ${i}`)
      for (const k of ["open", "high", "low", "close", "volume"] as const) {
        expect(Math.abs(b[k] - want[k])).toBeLessThanOrEqual(1e-4)
      }
      expect(b.vwap).toBeNull()
      expect(b.trade_count).toBeNull()
    }
    // The first bar of each day is 09:30 New York time on both sides of the DST change.
    const firstOf = (day: string) =>
      new Date(Math.min(...parsed.filter((b) => host.kit.tradingDayOf(b.ts) === day).map((b) => b.ts))).toISOString()
    expect(firstOf("2024-03-08")).toBe("2024-03-08T14:30:00.000Z")
    expect(firstOf("2024-03-11")).toBe("2024-03-11T13:30:00.000Z")
    // Two client-side time chunks concatenate to the whole day.
    expect([
      ...parseFixture("chart_MSFT_1m_2024-03-11_chunk1.json", "MSFT"),
      ...parseFixture("chart_MSFT_1m_2024-03-11_chunk2.json", "MSFT")
    ]).toEqual(parseFixture("chart_MSFT_1m_2024-03-11.json", "MSFT"))
    // `quote: [{}]` without `timestamp` is an empty batch.
    expect(parseFixture("chart_empty.json", "AAPL")).toEqual([])
  })

  test("null quote entries drop their rows; a window filter drops rows outside it; malformed values are named", () => {
    const result: ChartResult = {
      timestamp: [1709908200, 1709908260, 1709908320, 1709908380],
      indicators: {
        quote: [
          {
            open: [1.5, null, 2.5, 3.5],
            high: [1.75, null, 2.75, 3.75],
            low: [1.25, null, 2.25, 3.25],
            close: [1.5, null, 2.5, 3.5],
            volume: [100, null, 300, 400]
          }
        ]
      }
    }
    const all = toBatch(host.kit, "AAPL" as Symbol, result) as BarBatch
    expect(Array.from(all.ts)).toEqual([1709908200000, 1709908320000, 1709908380000])
    expect(Array.from(all.volume)).toEqual([100, 300, 400])
    const windowed = toBatch(host.kit, "AAPL" as Symbol, result, {
      start: 1709908260000,
      end: 1709908380000
    }) as BarBatch
    expect(Array.from(windowed.ts)).toEqual([1709908320000])
    const broken = { ...result, indicators: { quote: [{ ...result.indicators.quote[0], close: [1, 2, "x", 4] }] } }
    expect(toBatch(host.kit, "AAPL" as Symbol, broken)).toMatch(/malformed values at 2 for AAPL/)
    const short = { ...result, indicators: { quote: [{ ...result.indicators.quote[0], volume: [1] }] } }
    expect(toBatch(host.kit, "AAPL" as Symbol, short)).toMatch(/different lengths/)
  })

  test("time-chunked days across DST land the fake provider's bars (float32 prices) with several requests a symbol", async () => {
    emulator.resetStats()
    const viaYahoo = fresh()
    // Two days a request: each symbol's 2024-03-07..12 range takes three requests.
    const summary = await ingestThrough(
      run({ chunk_days: 2, ...anyAge }),
      viaYahoo,
      ["AAPL", "MSFT", "BRK.B"],
      "2024-03-07",
      "2024-03-12"
    )
    expect(summary.job).toMatchObject({ state: "succeeded", partitionsDone: 12, barsWritten: 12 * 390 })
    const byPath = emulator.stats().byPath
    // BRK.B is asked for as Yahoo spells it, and stored under the requested symbol.
    for (const path of ["AAPL", "MSFT", "BRK-B"].map((s) => `/v8/finance/chart/${s}`)) {
      expect(byPath[path] ?? 0).toBe(3)
    }
    const direct = fresh()
    await ingestThrough(fakeRun, direct, ["AAPL", "MSFT", "BRK.B"], "2024-03-07", "2024-03-12")
    const cmp = await compareLakes(viaYahoo, direct)
    expect(cmp).toMatchObject({
      yahooRows: 12 * 390,
      fakeRows: 12 * 390,
      matched: 12 * 390,
      volumeDiffs: 0,
      reportedExtras: 0
    })
    expect(cmp.maxRel).toBeLessThan(1e-3)
    // The prices really went through float32 (a double-for-double copy would give exactly 0).
    expect(cmp.maxRel).toBeGreaterThan(0)

    const c = await Effect.runPromise(makeClient(run(anyAge)))
    const first = async (day: string) => {
      const s = dayOf(day)
      const got = await Effect.runPromise(Stream.runCollect(c.bars(request("AAPL", s.open, s.close))))
      return new Date((got[0] as BarBatch).ts[0] as number).toISOString()
    }
    expect(await first("2024-03-08")).toBe("2024-03-08T14:30:00.000Z")
    expect(await first("2024-03-11")).toBe("2024-03-11T13:30:00.000Z")
  }, 60_000)

  test("the extended session asks for pre/post-market bars (includePrePost=true)", async () => {
    const c = await Effect.runPromise(makeClient(run(anyAge)))
    const s = dayOf("2024-03-08", "extended")
    const got = await Effect.runPromise(Stream.runCollect(c.bars(request("AAPL", s.open, s.close, "extended"))))
    const batch = got[0] as BarBatch
    expect(new Date(batch.ts[0] as number).toISOString()).toBe("2024-03-08T09:00:00.000Z")
    expect(batch.ts.length).toBe(960)
  })

  test("a four-week 1m range goes out as 8-day requests that Yahoo accepts (a longer window is a 422)", async () => {
    emulator.resetStats()
    const c = await Effect.runPromise(makeClient(run(anyAge)))
    const start = dayOf("2024-03-04").open
    const end = start + 28 * 86_400_000
    const got = await Effect.runPromise(Stream.runCollect(c.bars(request("MSFT", start, end))))
    expect(emulator.stats().byPath["/v8/finance/chart/MSFT"]).toBe(4)
    // 2024-03-04 09:30 ET + 28 days: 19 full days (Good Friday 2024-03-29 is a holiday) and 04-01 until 10:30 ET.
    let expected = 0
    for (const d of calendar.tradingDays("2024-03-04", "2024-04-01")) {
      const s = dayOf(d)
      expected += Math.max(0, Math.min(s.close, end) - s.open) / 60_000
    }
    expect(expected).toBe(19 * 390 + 60)
    expect(got.reduce((n, b) => n + b.ts.length, 0)).toBe(expected)
    const tooLong = await fetch(
      `${emulator.url}/v8/finance/chart/MSFT?period1=${start / 1000}&period2=${start / 1000 + 9 * 86_400}&interval=1m`
    )
    expect(tooLong.status).toBe(422)
    expect(await tooLong.json()).toMatchObject({
      chart: { result: null, error: { description: expect.stringMatching(/Only 8 days worth of 1m granularity/) } }
    })
  })

  test("an empty window (quote: [{}], no timestamp) is no bars, not an error", async () => {
    emulator.resetStats()
    const c = await Effect.runPromise(makeClient(run(anyAge)))
    const sat = Date.parse("2024-03-09T14:00:00Z")
    const got = await Effect.runPromise(Stream.runCollect(c.bars(request("AAPL", sat, sat + 3_600_000))))
    expect(got.length).toBe(0)
    expect(emulator.stats().requests).toBe(1)
  })

  test("1m bars older than 30 days are refused before any request, against the Effect clock", async () => {
    emulator.resetStats()
    const c = await Effect.runPromise(makeClient(run()))
    const atClock = <A, E>(now: string, effect: Effect.Effect<A, E>) =>
      Effect.runPromise(
        Effect.gen(function* () {
          yield* TestClock.setTime(Date.parse(now))
          return yield* effect
        }).pipe(Effect.provide(TestClock.layer()))
      )
    const old = dayOf("2024-02-01")
    const error = await atClock(
      "2024-03-20T12:00:00Z",
      Effect.flip(Stream.runCollect(c.bars(request("AAPL", old.open, old.close))))
    )
    expect(error.reason).toBe(
      "Yahoo keeps 1-minute bars for about 30 days only; 2024-02-01T14:30:00Z is older: use Alpaca or Polygon for older minute bars"
    )
    expect(error).toMatchObject({ retryable: false, fatal: false })
    expect(emulator.stats().requests).toBe(0)

    // The same request is fine when the clock says it is recent enough. (A bucket of its own: the shared one has
    // seen the real clock, and a TestClock in 2024 would look like a wait of years.)
    const client = await Effect.runPromise(
      yahoo.make(makePluginHost("yahoo", calendar, kitServices()), {
        name: "yahoo",
        baseUrl: emulator.url,
        feed: undefined,
        rateLimit: { requests: 1000, perSeconds: 1 },
        options: { retry_base_ms: 5 },
        env: {}
      })
    )
    const recent = await atClock(
      "2024-02-20T12:00:00Z",
      Stream.runCollect(client.bars(request("AAPL", old.open, old.close)))
    )
    expect(recent.reduce((n, b) => n + b.ts.length, 0)).toBe(390)
    expect(emulator.stats().requests).toBe(1)

    // Through an ingest with the real clock, 2024 is long gone: the unit fails with the same words, and no request.
    emulator.resetStats()
    const summary = await ingestThrough(run(), fresh(), ["AAPL"], "2024-03-07", "2024-03-08")
    expect(summary.failures[0]?.error).toMatch(/Yahoo keeps 1-minute bars for about 30 days only/)
    expect(summary.job.state).toBe("failed")
    expect(emulator.stats().requests).toBe(0)
  })

  test("an unknown symbol fails, without retries, saying Yahoo does not know it", async () => {
    emulator.resetStats()
    const c = await Effect.runPromise(makeClient(run(anyAge)))
    const s = dayOf("2024-03-08")
    const error = await Effect.runPromise(Effect.flip(Stream.runCollect(c.bars(request("ZZZZQ", s.open, s.close)))))
    expect(error.reason).toMatch(/^Yahoo does not know symbol ZZZZQ \(No data found, symbol may be delisted\)/)
    expect(error).toMatchObject({ retryable: false, fatal: false })
    expect(emulator.stats().requests).toBe(1)
  })

  test("options are checked: chunk_days above Yahoo's 8 is refused", async () => {
    const error = await Effect.runPromise(Effect.flip(makeClient(run({ chunk_days: 9 }))))
    expect(error.reason).toMatch(/^providers\.yahoo: /)
  })
})

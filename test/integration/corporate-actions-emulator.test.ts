/**
 * Corporate actions end to end: each plugin against the emulator's one register (SPLT's 4-for-1 split, RVRS's
 * 1-for-10 reverse split, DIVQ's quarterly and special dividends), with the ex-date range, the kinds and small pages;
 * and the raw bars the emulator serves, which jump on SPLT's and RVRS's ex-date where split-adjusted ones do not.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { Effect, Stream } from "effect"
import {
  type BarBatch,
  type BarsRequest,
  barsOf,
  type CorporateAction,
  type CorporateActionsRequest,
  type ProviderPlugin,
  type Symbol
} from "../../mod.ts"
import alpaca from "../../plugins/alpaca/mod.ts"
import finnhub from "../../plugins/finnhub/mod.ts"
import polygon from "../../plugins/polygon/mod.ts"
import { tradingDayOf } from "../../src/domain/partition.ts"
import { type Emulator, startEmulator } from "../emulators/server.ts"
import { calendar, makeClient, type PluginRun, unpaced } from "../support/provider-run.ts"

let emulator: Emulator
beforeAll(async () => {
  emulator = await startEmulator()
})
afterAll(async () => {
  await emulator.stop()
})

interface Provider {
  readonly name: string
  readonly run: (options?: Record<string, unknown>) => PluginRun
  /** The paths its corporate actions requests go to. */
  readonly paths: ReadonlyArray<string>
  /** Whether the provider tells special dividends apart (Finnhub does not). */
  readonly flagsSpecial: boolean
}

const runOf =
  (plugin: ProviderPlugin, env: Record<string, string>) =>
  (options: Record<string, unknown> = {}) =>
    unpaced({ plugin, baseUrl: emulator.url, env, options })

const providers: ReadonlyArray<Provider> = [
  {
    name: "polygon",
    run: (options) => runOf(polygon, { POLYGON_API_KEY: emulator.keys.polygon })(options),
    paths: ["/v3/reference/splits", "/v3/reference/dividends"],
    flagsSpecial: true
  },
  {
    name: "alpaca",
    run: (options) =>
      runOf(alpaca, { ALPACA_KEY: emulator.keys.alpaca.id, ALPACA_SECRET: emulator.keys.alpaca.secret })(options),
    paths: ["/v1/corporate-actions"],
    flagsSpecial: true
  },
  {
    name: "finnhub",
    run: (options) => runOf(finnhub, { FINNHUB_API_KEY: emulator.keys.finnhub })(options),
    paths: ["/stock/split", "/stock/dividend"],
    flagsSpecial: false
  }
]

const symbolsOf = (names: ReadonlyArray<string>) => names as ReadonlyArray<Symbol>
const symbols = symbolsOf(["SPLT", "RVRS", "DIVQ"])

const list = (run: PluginRun, request: CorporateActionsRequest): Promise<Array<CorporateAction>> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const client = yield* makeClient(run)
      const actions = client.corporateActions
      if (actions === undefined) return yield* Effect.die(new Error(`${run.plugin.name} has no corporateActions`))
      return Array.from(yield* Stream.runCollect(actions.list(request)))
    })
  )

const byKey = (a: CorporateAction, b: CorporateAction) =>
  a.symbol.localeCompare(b.symbol) || a.exDate.localeCompare(b.exDate) || a.kind.localeCompare(b.kind)
const sorted = (actions: ReadonlyArray<CorporateAction>) => [...actions].sort(byKey)

const split = (symbol: string, exDate: string, from: number, to: number): CorporateAction => ({
  kind: "split",
  symbol: symbol as Symbol,
  exDate,
  from,
  to
})
const divq = (exDate: string, amount: number, recordDate: string, payDate: string, special: boolean) =>
  ({
    kind: "dividend",
    symbol: "DIVQ" as Symbol,
    exDate,
    amount,
    currency: "USD",
    recordDate,
    payDate,
    special
  }) satisfies CorporateAction

/** The register, written out: what every provider must give back. */
const register = (flagsSpecial: boolean): Array<CorporateAction> =>
  sorted([
    split("SPLT", "2024-06-10", 1, 4),
    split("RVRS", "2024-06-10", 10, 1),
    divq("2024-02-09", 0.24, "2024-02-12", "2024-02-16", false),
    divq("2024-05-10", 0.24, "2024-05-13", "2024-05-17", false),
    divq("2024-08-09", 0.24, "2024-08-12", "2024-08-16", false),
    divq("2024-11-08", 0.24, "2024-11-11", "2024-11-15", false),
    divq("2024-12-16", 1, "2024-12-17", "2024-12-23", flagsSpecial)
  ])

const requestsTo = (paths: ReadonlyArray<string>) =>
  paths.reduce((n, path) => n + (emulator.stats().byPath[path] ?? 0), 0)

describe.each(providers)("$name corporate actions from the emulator", (provider) => {
  test("the register comes back exactly", async () => {
    const got = await list(provider.run(), {
      symbols,
      from: "2024-01-01",
      to: "2024-12-31",
      kinds: ["split", "dividend"]
    })
    expect(sorted(got)).toStrictEqual(register(provider.flagsSpecial))
  })

  test("the ex-date range is inclusive at both ends, and only the kinds asked come back", async () => {
    // From the day after the first dividend to the special one's ex-date (paid a week later: Alpaca, whose
    // interval is on the payable date for dividends, still has to be asked past it).
    const got = await list(provider.run(), {
      symbols,
      from: "2024-02-10",
      to: "2024-12-16",
      kinds: ["split", "dividend"]
    })
    expect(sorted(got)).toStrictEqual(register(provider.flagsSpecial).filter((a) => a.exDate !== "2024-02-09"))
    const dividendsOnly = await list(provider.run(), {
      symbols,
      from: "2024-05-10",
      to: "2024-08-09",
      kinds: ["dividend"]
    })
    expect(sorted(dividendsOnly).map((a) => `${a.symbol} ${a.kind} ${a.exDate}`)).toEqual([
      "DIVQ dividend 2024-05-10",
      "DIVQ dividend 2024-08-09"
    ])
    const splitsOnly = await list(provider.run(), { symbols, from: "2024-06-10", to: "2024-06-10", kinds: ["split"] })
    expect(sorted(splitsOnly)).toStrictEqual([split("RVRS", "2024-06-10", 10, 1), split("SPLT", "2024-06-10", 1, 4)])
    // A range with nothing in it, and a symbol with no actions.
    const none = await list(provider.run(), {
      symbols: symbolsOf(["SPLT", "AAPL"]),
      from: "2024-06-11",
      to: "2024-12-31",
      kinds: ["split", "dividend"]
    })
    expect(none).toEqual([])
  })

  test("small pages are followed to the end", async () => {
    const before = requestsTo(provider.paths)
    const got = await list(provider.run({ corporate_actions_limit: 2 }), {
      symbols,
      from: "2024-01-01",
      to: "2024-12-31",
      kinds: ["split", "dividend"]
    })
    expect(sorted(got)).toStrictEqual(register(provider.flagsSpecial))
    const sent = requestsTo(provider.paths) - before
    if (provider.name === "polygon") {
      // Per symbol, splits then dividends: SPLT 1 + 1, RVRS 1 + 1, DIVQ 1 + 3 (five dividends, two a page).
      expect(sent).toBe(8)
    } else if (provider.name === "alpaca") {
      // Seven actions across the three symbols, two a page.
      expect(sent).toBe(4)
    } else {
      // Finnhub has no paging (and no such option is read): one request per symbol and kind.
      expect(sent).toBe(6)
    }
  })
})

// ---- raw and split-adjusted bars around SPLT's and RVRS's ex-date (Monday 2024-06-10; the Friday before is 06-07)

const before = calendar.session("2024-06-07", "regular")
const after = calendar.session("2024-06-10", "regular")
if (before === undefined || after === undefined) throw new Error("2024-06-07 and 2024-06-10 are trading days")

const barsRequest = (symbol: string, adjustment: string, feed: string): BarsRequest => ({
  symbols: [symbol as Symbol],
  frame: "1m",
  start: before.open,
  end: after.close,
  feed,
  adjustment,
  session: "regular"
})

const bars = (run: PluginRun, request: BarsRequest) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const client = yield* makeClient(run)
      const batches = yield* Stream.runCollect(client.bars(request))
      return Array.from(batches).flatMap((b: BarBatch) => barsOf(b))
    })
  )

type Row = Awaited<ReturnType<typeof bars>>[number]
const onDay = (rows: ReadonlyArray<Row>, day: string) => rows.filter((r) => tradingDayOf(r.ts) === day)
const scaled = (p: number, f: number) => Math.round(p * f * 1e6) / 1e6

/** Raw bars are the split-adjusted ones times `price` (volume divided by it) before the ex-date, the same after. */
function expectRawOf(raw: ReadonlyArray<Row>, adjusted: ReadonlyArray<Row>, price: number) {
  expect(raw.length).toBe(adjusted.length)
  expect(onDay(raw, "2024-06-07").length).toBeGreaterThan(300)
  expect(onDay(raw, "2024-06-10").length).toBeGreaterThan(300)
  for (let i = 0; i < raw.length; i++) {
    const r = raw[i] as Row
    const a = adjusted[i] as Row
    expect(r.ts).toBe(a.ts)
    const f = tradingDayOf(r.ts) < "2024-06-10" ? price : 1
    expect([r.open, r.high, r.low, r.close]).toEqual([a.open, a.high, a.low, a.close].map((p) => scaled(p, f)))
    expect(r.volume).toBe(f === 1 ? a.volume : Math.max(1, Math.round(a.volume / f)))
    expect(r.volume).toBeGreaterThanOrEqual(1)
  }
}

/** Last close of 06-07 over first open of 06-10. */
const jump = (rows: ReadonlyArray<Row>) => {
  const last = onDay(rows, "2024-06-07").at(-1)
  const first = onDay(rows, "2024-06-10")[0]
  if (last === undefined || first === undefined) throw new Error("no bars on 2024-06-07 or 2024-06-10")
  return last.close / first.open
}

describe("raw bars show the splits", () => {
  const polygonRun = () =>
    unpaced({ plugin: polygon, baseUrl: emulator.url, env: { POLYGON_API_KEY: emulator.keys.polygon } })

  test("Polygon: raw (adjusted=false) jumps 4x on SPLT's ex-date, split (adjusted=true) does not", async () => {
    const raw = await bars(polygonRun(), barsRequest("SPLT", "raw", "sip"))
    const adjusted = await bars(polygonRun(), barsRequest("SPLT", "split", "sip"))
    // The day-to-day move of the dataset stays well inside ±25%: a 4x step cannot hide in it.
    expect(jump(raw)).toBeGreaterThan(4 * 0.75)
    expect(jump(raw)).toBeLessThan(4 * 1.25)
    expect(jump(adjusted)).toBeGreaterThan(0.75)
    expect(jump(adjusted)).toBeLessThan(1.25)
    expectRawOf(raw, adjusted, 4)
  })

  test("Polygon: RVRS raw prices are a tenth before its reverse split, volume ten times", async () => {
    const raw = await bars(polygonRun(), barsRequest("RVRS", "raw", "sip"))
    const adjusted = await bars(polygonRun(), barsRequest("RVRS", "split", "sip"))
    expect(jump(raw)).toBeGreaterThan(0.1 * 0.75)
    expect(jump(raw)).toBeLessThan(0.1 * 1.25)
    expectRawOf(raw, adjusted, 0.1)
  })

  test("Alpaca: adjustment raw jumps, split and all do not; Finnhub intraday is raw", async () => {
    const alpacaRun = unpaced({
      plugin: alpaca,
      baseUrl: emulator.url,
      env: { ALPACA_KEY: emulator.keys.alpaca.id, ALPACA_SECRET: emulator.keys.alpaca.secret }
    })
    const raw = await bars(alpacaRun, barsRequest("SPLT", "raw", "iex"))
    const split = await bars(alpacaRun, barsRequest("SPLT", "split", "iex"))
    const all = await bars(alpacaRun, barsRequest("SPLT", "all", "iex"))
    expectRawOf(raw, split, 4)
    expect(all).toEqual(split)
    const finnhubRun = unpaced({
      plugin: finnhub,
      baseUrl: emulator.url,
      env: { FINNHUB_API_KEY: emulator.keys.finnhub }
    })
    const finnhubRaw = await bars(finnhubRun, barsRequest("SPLT", "raw", "finnhub"))
    const polygonRaw = await bars(polygonRun(), barsRequest("SPLT", "raw", "sip"))
    // Finnhub has no VWAP or trade count; its prices and volumes are the raw ones Polygon serves.
    const ohlcv = (r: Row) => [r.ts, r.open, r.high, r.low, r.close, r.volume]
    expect(finnhubRaw.map(ohlcv)).toEqual(polygonRaw.map(ohlcv))
  })

  test("a symbol without splits serves the same bars raw and adjusted", async () => {
    const raw = await bars(polygonRun(), barsRequest("AAPL", "raw", "sip"))
    const adjusted = await bars(polygonRun(), barsRequest("AAPL", "split", "sip"))
    expect(raw.length).toBeGreaterThan(600)
    expect(raw).toEqual(adjusted)
  })
})

describe("alter and iexVolumeShare apply after the raw rule", () => {
  test("alter sees raw bars and iex volumes are a share of the raw volumes", async () => {
    /** The first close of each SPLT 2024-06-07 day `alter` was handed for Alpaca, in the order asked. */
    const handed: Array<number> = []
    const own = await startEmulator({
      iexVolumeShare: 0.5,
      alter: (provider, symbol, day) => {
        if (provider !== "alpaca" || symbol !== "SPLT" || tradingDayOf(day[0]?.t ?? 0) !== "2024-06-07") return day
        handed.push(day[0]?.c ?? Number.NaN)
        // Drop the regular session's first bar.
        return day.filter((b) => b.t !== before.open)
      }
    })
    try {
      const env = { ALPACA_KEY: own.keys.alpaca.id, ALPACA_SECRET: own.keys.alpaca.secret }
      const run = unpaced({ plugin: alpaca, baseUrl: own.url, env })
      const raw = await bars(run, barsRequest("SPLT", "raw", "iex"))
      const split = await bars(run, barsRequest("SPLT", "split", "iex"))
      // Each basis was altered once (raw asked first): the raw day's first close is 4x the continuous one's.
      expect(handed).toHaveLength(2)
      const [rawClose, splitClose] = handed as [number, number]
      expect(rawClose).toBe(scaled(splitClose, 4))
      // The full days, from the shared emulator without alter or share, to compare against.
      const fullRun = unpaced({
        plugin: alpaca,
        baseUrl: emulator.url,
        env: { ALPACA_KEY: emulator.keys.alpaca.id, ALPACA_SECRET: emulator.keys.alpaca.secret }
      })
      const fullRaw = await bars(fullRun, barsRequest("SPLT", "raw", "iex"))
      expect(fullRaw.some((r) => r.ts === before.open)).toBe(true)
      expect(raw.length).toBe(fullRaw.length - 1)
      expect(raw.some((r) => r.ts === before.open)).toBe(false)
      const fullAt = new Map(fullRaw.map((r) => [r.ts, r]))
      for (const r of raw) {
        const f = fullAt.get(r.ts)
        if (f === undefined) throw new Error(`bar ${r.ts} is not in the unaltered day`)
        expect([r.open, r.high, r.low, r.close]).toEqual([f.open, f.high, f.low, f.close])
        // The share is taken of the raw volume (itself rounded), not the raw rule of a shared volume.
        expect(r.volume).toBe(Math.round(f.volume * 0.5))
      }
      expect(split.length).toBe(raw.length)
    } finally {
      await own.stop()
    }
  })
})

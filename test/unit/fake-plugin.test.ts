import { describe, expect, test } from "bun:test"
import { Effect, Stream } from "effect"
import { type BarBatch, barsOf, makeCalendar, type Symbol } from "../../mod.ts"
import fake from "../../plugins/fake/mod.ts"
import { validateBatch } from "../../src/domain/validation.ts"
import { makePluginHost } from "../../src/providers/host.ts"
import { kitServices } from "../support/run-services.ts"

const calendar = makeCalendar()
const client = (options: Record<string, unknown> = {}) =>
  Effect.runPromise(
    fake.make(makePluginHost("fake", calendar, kitServices()), {
      name: "fake",
      baseUrl: undefined,
      feed: undefined,
      rateLimit: undefined,
      options,
      env: {}
    })
  )
const fetch = async (
  symbols: Array<string>,
  from: string,
  to: string,
  options: Record<string, unknown> = {},
  session: "regular" | "extended" = "regular"
) => {
  const c = await client(options)
  const start = calendar.session(from, session)?.open ?? 0
  const end = calendar.session(to, session)?.close ?? 0
  return Effect.runPromise(
    Stream.runCollect(
      c.bars({
        symbols: symbols as Array<Symbol>,
        frame: "1m",
        start,
        end,
        feed: "synthetic",
        adjustment: "raw",
        session
      })
    )
  ) as Promise<Array<BarBatch>>
}

describe("fake plugin", () => {
  test("bars only inside sessions: a full day, an early close, nothing on a holiday or weekend", async () => {
    const batches = await fetch(["AAPL"], "2024-11-27", "2024-12-02")
    expect(batches.map((b) => b.ts.length)).toEqual([390, 210, 390])
    const days = batches.map((b) => new Date(b.ts[0] as number).toISOString())
    expect(days).toEqual(["2024-11-27T14:30:00.000Z", "2024-11-29T14:30:00.000Z", "2024-12-02T14:30:00.000Z"])
  })

  test("deterministic: the same symbol and day give the same bars in another request", async () => {
    const a = await fetch(["MSFT", "AAPL"], "2024-03-04", "2024-03-08")
    const b = await fetch(["AAPL"], "2024-03-06", "2024-03-06")
    const wednesday = a.find(
      (x) => x.symbol === "AAPL" && new Date(x.ts[0] as number).toISOString().startsWith("2024-03-06")
    )
    expect(barsOf(b[0] as BarBatch)).toEqual(barsOf(wednesday as BarBatch))
    expect(barsOf(a[0] as BarBatch)).not.toEqual(barsOf(a[5] as BarBatch))
  })

  test("bars satisfy OHLC invariants, carry vwap and trade counts, and pass core validation", async () => {
    const [batch] = await fetch(["SPY"], "2024-03-08", "2024-03-08", {}, "extended")
    expect(batch?.ts.length).toBe(960)
    expect(validateBatch(batch as BarBatch, 60_000).rejected).toEqual([])
    for (const bar of barsOf(batch as BarBatch)) {
      expect(bar.vwap).not.toBeNull()
      expect(bar.vwap as number).toBeLessThanOrEqual(bar.high)
      expect(bar.vwap as number).toBeGreaterThanOrEqual(bar.low)
      expect(bar.trade_count).toBeGreaterThan(0)
    }
  })

  test("fault injection: thin trading, broken bars, empty days, failing symbols", async () => {
    const [thin] = await fetch(["THIN"], "2024-03-08", "2024-03-08", { missing_rate: 0.5 })
    expect(thin?.ts.length).toBeGreaterThan(100)
    expect(thin?.ts.length).toBeLessThan(300)
    const [broken] = await fetch(["BAD"], "2024-03-08", "2024-03-08", { invalid_every: 100 })
    expect(validateBatch(broken as BarBatch, 60_000).rejected.length).toBe(3)
    expect((await fetch(["AAPL"], "2024-03-07", "2024-03-08", { empty_days: ["2024-03-08"] })).length).toBe(1)
    await expect(fetch(["OOPS"], "2024-03-08", "2024-03-08", { fail_symbols: ["OOPS"] })).rejects.toMatchObject({
      _tag: "ProviderError"
    })
  })

  test("bad plugin options are refused with the field named", async () => {
    await expect(client({ missing_rate: 2 })).rejects.toMatchObject({ reason: expect.stringMatching(/missing_rate/) })
  })
})

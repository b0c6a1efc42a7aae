import { describe, expect, test } from "bun:test"
import { barsOf, batchFromBars } from "../../src/domain/bar.ts"
import type { Symbol } from "../../src/domain/symbol.ts"
import { validateBatch } from "../../src/domain/validation.ts"

const t0 = Date.parse("2024-03-08T14:30:00Z")
const good = (i: number) => ({
  ts: t0 + i * 60_000,
  open: 10,
  high: 11,
  low: 9,
  close: 10.5,
  volume: 100,
  trade_count: 3,
  vwap: 10.2
})
const sym = "AAPL" as Symbol

describe("core validation rules", () => {
  test("clean bars pass untouched", () => {
    const batch = batchFromBars(sym, [good(0), good(1), good(2)])
    const { clean, rejected } = validateBatch(batch, 60_000)
    expect(rejected).toEqual([])
    expect(clean.ts.length).toBe(3)
  })

  const cases: Array<[string, Partial<ReturnType<typeof good>>]> = [
    ["ohlc_consistency", { high: 9.5 }],
    ["ohlc_consistency", { low: 10.6 }],
    ["non_positive_price", { open: 0 }],
    ["non_positive_price", { low: -1 }],
    ["negative_volume", { volume: -5 }],
    ["non_finite_value", { close: Number.NaN }],
    ["misaligned_timestamp", { ts: t0 + 60_000 + 1_000 }]
  ]
  for (const [rule, change] of cases) {
    test(`${rule} rejects only the bad bar (${JSON.stringify(change)})`, () => {
      const batch = batchFromBars(sym, [good(0), { ...good(1), ...change }, good(2)])
      const { clean, rejected } = validateBatch(batch, 60_000)
      expect(rejected.map((r) => r.rule as string)).toContain(rule)
      expect(barsOf(clean).map((b) => b.ts)).toEqual([good(0).ts, good(2).ts])
    })
  }

  test("duplicates and out-of-order bars are rejected, the first of each timestamp kept", () => {
    const batch = batchFromBars(sym, [good(0), good(2), good(2), good(1), good(3)])
    const { clean, rejected } = validateBatch(batch, 60_000)
    expect(rejected.map((r) => r.rule)).toEqual(["duplicate_timestamp", "out_of_order_timestamp"])
    expect(clean.ts.length).toBe(3)
  })

  test("5-minute frames require 5-minute boundaries; nullable fields survive", () => {
    const batch = batchFromBars(sym, [good(0), { ...good(5), trade_count: null, vwap: null }, good(7)])
    const { clean, rejected } = validateBatch(batch, 5 * 60_000)
    expect(rejected.map((r) => r.rule)).toEqual(["misaligned_timestamp"])
    expect(barsOf(clean)[1]).toMatchObject({ trade_count: null, vwap: null })
  })
})

import { describe, expect, test } from "bun:test"
import { batchFromBars } from "../../src/domain/bar.ts"
import { makeCalendar } from "../../src/domain/calendar.ts"
import { tradingDayOf } from "../../src/domain/partition.ts"
import type { Symbol } from "../../src/domain/symbol.ts"
import {
  type ConfigurableRule,
  defaultRuleSettings,
  type RuleSettings,
  validateBars
} from "../../src/domain/validation.ts"

const calendar = makeCalendar()
const open = calendar.session("2024-03-08", "regular")?.open ?? 0
const sym = "AAPL" as Symbol
type Row = {
  ts: number
  open: number
  high: number
  low: number
  close: number
  volume: number
  trade_count: number | null
  vwap: number | null
}
/** 60 clean minutes from 09:30: a gentle walk, steady volume. */
const clean = (): Array<Row> =>
  Array.from({ length: 60 }, (_, i) => ({
    ts: open + i * 60_000,
    open: 100 + i * 0.01,
    high: 100.2 + i * 0.01,
    low: 99.9 + i * 0.01,
    close: 100.05 + i * 0.01,
    volume: 1000 + (i % 7) * 10,
    trade_count: 10,
    vwap: 100.02 + i * 0.01
  }))
const run = (rows: Array<Row>, settings: RuleSettings = defaultRuleSettings) =>
  validateBars(batchFromBars(sym, rows), {
    alignMs: 60_000,
    frameMs: 60_000,
    sessionOf: (ts) => calendar.session(tradingDayOf(ts), "regular"),
    settings
  })

describe("the rule set", () => {
  test("clean data fires no rule", () => {
    const r = run(clean())
    expect(r.findings).toEqual([])
    expect(r.clean.ts.length).toBe(60)
    expect(r.quarantined.ts.length).toBe(0)
  })

  const crafted: Array<[string, (rows: Array<Row>) => void, "error" | "warning"]> = [
    ["ohlc_consistency", (r) => Object.assign(r[30] as Row, { high: 99 }), "error"],
    ["non_positive_price", (r) => Object.assign(r[30] as Row, { low: -1 }), "error"],
    ["negative_volume", (r) => Object.assign(r[30] as Row, { volume: -5 }), "error"],
    ["misaligned_timestamp", (r) => Object.assign(r[30] as Row, { ts: (r[30] as Row).ts + 7_000 }), "error"],
    ["outside_session", (r) => Object.assign(r[0] as Row, { ts: open - 6 * 3_600_000 }), "error"],
    ["zero_volume_price_move", (r) => Object.assign(r[30] as Row, { volume: 0 }), "warning"],
    ["price_jump", (r) => Object.assign(r[30] as Row, { open: 160, high: 161, close: 160.5, low: 159.5 }), "warning"],
    ["volume_spike", (r) => Object.assign(r[40] as Row, { volume: 50_000 }), "warning"],
    ["session_gap", (r) => r.splice(20, 16), "warning"]
  ]
  for (const [rule, craft, severity] of crafted) {
    test(`${rule} fires on a crafted bar (${severity}); its neighbours are untouched`, () => {
      const rows = clean()
      craft(rows)
      const r = run(rows)
      const fired = r.findings.filter((f) => f.rule === rule)
      expect(fired.length).toBe(1)
      expect(fired[0]?.severity).toBe(severity)
      if (severity === "error") {
        expect(r.quarantined.ts.length).toBe(1)
        expect(r.quarantineRules[0]).toContain(rule)
        expect(r.clean.ts.length).toBe(rows.length - 1)
      } else {
        expect(r.quarantined.ts.length).toBe(0)
        expect(r.clean.ts.length).toBe(rows.length)
      }
    })
  }

  test("severities come from settings: a warning can become an error, an error can be switched off", () => {
    const rows = clean()
    Object.assign(rows[30] as Row, { volume: 0 })
    Object.assign(rows[10] as Row, { high: 99 })
    const severity: Record<ConfigurableRule, "error" | "warning" | "off"> = {
      ...defaultRuleSettings.severity,
      zero_volume_price_move: "error",
      ohlc_consistency: "off"
    }
    const r = run(rows, { ...defaultRuleSettings, severity })
    expect(r.findings.map((f) => `${f.rule}:${f.severity}`)).toEqual(["zero_volume_price_move:error"])
    expect(r.quarantined.ts.length).toBe(1)
  })

  test("thresholds: a 30% jump (and the fall back) passes at 50% and fires at 20%", () => {
    const rows = clean()
    Object.assign(rows[30] as Row, { open: 130, high: 131, low: 129, close: 130.5 })
    expect(run(rows).findings.filter((f) => f.rule === "price_jump")).toEqual([])
    expect(
      run(rows, { ...defaultRuleSettings, jumpThreshold: 0.2 }).findings.filter((f) => f.rule === "price_jump").length
    ).toBe(2)
  })
})

import { describe, expect, test } from "bun:test"
import { type CorporateAction, factorSegments, factorsOn, type SplitAction } from "../../src/domain/corporate-action.ts"
import { type DayEdge, ratioText, splitFindings } from "../../src/domain/split-check.ts"
import type { Symbol } from "../../src/domain/symbol.ts"

const X = "X" as Symbol
const split4: SplitAction = { kind: "split", symbol: X, exDate: "2024-06-10", from: 1, to: 4 }
const dividend: CorporateAction = {
  kind: "dividend",
  symbol: X,
  exDate: "2024-06-12",
  amount: 0.5,
  currency: "USD",
  special: false
}
/** Raw daily closes around the split: 408 the last day before it, 104 the day before the dividend. */
const closes: Record<string, number> = { "2024-06-07": 408, "2024-06-10": 103, "2024-06-11": 104 }
const closeBefore = (ex: string) => closes[ex === "2024-06-12" ? "2024-06-11" : "2024-06-07"]

describe("adjustment factors, worked by hand", () => {
  test("a 4-for-1 split divides earlier prices by 4 (volume ×4); a 0.50 dividend on a 104 close multiplies them by 1 − 0.5/104", () => {
    const { segments, unpriced } = factorSegments(X, [split4, dividend], "all", closeBefore)
    expect(unpriced).toEqual([])
    const d = 1 - 0.5 / 104
    expect(segments).toEqual([
      { symbol: X, from: undefined, until: "2024-06-10", split: 4, dividend: d },
      { symbol: X, from: "2024-06-10", until: "2024-06-12", split: 1, dividend: d }
    ])
    // The day before the split: 408 raw → 408 / 4 × (1 − 0.5/104) = 101.5096…; after the dividend: unadjusted.
    const on = (day: string) => factorsOn(segments, day)
    expect((408 / on("2024-06-07").split) * on("2024-06-07").dividend).toBeCloseTo(101.509615, 5)
    expect((104 / on("2024-06-11").split) * on("2024-06-11").dividend).toBeCloseTo(103.5, 10)
    expect(on("2024-06-12")).toEqual({ split: 1, dividend: 1 })
    expect(1000 * on("2024-06-07").split).toBe(4000)
    // Splits only: the dividend is not applied, and needs no close.
    const splitOnly = factorSegments(X, [split4, dividend], "split", () => undefined)
    expect(splitOnly.segments).toEqual([{ symbol: X, from: undefined, until: "2024-06-10", split: 4, dividend: 1 }])
    expect(factorSegments(X, [split4, dividend], "none", closeBefore).segments).toEqual([])
  })

  test("a 1-for-10 reverse split multiplies earlier prices by 10; factors of several splits multiply", () => {
    const reverse: SplitAction = { kind: "split", symbol: X, exDate: "2023-01-03", from: 10, to: 1 }
    const { segments } = factorSegments(X, [split4, reverse], "split", () => undefined)
    expect(factorsOn(segments, "2022-12-30").split).toBeCloseTo(0.4, 12)
    expect(factorsOn(segments, "2023-06-01").split).toBe(4)
    expect(factorsOn(segments, "2024-06-10").split).toBe(1)
  })

  test("a dividend the lake has no close before is handed back unpriced, never dropped silently", () => {
    const { unpriced } = factorSegments(X, [dividend], "all", () => undefined)
    expect(unpriced).toEqual([dividend])
  })
})

const edge = (day: string, open: number, close: number): DayEdge => ({
  day,
  firstTs: Date.parse(`${day}T14:30:00Z`),
  open,
  high: open,
  low: open,
  close,
  volume: 100
})

describe("split checks", () => {
  test("an undeclared 4-for-1 jump is a suspected split with its ratio; a 30% move is not", () => {
    const days = [edge("2024-06-06", 400, 404), edge("2024-06-07", 405, 408), edge("2024-06-10", 102.3, 103)]
    const found = splitFindings(days, [])
    expect(found.map((f) => [f.rule, f.day, ratioText(f.ratio)])).toEqual([
      ["suspected_split", "2024-06-10", "4-for-1"]
    ])
    expect(found[0]?.detail).toContain("4-for-1")
    const crash = [edge("2024-06-06", 400, 404), edge("2024-06-07", 282.8, 290)]
    const rally = [edge("2024-06-06", 400, 404), edge("2024-06-07", 525.2, 530)]
    expect(splitFindings(crash, [])).toEqual([])
    expect(splitFindings(rally, [])).toEqual([])
    // A 1-for-10 reverse split shows as a tenfold jump up.
    expect(
      splitFindings([edge("2024-06-07", 5, 5.1), edge("2024-06-10", 51.2, 52)], []).map((f) => ratioText(f.ratio))
    ).toEqual(["1-for-10"])
  })

  test("a recorded split the raw bars do not show is a mismatch (pre-adjusted bars); one they show is fine", () => {
    const adjusted = [edge("2024-06-07", 101, 102), edge("2024-06-10", 102.3, 103)]
    const found = splitFindings(adjusted, [split4])
    expect(found.map((f) => [f.rule, f.day, f.ratio])).toEqual([["split_mismatch", "2024-06-10", 4]])
    const raw = [edge("2024-06-07", 405, 408), edge("2024-06-10", 102.3, 103)]
    expect(splitFindings(raw, [split4])).toEqual([])
  })
})

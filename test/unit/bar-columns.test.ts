import { describe, expect, test } from "bun:test"
import { barColumns as alpaca } from "../../plugins/alpaca/wire.ts"
import { barColumnsOf, readBarColumns } from "../../src/providers/kit/bar-columns.ts"

const bar = (t: string, o: unknown, extra: Record<string, unknown> = {}) => ({
  t,
  o,
  h: 11,
  l: 9,
  c: 10.5,
  v: 1200,
  n: 7,
  vw: 10.25,
  ...extra
})
const rows = (reply: ReturnType<typeof barColumnsOf>) =>
  reply.ok
    ? reply.groups.map((g) => ({
        key: g.key,
        bars: [...g.ts].map((ts, i) => [
          ts,
          g.open[i],
          g.high[i],
          g.low[i],
          g.close[i],
          g.volume[i],
          g.tradeCount[i],
          g.vwap[i]
        ])
      }))
    : reply.why

describe("bar pages read into columns", () => {
  test("every symbol's bars in order, optional fields NaN when absent or not numbers, the token kept", () => {
    const page = {
      bars: {
        AAPL: [bar("2024-03-04T14:30:00Z", 10), bar("2024-03-04T14:31:00Z", 10.5, { n: null, vw: "x" })],
        MSFT: [],
        SPY: null
      },
      next_page_token: "abc",
      currency: "USD"
    }
    const reply = barColumnsOf(alpaca, page)
    const t0 = Date.parse("2024-03-04T14:30:00Z")
    expect(rows(reply)).toEqual([
      {
        key: "AAPL",
        bars: [
          [t0, 10, 11, 9, 10.5, 1200, 7, 10.25],
          [t0 + 60_000, 10.5, 11, 9, 10.5, 1200, Number.NaN, Number.NaN]
        ]
      },
      { key: "MSFT", bars: [] }
    ])
    expect(reply.ok && reply.kept).toEqual({ next_page_token: "abc" })
  })

  test("null bars is no bars; a path without * is one array; times in epoch ms and seconds", () => {
    expect(rows(barColumnsOf(alpaca, { bars: null, next_page_token: null }))).toEqual([])
    const results = { ...alpaca, path: ["results"], ts: { key: "t", as: "ms" as const }, keep: [] }
    expect(rows(barColumnsOf(results, { results: [bar("x", 1, { t: 1_709_562_600_000 })] }))).toEqual([
      { key: "", bars: [[1_709_562_600_000, 1, 11, 9, 10.5, 1200, 7, 10.25]] }
    ])
    const seconds = { ...results, ts: { key: "t", as: "s" as const } }
    expect(rows(barColumnsOf(seconds, { results: [bar("x", 1, { t: 1_709_562_600 })] }))).toEqual([
      { key: "", bars: [[1_709_562_600_000, 1, 11, 9, 10.5, 1200, 7, 10.25]] }
    ])
  })

  test("anything a Schema would refuse is `shape`, never a guess", () => {
    const good = bar("2024-03-04T14:30:00Z", 10)
    const refused: Array<[string, unknown]> = [
      ["a page that is an array", [good]],
      ["no bars key", { next_page_token: null }],
      ["bars not an object", { bars: [good] }],
      ["a symbol's bars not an array", { bars: { AAPL: good } }],
      ["a null bar", { bars: { AAPL: [good, null] } }],
      ["a price as text", { bars: { AAPL: [bar("2024-03-04T14:30:00Z", "10")] } }],
      ["a missing volume", { bars: { AAPL: [{ ...good, v: undefined }] } }],
      ["an infinite price", { bars: { AAPL: [bar("2024-03-04T14:30:00Z", Number.POSITIVE_INFINITY)] } }],
      ["a time that does not exist", { bars: { AAPL: [bar("2024-02-30T14:30:00Z", 10)] } }],
      ["a token that is a number", { bars: {}, next_page_token: 5 }]
    ]
    for (const [what, page] of refused)
      expect([what, barColumnsOf(alpaca, page)]).toEqual([what, { ok: false, why: "shape" }])
    expect(barColumnsOf({ ...alpaca, path: ["bars", "*", "x"] }, { bars: {} })).toEqual({ ok: false, why: "shape" })
  })

  test("bytes that are not JSON are `json`: a cut-off page, an HTML error page", () => {
    const text = JSON.stringify({ bars: { AAPL: [bar("2024-03-04T14:30:00Z", 10)] } })
    const bytes = (s: string) => new TextEncoder().encode(s)
    expect(readBarColumns(alpaca, bytes(text.slice(0, -3)))).toEqual({ ok: false, why: "json" })
    expect(readBarColumns(alpaca, bytes("<html>502</html>"))).toEqual({ ok: false, why: "json" })
    expect(rows(readBarColumns(alpaca, bytes(text)))).toEqual(rows(barColumnsOf(alpaca, JSON.parse(text))))
  })
})

import { describe, expect, test } from "bun:test"
import type { Symbol } from "../../src/domain/symbol.ts"
import type { SymbolMeta } from "../../src/domain/symbol-meta.ts"
import { universeDiff } from "../../src/universe/diff.ts"
import { mergedAsOf, metadataAsOf, type SnapshotRow, withLaterDelistings } from "../../src/universe/merge-meta.ts"

const row = (source: string, asOf: string, symbol: string, fields: Omit<SymbolMeta, "symbol"> = {}): SnapshotRow => ({
  source,
  asOf,
  meta: { symbol: symbol as Symbol, ...fields }
})

describe("metadata as of a date", () => {
  const rows = [
    row("nasdaqtrader", "2024-01-02", "AAPL", { name: "Apple Inc. - Common Stock", exchange: "XNAS", type: "CS" }),
    row("polygon", "2024-01-05", "AAPL", { name: "Apple Inc.", marketCap: 2.9e12, sector: "Technology" }),
    row("polygon", "2024-03-01", "AAPL", { name: "Apple Inc.", marketCap: 2.7e12, sector: "Technology" }),
    row("nasdaqtrader", "2024-01-02", "GONE", { type: "CS" }),
    row("polygon", "2024-01-05", "LATE", { listDate: "2024-02-15", type: "CS" }),
    row("polygon", "2024-03-01", "LATE", { listDate: "2024-02-15", type: "CS" }),
    row("polygon", "2024-03-01", "DELISTED", { delistDate: "2024-03-20", type: "CS" }),
    row("finnhub", "2024-01-03", "MSFT", { industry: "Software", currency: "USD" })
  ]
  const brief = (date: string) => metadataAsOf(rows, date).map((m) => m.symbol as string)

  test("fields merge by source precedence (polygon over nasdaqtrader), each field saying where it came from", () => {
    const [aapl] = metadataAsOf(rows, "2024-02-01")
    expect(aapl).toEqual({
      symbol: "AAPL",
      name: "Apple Inc.",
      marketCap: 2.9e12,
      sector: "Technology",
      exchange: "XNAS",
      type: "CS",
      source: "polygon",
      asOf: "2024-01-05",
      sources: {
        name: "polygon",
        marketCap: "polygon",
        sector: "polygon",
        exchange: "nasdaqtrader",
        type: "nasdaqtrader"
      }
    } as unknown as SymbolMeta)
    expect(metadataAsOf(rows, "2024-03-05")[0]?.marketCap).toBe(2.7e12)
  })

  test("each source's newest snapshot on the date decides what it lists; list and delist dates bound the rest", () => {
    expect(brief("2023-12-31")).toEqual([])
    expect(brief("2024-01-04")).toEqual(["AAPL", "GONE", "MSFT"])
    // LATE is known from January but only listed from 2024-02-15.
    expect(brief("2024-02-01")).toEqual(["AAPL", "GONE", "MSFT"])
    expect(brief("2024-02-20")).toEqual(["AAPL", "GONE", "LATE", "MSFT"])
    expect(brief("2024-03-05")).toEqual(["AAPL", "DELISTED", "GONE", "LATE", "MSFT"])
    expect(brief("2024-03-20")).toEqual(["AAPL", "GONE", "LATE", "MSFT"])
  })
})

describe("what was known, delisted ones included, and delistings learnt later", () => {
  const rows = [
    row("polygon", "2022-11-01", "TWTR", { active: true, listDate: "2013-11-07" }),
    row("polygon", "2022-12-01", "TWTR", { active: false, listDate: "2013-11-07", delistDate: "2022-11-08" }),
    row("polygon", "2022-12-01", "META", { active: true, listDate: "2022-06-09" })
  ]

  test("mergedAsOf keeps a symbol its source already called delisted; metadataAsOf leaves it out", () => {
    expect(mergedAsOf(rows, "2022-12-05").map((m) => [m.symbol, m.delistDate])).toEqual([
      ["META", undefined],
      ["TWTR", "2022-11-08"]
    ])
    expect(metadataAsOf(rows, "2022-12-05").map((m) => m.symbol as string)).toEqual(["META"])
  })

  test("withLaterDelistings dates a member by the earliest delisting any snapshot reports, and keeps its own", () => {
    const members: Array<SymbolMeta> = [
      { symbol: "TWTR" as Symbol },
      { symbol: "META" as Symbol },
      { symbol: "OLD" as Symbol, delistDate: "2001-01-02" }
    ]
    const later = withLaterDelistings(members, [
      ...rows,
      row("finnhub", "2023-01-03", "TWTR", { delistDate: "2022-11-09" }),
      row("polygon", "2022-12-01", "OLD", { delistDate: "2005-05-05" })
    ])
    expect(later.map((m) => [m.symbol, m.delistDate])).toEqual([
      ["TWTR", "2022-11-08"],
      ["META", undefined],
      ["OLD", "2001-01-02"]
    ])
  })
})

describe("universe diff, with what was known on each side's date", () => {
  const meta = (symbol: string, fields: Omit<SymbolMeta, "symbol"> = {}): SymbolMeta => ({
    symbol: symbol as Symbol,
    ...fields
  })
  const a = { filters: { type: ["CS"] }, memberList: [meta("TWTR"), meta("AAPL"), meta("SMALL")], asOf: "2022-11-01" }
  const known = new Map<string, SymbolMeta>([
    ["TWTR", meta("TWTR", { delistDate: "2022-11-08", type: "CS" })],
    ["AAPL", meta("AAPL", { type: "CS" })],
    ["SMALL", meta("SMALL", { type: "ETF" })],
    ["ARM", meta("ARM", { type: "ADRC", listDate: "2023-09-14" })]
  ])

  test("a dropped symbol was delisted, not listed, or fails the filters on its record as of B's date", () => {
    const b = { filters: { type: ["CS"] }, memberList: [meta("AAPL"), meta("NEW")], asOf: "2022-12-01", known }
    expect(universeDiff(a, b)).toEqual({
      // A has no metadata of its date: its filters are tried on B's record (NEW has no type).
      added: [{ symbol: "NEW", why: "fails A's type" }],
      removed: [
        { symbol: "TWTR", why: "delisted 2022-11-08" },
        { symbol: "SMALL", why: "fails B's type" }
      ],
      kept: 1
    })
    const early = { ...b, asOf: "2023-01-03" }
    expect(universeDiff({ ...a, memberList: [meta("AAPL"), meta("ARM")] }, early).removed).toEqual([
      { symbol: "ARM", why: "listed 2023-09-14, after B's 2023-01-03" }
    ])
    const unknown = { ...b, known: new Map<string, SymbolMeta>() }
    expect(universeDiff(a, unknown).removed[0]).toEqual({
      symbol: "TWTR",
      why: "not listed by any source as of B's 2022-12-01"
    })
  })
})

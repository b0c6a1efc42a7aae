import { describe, expect, test } from "bun:test"
import type { Symbol } from "../../src/domain/symbol.ts"
import type { SymbolMeta } from "../../src/domain/symbol-meta.ts"
import { metadataAsOf, type SnapshotRow } from "../../src/universe/merge-meta.ts"

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

import { describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { resolve } from "node:path"
import { parseSymbolDirectory, type SymbolDirectory } from "../../src/universe/nasdaq-trader.ts"

const fixture = (name: string) =>
  readFileSync(resolve(import.meta.dir, "../fixtures/providers/nasdaqtrader", name), "utf8")

const parsed = (text: string): SymbolDirectory => {
  const result = parseSymbolDirectory(text)
  if (typeof result === "string") throw new Error(result)
  return result
}
const brief = (d: SymbolDirectory) => d.symbols.map((s) => `${s.symbol} ${s.exchange} ${s.type}`)

describe("Nasdaq Trader symbol directory", () => {
  test("nasdaqlisted.txt (CRLF): test issues left out, ETFs and warrants typed, dated by its footer", () => {
    const d = parsed(fixture("nasdaqlisted.txt"))
    expect(d.file).toBe("nasdaqlisted")
    expect(d.createdAt).toBe("2024-03-11T08:02")
    expect(brief(d)).toEqual(["AAPL XNAS CS", "ABCDW XNAS WARRANT", "BKRP XNAS CS", "MSFT XNAS CS", "QQQ XNAS ETF"])
    expect(d.testIssues).toBe(1)
    expect({ ...d.symbols[0], symbol: String(d.symbols[0]?.symbol) }).toEqual({
      symbol: "AAPL",
      name: "Apple Inc. - Common Stock",
      exchange: "XNAS",
      type: "CS",
      active: true,
      source: "nasdaqtrader",
      asOf: "2024-03-11"
    })
  })

  test("otherlisted.txt: columns found by name, every exchange code as its MIC, a preferred under its Nasdaq symbol", () => {
    const d = parsed(fixture("otherlisted.txt"))
    expect(d.file).toBe("otherlisted")
    expect(brief(d)).toEqual([
      "A XNYS CS",
      "BRK.B XNYS CS",
      "CBOE BATS CS",
      "IMO XASE CS",
      "JPM XNYS CS",
      "JPM-C XNYS PFD",
      "SPY ARCX ETF"
    ])
    expect(d.testIssues).toBe(1)
    expect(d.unreadable).toEqual([])
  })

  test("LF endings read the same as CRLF; a file cut before its footer is refused", () => {
    const crlf = fixture("nasdaqlisted.txt")
    expect(parsed(crlf.replaceAll("\r\n", "\n"))).toEqual(parsed(crlf))
    const cut = crlf.split("\r\n").slice(0, 4).join("\r\n")
    expect(parseSymbolDirectory(cut)).toMatch(/no "File Creation Time:" footer/u)
    expect(parseSymbolDirectory("<html>503</html>")).toMatch(/not a Nasdaq Trader symbol directory/u)
    expect(
      parseSymbolDirectory(`Symbol|Security Name\r\nAAPL|Apple\r\nFile Creation Time: 0311202408:02|\r\n`)
    ).toMatch(/lacks a column/u)
  })

  test("a symbol we cannot store is counted by its line, not guessed at", () => {
    const text = [
      "Symbol|Security Name|Market Category|Test Issue|Financial Status|Round Lot Size|ETF|NextShares",
      "AAPL|Apple Inc. - Common Stock|Q|N|N|100|N|N",
      "A B|Spaced Name Inc. - Common Stock|Q|N|N|100|N|N",
      "File Creation Time: 0102202509:30|||||||",
      ""
    ].join("\n")
    const d = parsed(text)
    expect(brief(d)).toEqual(["AAPL XNAS CS"])
    expect(d.unreadable).toEqual([3])
    expect(d.createdAt).toBe("2025-01-02T09:30")
  })
})

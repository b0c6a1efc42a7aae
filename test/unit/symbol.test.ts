import { describe, expect, test } from "bun:test"
import { parseRange, parseSymbols } from "../../src/cli/inputs.ts"
import { UsageError } from "../../src/domain/errors.ts"
import { parseSymbol } from "../../src/domain/symbol.ts"

describe("symbols", () => {
  test("share-class styles are accepted and lower case is upper-cased", () => {
    expect(String(parseSymbol("BRK.B"))).toBe("BRK.B")
    expect(String(parseSymbol("BRK-B"))).toBe("BRK-B")
    expect(String(parseSymbol("brk/b"))).toBe("BRK.B")
    expect(String(parseSymbol(" aapl "))).toBe("AAPL")
  })

  test("anything that could become a path, or is empty or too long, is rejected", () => {
    for (const bad of ["../x", "..", ".", "", "-X", "AAPL MSFT", "A\\B", "ABCDEFGHIJKLMNOP", "Ä"]) {
      expect(parseSymbol(bad)).toBeUndefined()
    }
  })

  test("a symbol list is split on commas, trimmed, deduplicated, and a bad entry names itself", () => {
    expect(parseSymbols("--symbols", "aapl, MSFT,aapl ,spy").map(String)).toEqual(["AAPL", "MSFT", "SPY"])
    expect(() => parseSymbols("--symbols", "AAPL,../etc")).toThrow(/'..\/etc' is not a valid symbol/)
    expect(() => parseSymbols("--symbols", " , ")).toThrow(UsageError)
  })

  test("date ranges: real dates, start not after end", () => {
    expect({ ...parseRange("2024-03-04", "2024-03-04") } as Record<string, string>).toEqual({
      from: "2024-03-04",
      to: "2024-03-04"
    })
    expect(() => parseRange("2024-03-09", "2024-03-08")).toThrow(/after --end/)
    expect(() => parseRange("2024-02-30", "2024-03-08")).toThrow(/--start: '2024-02-30' is not a date/)
    expect(() => parseRange("2024-03-01", "tomorrow")).toThrow(/--end/)
  })
})

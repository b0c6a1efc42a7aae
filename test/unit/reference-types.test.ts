import { describe, expect, test } from "bun:test"
import { makeCalendar, type Symbol } from "../../mod.ts"
import { assetMeta, micOf } from "../../plugins/alpaca/wire.ts"
import { securityTypeOf, symbolMeta, withProfile } from "../../plugins/finnhub/wire.ts"
import { makePluginHost } from "../../src/providers/host.ts"
import { kitServices } from "../support/run-services.ts"

const { kit } = makePluginHost("reference-types", makeCalendar(), kitServices())

describe("Alpaca exchanges as MICs", () => {
  test("every exchange Alpaca names maps to its MIC, both spellings of NYSE Arca alike", () => {
    const names = ["NASDAQ", "NYSE", "ARCA", "NYSEARCA", "AMEX", "BATS", "IEX", "OTC"]
    expect(names.map(micOf)).toEqual(["XNAS", "XNYS", "ARCX", "ARCX", "XASE", "BATS", "IEXG", "OTCM"])
  })

  test("an exchange we do not know (blank, crypto, a new one, a prototype key) is left out", () => {
    for (const name of ["", "CRYPTO", "ASCX", "nasdaq", "toString", null, undefined])
      expect(micOf(name)).toBeUndefined()
  })

  test("an asset keeps only what Alpaca says: no name for a blank one, active only when its status is", () => {
    expect(assetMeta(kit, { symbol: "X", name: "", exchange: "FTXU", status: "inactive" })).toStrictEqual({
      symbol: "X" as Symbol,
      active: false,
      currency: "USD"
    })
    expect(assetMeta(kit, { symbol: "AAPL", name: "Apple Inc.", exchange: "NASDAQ", status: "active" })).toEqual({
      symbol: "AAPL" as Symbol,
      name: "Apple Inc.",
      exchange: "XNAS",
      active: true,
      currency: "USD"
    })
    expect(assetMeta(kit, { symbol: "NOT A TICKER", status: "active" })).toBeUndefined()
  })
})

describe("Finnhub security types as Polygon codes", () => {
  test("each Finnhub type has its code, whatever its case", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["Common Stock", "CS"],
      ["common stock", "CS"],
      ["REIT", "CS"],
      ["ETP", "ETF"],
      ["ADR", "ADRC"],
      ["GDR", "GDR"],
      ["PREFERENCE", "PFD"],
      ["Preferred Stock", "PFD"],
      ["Closed-End Fund", "FUND"],
      ["Open-End Fund", "FUND"],
      ["Mutual Fund", "FUND"],
      ["Unit", "UNIT"],
      ["Right", "RIGHT"],
      ["Warrant", "WARRANT"],
      ["Ltd Part", "OTHER"],
      ["MLP", "OTHER"]
    ]
    for (const [finnhub, code] of cases) expect([finnhub, securityTypeOf(finnhub)]).toEqual([finnhub, code])
  })

  test("a blank or unknown type is left out, not guessed", () => {
    for (const type of ["", "NY Reg Shrs", "Savings Share", "constructor", null, undefined]) {
      expect(securityTypeOf(type)).toBeUndefined()
    }
  })

  test("a symbol row keeps only fields Finnhub filled", () => {
    const row = { symbol: "ZXZZT", description: "", displaySymbol: "ZXZZT", mic: "", type: "", currency: "USD" }
    expect(symbolMeta(kit, row)).toStrictEqual({ symbol: "ZXZZT" as Symbol, currency: "USD", active: true })
  })
})

describe("Finnhub profile details", () => {
  const meta = { symbol: "AAPL" as Symbol, name: "APPLE INC", active: true, currency: "USD" }

  test("a profile adds market cap, shares, sector, list date and currency", () => {
    const got = withProfile(meta, {
      symbol: "AAPL" as Symbol,
      currency: "USD",
      industry: "Technology",
      ipo: "1980-12-12",
      marketCap: 2_658_319_810_000,
      sharesOutstanding: 15_441_880_000
    })
    expect(got).toEqual({
      ...meta,
      marketCap: 2_658_319_810_000,
      sharesOutstanding: 15_441_880_000,
      sector: "Technology",
      listDate: "1980-12-12"
    })
  })

  test("no profile, an ipo that is not a day and zero figures add nothing", () => {
    expect(withProfile(meta, undefined)).toBe(meta)
    const got = withProfile(meta, { symbol: "AAPL" as Symbol, ipo: "1980", marketCap: 0, sharesOutstanding: 0 })
    expect(got).toStrictEqual(meta)
  })
})

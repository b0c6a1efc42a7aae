import { afterEach, describe, expect, test } from "bun:test"
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { Effect, Exit } from "effect"
import type { UsageError } from "../../src/domain/errors.ts"
import type { Symbol } from "../../src/domain/symbol.ts"
import type { SymbolMeta } from "../../src/domain/symbol-meta.ts"
import { type FiltersV1, filtersV1JsonSchema, passes, selectSymbols } from "../../src/universe/filters.ts"
import { loadFilters, parseFilters } from "../../src/universe/load-filters.ts"
import { removeDir, tempDir } from "../support/temp.ts"

const meta = (symbol: string, fields: Omit<SymbolMeta, "symbol"> = {}): SymbolMeta => ({
  symbol: symbol as Symbol,
  ...fields
})

/** Known metadata: big and small, tech and not, an ETF, an ADR, a delisted name, and one the source knows little of. */
const known: ReadonlyArray<SymbolMeta> = [
  meta("AAPL", {
    type: "CS",
    exchange: "XNAS",
    sector: "Technology",
    industry: "Consumer Electronics",
    marketCap: 3.4e12,
    avgVolume: 55e6,
    lastClose: 227,
    active: true
  }),
  meta("MSFT", {
    type: "CS",
    exchange: "XNAS",
    sector: "Technology",
    industry: "Software",
    marketCap: 3.1e12,
    avgVolume: 20e6,
    lastClose: 415,
    active: true
  }),
  meta("XOM", {
    type: "CS",
    exchange: "XNYS",
    sector: "Energy",
    industry: "Oil & Gas",
    marketCap: 4.7e11,
    avgVolume: 15e6,
    lastClose: 118,
    active: true
  }),
  meta("SMLL", {
    type: "CS",
    exchange: "XNAS",
    sector: "Technology",
    industry: "Software",
    marketCap: 9e8,
    avgVolume: 4e5,
    lastClose: 1.5,
    active: true
  }),
  meta("SPY", { type: "ETF", exchange: "ARCX", marketCap: 5e11, avgVolume: 70e6, lastClose: 560, active: true }),
  meta("TSM", {
    type: "ADRC",
    exchange: "XNYS",
    sector: "Technology",
    industry: "Semiconductors",
    marketCap: 9e11,
    avgVolume: 14e6,
    lastClose: 180,
    active: true
  }),
  meta("GONE", { type: "CS", exchange: "XNYS", sector: "Energy", marketCap: 3e9, avgVolume: 2e6, active: false }),
  meta("BRK.B", {
    type: "CS",
    exchange: "XNYS",
    sector: "Financials",
    marketCap: 9.8e11,
    avgVolume: 4e6,
    lastClose: 450
  }),
  meta("NODATA")
]

const pick = (filters: FiltersV1): Array<string> => selectSymbols(filters, known).map((m) => String(m.symbol))

describe("each filter alone", () => {
  const cases: Array<[string, FiltersV1, Array<string>]> = [
    ["no filter: every known symbol, by ticker", {}, [...known.map((m) => m.symbol)].sort()],
    ["market_cap min ($2B)", { market_cap: { min: 2e9 } }, ["AAPL", "BRK.B", "GONE", "MSFT", "SPY", "TSM", "XOM"]],
    ["market_cap max", { market_cap: { max: 1e10 } }, ["GONE", "SMLL"]],
    ["market_cap min and max", { market_cap: { min: 1e12, max: 3.2e12 } }, ["MSFT"]],
    [
      "volume min (1M a day)",
      { volume: { min: 1e6, days: 20 } },
      ["AAPL", "BRK.B", "GONE", "MSFT", "SPY", "TSM", "XOM"]
    ],
    ["price range", { price: { min: 100, max: 300 } }, ["AAPL", "TSM", "XOM"]],
    ["sector in (any case)", { sector: { in: ["technology"] } }, ["AAPL", "MSFT", "SMLL", "TSM"]],
    ["sector not_in keeps the unknown", { sector: { not_in: ["Technology", "Energy"] } }, ["BRK.B", "NODATA", "SPY"]],
    ["industry in", { industry: { in: ["Software"] } }, ["MSFT", "SMLL"]],
    ["exchange", { exchange: ["XNYS"] }, ["BRK.B", "GONE", "TSM", "XOM"]],
    ["type", { type: ["ETF", "ADRC"] }, ["SPY", "TSM"]],
    [
      "active: an unknown status counts as active",
      { active: true },
      known
        .filter((m) => m.symbol !== "GONE")
        .map((m) => m.symbol)
        .sort()
    ],
    ["active: false", { active: false }, ["GONE"]],
    ["pattern: no share classes", { pattern: "^[A-Z]{1,4}$" }, ["AAPL", "GONE", "MSFT", "SMLL", "SPY", "TSM", "XOM"]],
    ["exclude", { exclude: ["AAPL", "NODATA"] }, ["BRK.B", "GONE", "MSFT", "SMLL", "SPY", "TSM", "XOM"]],
    ["include overrides the filters", { type: ["ETF"], include: ["XOM", "UNKNOWN"] }, ["SPY", "XOM"]],
    ["exclude wins over include", { include: ["XOM"], exclude: ["XOM"], type: ["ETF"] }, ["SPY"]]
  ]
  for (const [what, filters, expected] of cases) {
    test(what, () => expect(pick(filters)).toEqual(expected))
  }

  test("a symbol without the field a filter speaks of does not pass it", () => {
    const bare = meta("NODATA")
    for (const f of [
      { market_cap: { min: 0 } },
      { volume: { min: 0 } },
      { price: { max: 1e9 } },
      { sector: { in: ["Technology"] } },
      { exchange: ["XNAS"] },
      { type: ["CS" as const] }
    ]) {
      expect([f, passes(f, bare)]).toEqual([f, false])
    }
  })
})

describe("combined, sorted and cut", () => {
  test("US tech common stocks above $2B trading at least 1M shares a day", () => {
    const filters: FiltersV1 = {
      market_cap: { min: 2e9 },
      volume: { min: 1e6 },
      sector: { in: ["Technology"] },
      type: ["CS"],
      exchange: ["XNAS", "XNYS"],
      active: true
    }
    expect(pick(filters)).toEqual(["AAPL", "MSFT"])
  })

  test("top 3 by market cap, biggest first; by volume ascending; unknown values last", () => {
    expect(pick({ sort: { by: "market_cap" }, limit: 3 })).toEqual(["AAPL", "MSFT", "BRK.B"])
    expect(pick({ sort: { by: "volume", order: "asc" }, limit: 2 })).toEqual(["SMLL", "GONE"])
    expect(pick({ sort: { by: "market_cap" } }).at(-1)).toBe("NODATA")
    expect(pick({ sort: { by: "symbol", order: "desc" }, limit: 2 })).toEqual(["XOM", "TSM"])
  })
})

describe("filters files", () => {
  let dir = ""
  afterEach(() => removeDir(dir))
  const failure = (exit: Exit.Exit<unknown, UsageError>): UsageError => {
    if (Exit.isSuccess(exit)) throw new Error("expected the filters to be refused")
    const reason = exit.cause.reasons.find((r) => r._tag === "Fail")
    if (reason === undefined || reason._tag !== "Fail") throw new Error(String(exit.cause))
    return reason.error
  }
  const refused = async (text: string) => failure(await Effect.runPromiseExit(parseFilters(text, "filters.yml")))

  test("a real file reads as the filters it says", async () => {
    dir = tempDir("mp-filters-")
    const path = join(dir, "filters.yml")
    writeFileSync(
      path,
      [
        "filters_version: 1",
        "market_cap: {min: 2000000000}",
        "volume: {min: 1000000, days: 20}",
        "sector: {in: [Technology]}",
        "type: [CS, ADRC]",
        "sort: {by: market_cap}",
        "limit: 50",
        ""
      ].join("\n")
    )
    const filters = await Effect.runPromise(loadFilters(path))
    expect(filters).toEqual({
      filters_version: 1,
      market_cap: { min: 2e9 },
      volume: { min: 1e6, days: 20 },
      sector: { in: ["Technology"] },
      type: ["CS", "ADRC"],
      sort: { by: "market_cap" },
      limit: 50
    })
    expect(pick(filters)).toEqual(["AAPL", "MSFT", "TSM"])
  })

  test("bad files name the key and what is allowed", async () => {
    const unknown = await refused("market_cap: {min: 1}\nsectors: {in: [Energy]}\n")
    expect(unknown.field).toBe("filters sectors")
    expect(unknown.reason).toMatch(/unknown key; allowed keys: .*sector/u)
    const several = await refused("limit: 0\nmarket_cap: {min: -1}\nactive: maybe\n")
    expect(several.field).toBe("filters market_cap.min")
    expect(several.reason).toMatch(/\(and 2 more: active, limit\)$/u)
    const minAboveMax = await refused("price: {min: 10, max: 5}\n")
    expect(minAboveMax.field).toBe("filters price.min")
    expect(minAboveMax.reason).toMatch(/min 10 is above max 5/u)
    const wrongType = await refused("market_cap: {min: lots}\n")
    expect(wrongType.field).toBe("filters market_cap.min")
    expect((await refused("type: [STOCK]\n")).field).toBe("filters type.0")
    expect((await refused("limit: 0\n")).field).toBe("filters limit")
    expect((await refused("pattern: '[A-Z'\n")).reason).toMatch(/not a regular expression/u)
    expect((await refused("include: [aapl]\n")).reason).toMatch(/ticker like AAPL/u)
    expect((await refused("filters_version: 2\n")).field).toBe("filters filters_version")
    expect((await refused("market_cap: {min: 1, maximum: 2}\n")).field).toBe("filters market_cap.maximum")
    expect((await refused("- AAPL\n")).reason).toMatch(/mapping/u)
    expect((await refused("a: [\n")).reason).toMatch(/not valid YAML/u)
  })

  test("a device or a directory is refused without being read", async () => {
    expect(failure(await Effect.runPromiseExit(loadFilters("/dev/zero"))).reason).toMatch(/not a regular file/u)
    dir = tempDir("mp-filters-")
    expect(failure(await Effect.runPromiseExit(loadFilters(dir))).reason).toMatch(/not a regular file/u)
    expect(failure(await Effect.runPromiseExit(loadFilters(join(dir, "missing.yml")))).field).toBe("--filters")
  })

  test("every example under examples/filters/ loads", async () => {
    const examples = resolve(import.meta.dir, "../../examples/filters")
    const files = readdirSync(examples).filter((f) => f.endsWith(".yml"))
    expect(files.length).toBeGreaterThanOrEqual(3)
    for (const f of files) {
      const filters = await Effect.runPromise(loadFilters(join(examples, f)))
      expect([f, filters.filters_version]).toEqual([f, 1])
    }
  })

  test("schemas/filters.v1.json is exactly what the Schema generates, closed to unknown keys", () => {
    const checkedIn = JSON.parse(readFileSync(resolve(import.meta.dir, "../../schemas/filters.v1.json"), "utf8"))
    expect(checkedIn).toEqual(filtersV1JsonSchema())
    expect(checkedIn.additionalProperties).toBe(false)
    expect(checkedIn.properties.market_cap.additionalProperties).toBe(false)
  })
})

import { afterEach, describe, expect, test } from "bun:test"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { runMain } from "../../src/cli/main.ts"
import { capture } from "../support/capture.ts"
import { removeDir, tempDir } from "../support/temp.ts"

let dir = ""
afterEach(() => removeDir(dir))

/** `marketpipe …` in this process, on the test's data dir: exit code, stdout, and the error lines it printed. */
const cli = async (...argv: Array<string>) => {
  const printed: Array<string> = []
  const { value, stdout } = await capture(() =>
    runMain([...argv, "--data-dir", join(dir, "data")], { HOME: dir }, (line) => printed.push(line))
  )
  return { code: value, stdout, errors: printed.join("\n") }
}

/** A universe CSV as export writes it: every column, names with commas and quotes, numbers that are not round. */
const universeCsv = [
  "symbol,name,exchange,type,sector,industry,sic,market_cap,shares_outstanding,avg_volume,last_close,currency,active,list_date,delist_date,source,as_of",
  'AAPL,"Apple Inc., ""the"" phone maker",XNAS,CS,Technology,Consumer Electronics,3571,3400000000000.5,15200000000,55123456.789,227.52,USD,true,1980-12-12,,polygon,2024-03-08',
  "BRK.B,Berkshire Hathaway Class B,XNYS,CS,Financials,,6331,980000000000,,4000000,450.1,USD,true,,,,",
  "GONE,,XNYS,CS,Energy,,,,,,,,false,,2019-06-28,polygon,2019-06-01",
  "SPY,SPDR S&P 500 ETF Trust,ARCX,ETF,,,,,,70000000,560,USD,,,,,"
].join("\n")

describe("universe import, export, show and list", () => {
  test("import then export gives the file back byte for byte; show --csv prints it; importing the export changes nothing", async () => {
    dir = tempDir("mp-universe-")
    const file = join(dir, "u.csv")
    writeFileSync(file, `${universeCsv}\n`)
    const imported = await cli("universe", "import", file, "--name", "core")
    expect(imported).toMatchObject({ code: 0, errors: "" })
    expect(imported.stdout).toContain("universe core: 4 symbols")
    expect((await cli("universe", "show", "core", "--csv")).stdout).toBe(`${universeCsv}\n`)
    const exported = join(dir, "out.csv")
    expect((await cli("universe", "export", "core", exported)).code).toBe(0)
    expect(readFileSync(exported, "utf8")).toBe(`${universeCsv}\n`)
    const before = JSON.parse((await cli("universe", "show", "core", "--json")).stdout).memberList
    expect((await cli("universe", "import", exported, "--name", "core")).code).toBe(0)
    const after = JSON.parse((await cli("universe", "show", "core", "--json")).stdout).memberList
    expect(after).toEqual(before)
    expect(before[0]).toEqual({
      symbol: "AAPL",
      name: 'Apple Inc., "the" phone maker',
      exchange: "XNAS",
      type: "CS",
      sector: "Technology",
      industry: "Consumer Electronics",
      sic: "3571",
      marketCap: 3400000000000.5,
      sharesOutstanding: 15200000000,
      avgVolume: 55123456.789,
      lastClose: 227.52,
      currency: "USD",
      active: true,
      listDate: "1980-12-12",
      source: "polygon",
      asOf: "2024-03-08"
    })
    const list = await cli("universe", "list")
    expect(list.stdout).toMatch(/^core\s+4\s+import /mu)
  })

  test("a plain list of tickers imports as tickers alone, and the export still reads as --universe FILE", async () => {
    dir = tempDir("mp-universe-")
    const file = join(dir, "list.txt")
    writeFileSync(file, "# my names\naapl\nMSFT\n\nbrk/b\n")
    expect((await cli("universe", "import", file, "--name", "mine")).code).toBe(0)
    const shown = JSON.parse((await cli("universe", "show", "mine", "--json")).stdout)
    expect(shown.memberList).toEqual([{ symbol: "AAPL" }, { symbol: "MSFT" }, { symbol: "BRK.B" }])
    expect((await cli("universe", "show", "mine")).stdout).toMatch(/BRK\.B/u)
  })

  test("bad files and names exit 2 naming what is wrong, and the stored universe stays as it was", async () => {
    dir = tempDir("mp-universe-")
    const good = join(dir, "good.csv")
    writeFileSync(good, "symbol,name\nAAPL,Apple\n")
    expect((await cli("universe", "import", good, "--name", "keep")).code).toBe(0)
    const bad: Array<[string, RegExp]> = [
      ["symbol,name,colour\nAAPL,Apple,red\n", /unknown column 'colour'; the columns are symbol, name/u],
      ["symbol,market_cap\nAAPL,lots\n", /line 2 column market_cap: 'lots' is not a number of 0 or more/u],
      ["symbol,type\nAAPL,STOCK\n", /column type: 'STOCK' is not one of CS, ETF/u],
      ["symbol,active\nAAPL,yes\n", /column active: 'yes' is not true or false/u],
      ["symbol,list_date\nAAPL,12/12/1980\n", /column list_date: '12\/12\/1980' is not a date as YYYY-MM-DD/u],
      ["symbol\nAAPL\nAAPL\n", /line 3: AAPL is listed twice/u],
      ["symbol\nAA PL\n", /line 2: .*not a valid symbol/u],
      ["symbol,sources\nAAPL,colour=polygon\n", /column sources: 'colour=polygon' is not column=source pairs/u],
      ["symbol,sources\nAAPL,name polygon\n", /column sources: .* is not column=source pairs/u]
    ]
    for (const [text, message] of bad) {
      const path = join(dir, "bad.csv")
      writeFileSync(path, text)
      const r = await cli("universe", "import", path, "--name", "keep")
      expect([text, r.code]).toEqual([text, 2])
      expect(r.errors).toMatch(message)
    }
    const badName = await cli("universe", "import", good, "--name", "no/slash")
    expect(badName.code).toBe(2)
    expect(badName.errors).toMatch(/--name: .*not a universe name/u)
    expect((await cli("universe", "import", join(dir, "missing.csv"), "--name", "x")).code).toBe(2)
    expect((await cli("universe", "show", "nope")).errors).toMatch(/no universe named nope/u)
    expect(JSON.parse((await cli("universe", "show", "keep", "--json")).stdout).memberList).toEqual([
      { symbol: "AAPL", name: "Apple" }
    ])
    expect((await cli("universe", "list", "--json")).stdout.trim()).toMatch(/^\[\{"name":"keep"/u)
  })

  test("ohlcv backfill --universe takes a saved universe's name; a name that is neither file nor universe is exit 2", async () => {
    dir = tempDir("mp-universe-")
    const file = join(dir, "u.csv")
    writeFileSync(file, "symbol,name\nAAPL,Apple\nMSFT,Microsoft\nSPY,SPDR\n")
    expect((await cli("universe", "import", file, "--name", "three")).code).toBe(0)
    const range = ["--provider", "fake", "--from", "2024-03-04", "--to", "2024-03-05", "--dry-run", "--json"]
    const plan = await cli("ohlcv", "backfill", "--universe", "three", ...range)
    expect(plan.code).toBe(0)
    expect(JSON.parse(plan.stdout)).toMatchObject({ dry_run: true, partitions: 6, tradingDays: 2 })
    const fromFile = await cli("ohlcv", "backfill", "--universe", file, ...range)
    expect(JSON.parse(fromFile.stdout).partitions).toBe(6)
    const unknown = await cli("ohlcv", "backfill", "--universe", "nine", ...range)
    expect(unknown.code).toBe(2)
    expect(unknown.errors).toMatch(/--universe: .*nine does not exist, and no universe is named nine/u)
  })

  test("refresh keeps a snapshot per date; build as of a date sees what was listed then; diff says what changed and why", async () => {
    dir = tempDir("mp-universe-")
    const directory = (date: string, rows: ReadonlyArray<string>) =>
      [
        "Symbol|Security Name|Market Category|Test Issue|Financial Status|Round Lot Size|ETF|NextShares",
        ...rows,
        `File Creation Time: ${date}08:02|||||||`,
        ""
      ].join("\r\n")
    const january = join(dir, "nasdaqlisted-jan.txt")
    const march = join(dir, "nasdaqlisted-mar.txt")
    writeFileSync(
      january,
      directory("01022024", [
        "AAPL|Apple Inc. - Common Stock|Q|N|N|100|N|N",
        "GONE|Gone Corp. - Common Stock|S|N|N|100|N|N",
        "QQQ|Invesco QQQ Trust, Series 1|G|N|N|100|Y|N",
        "ZTEST|NASDAQ TEST STOCK|G|Y|N|100|N|N"
      ])
    )
    writeFileSync(
      march,
      directory("03112024", [
        "AAPL|Apple Inc. - Common Stock|Q|N|N|100|N|N",
        "NEWCO|New Co. - Common Stock|Q|N|N|100|N|N",
        "QQQ|Invesco QQQ Trust, Series 1|G|N|N|100|Y|N"
      ])
    )
    const refreshed = await cli("universe", "refresh", "--nasdaq", january, "--nasdaq", march)
    expect(refreshed.code).toBe(0)
    expect(refreshed.stdout).toBe(
      "snapshot nasdaqtrader 2024-01-02: 3 symbols\nsnapshot nasdaqtrader 2024-03-11: 3 symbols\n"
    )
    const filters = join(dir, "stocks.yml")
    writeFileSync(filters, "filters_version: 1\ntype: [CS]\nexchange: [XNAS]\n")
    const build = (name: string, asOf: string, file = filters) =>
      cli("universe", "build", "--filters", file, "--name", name, "--as-of", asOf, "--json")
    expect((await build("before", "2024-02-01")).code).toBe(0)
    expect((await build("after", "2024-04-01")).code).toBe(0)
    const members = async (name: string) =>
      JSON.parse((await cli("universe", "show", name, "--json")).stdout).memberList.map(
        (m: { symbol: string }) => m.symbol
      )
    expect(await members("before")).toEqual(["AAPL", "GONE"])
    expect(await members("after")).toEqual(["AAPL", "NEWCO"])
    const before = JSON.parse((await cli("universe", "show", "before", "--json")).stdout)
    expect(before).toMatchObject({ asOf: "2024-02-01", filters: { type: ["CS"], exchange: ["XNAS"] } })
    expect(before.memberList[0]).toMatchObject({ symbol: "AAPL", source: "nasdaqtrader", asOf: "2024-01-02" })
    const diff = await cli("universe", "diff", "before", "after")
    expect(diff.stdout).toMatch(/^before → after: 1 added, 1 removed, 1 in both$/mu)
    // Why, from what the sources said as of each universe's date.
    expect(diff.stdout).toMatch(/^\+ NEWCO {2}\(not listed by any source as of A's 2024-02-01\)$/mu)
    expect(diff.stdout).toMatch(/^- GONE {2}\(not listed by any source as of B's 2024-04-01\)$/mu)
    const etfs = join(dir, "etfs.yml")
    writeFileSync(etfs, "type: [ETF]\n")
    expect((await build("etfs", "2024-04-01", etfs)).code).toBe(0)
    const why = JSON.parse((await cli("universe", "diff", "after", "etfs", "--json")).stdout)
    expect(why.removed).toEqual([
      { symbol: "AAPL", why: "fails B's type" },
      { symbol: "NEWCO", why: "fails B's type" }
    ])
    expect(why.added).toEqual([{ symbol: "QQQ", why: "fails A's type" }])
    const tooEarly = await build("early", "2023-06-01")
    expect(tooEarly.code).toBe(2)
    expect(tooEarly.errors).toMatch(/no symbol metadata is known as of 2023-06-01/u)
  })

  test("a refresh with one bad file stores nothing", async () => {
    dir = tempDir("mp-universe-")
    const good = join(dir, "good.txt")
    writeFileSync(
      good,
      "Symbol|Security Name|Market Category|Test Issue|Financial Status|Round Lot Size|ETF|NextShares\nAAPL|Apple Inc. - Common Stock|Q|N|N|100|N|N\nFile Creation Time: 0102202408:02|||||||\n"
    )
    const cut = join(dir, "cut.txt")
    writeFileSync(
      cut,
      "Symbol|Security Name|Market Category|Test Issue|Financial Status|Round Lot Size|ETF|NextShares\nMSFT|Micro"
    )
    const r = await cli("universe", "refresh", "--nasdaq", good, "--nasdaq", cut)
    expect(r.code).toBe(2)
    expect(r.errors).toMatch(/cut\.txt: the file has no "File Creation Time:" footer/u)
    const filters = join(dir, "all.yml")
    writeFileSync(filters, "{}\n")
    const built = await cli("universe", "build", "--filters", filters, "--name", "x", "--as-of", "2024-06-01")
    expect(built.errors).toMatch(/no symbol metadata is known/u)
  })

  test("a point-in-time universe's backfill fetches a delisted symbol up to its last day, a new listing from its first", async () => {
    dir = tempDir("mp-universe-")
    const file = join(dir, "pit.csv")
    writeFileSync(file, "symbol,list_date,delist_date\nAAPL,1980-12-12,\nGONE,,2024-03-06\nNEWCO,2024-03-06,\n")
    expect((await cli("universe", "import", file, "--name", "pit")).code).toBe(0)
    const range = ["--provider", "fake", "--from", "2024-03-04", "--to", "2024-03-08"]
    const plan = JSON.parse(
      (await cli("ohlcv", "backfill", "--universe", "pit", ...range, "--dry-run", "--json")).stdout
    )
    // AAPL every day, GONE on the 4th and 5th only, NEWCO from the 6th: 5 + 2 + 3.
    expect(plan).toMatchObject({ partitions: 10, covered: 0, tradingDays: 5 })
    const run = await cli("ohlcv", "backfill", "--universe", "pit", ...range, "--json")
    expect(run.code).toBe(0)
    const summary = JSON.parse(run.stdout)
    expect(summary.job).toMatchObject({ partitionsTotal: 10, partitionsDone: 10, barsWritten: 3900 })
    const ledger = JSON.parse((await cli("ledger", "--json")).stdout) as {
      symbols: Array<{ symbol: string; counts: { complete: number } }>
    }
    expect(ledger.symbols.map((s) => [s.symbol, s.counts.complete])).toEqual([
      ["AAPL", 5],
      ["GONE", 2],
      ["NEWCO", 3]
    ])
  })

  test("no universes yet says how to make one, and creates no database", async () => {
    dir = tempDir("mp-universe-")
    const r = await cli("universe", "list")
    expect(r.stdout).toMatch(/no universes yet/u)
    expect(() => readFileSync(join(dir, "data", "marketpipe.db"))).toThrow()
  })
})

import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test"
import { readFileSync, writeFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { Effect } from "effect"
import { loadOhlcv, type Symbol } from "../../mod.ts"
import finnhub from "../../plugins/finnhub/mod.ts"
import { runMain } from "../../src/cli/main.ts"
import { gatherReference } from "../../src/universe/gather.ts"
import { ownDailyBars } from "../../src/universe/own-daily-bars.ts"
import { allRoutes } from "../emulators/routes.ts"
import { type Emulator, startEmulator } from "../emulators/server.ts"
import type { ProviderRoutes } from "../emulators/types.ts"
import { capture } from "../support/capture.ts"
import { calendar, makeClient } from "../support/provider-run.ts"
import { removeDir, tempDir } from "../support/temp.ts"

let emulator: Emulator
/** Polygon's answers, except ticker details of MSFT, which keep failing: a source failing part-way. */
let brokenDetails: Emulator
beforeAll(async () => {
  emulator = await startEmulator()
  const polygon = allRoutes.find((r) => r.provider === "polygon") as ProviderRoutes
  brokenDetails = await startEmulator({
    routes: [
      {
        ...polygon,
        handle: (req, ctx) =>
          req.path === "/v3/reference/tickers/MSFT"
            ? { status: 503, body: { status: "ERROR", error: "Service Unavailable" } }
            : polygon.handle(req, ctx)
      }
    ]
  })
})
afterAll(async () => {
  await emulator.stop()
  await brokenDetails.stop()
})

let dir = ""
afterEach(() => removeDir(dir))

/** A paid plan's pacing and quick retries, so the tests wait on nothing. */
const config = (): string => {
  const file = join(dir, "marketpipe.yml")
  const fast = "{ rate_limit: { requests: 1000, per_seconds: 1 }, max_attempts: 2, retry_base_ms: 1 }"
  writeFileSync(file, `providers:\n  polygon: ${fast}\n  finnhub: ${fast}\n  alpaca: ${fast}\n`)
  return file
}

const envFor = (e: Emulator) => ({
  HOME: dir,
  MARKETPIPE_POLYGON_BASE_URL: e.url,
  MARKETPIPE_FINNHUB_BASE_URL: e.url,
  MARKETPIPE_ALPACA_BASE_URL: e.url,
  POLYGON_API_KEY: e.keys.polygon,
  FINNHUB_API_KEY: e.keys.finnhub,
  ALPACA_KEY: e.keys.alpaca.id,
  ALPACA_SECRET: e.keys.alpaca.secret
})

/**
 * `marketpipe …` in this process against an emulator: exit code, stdout, and what it printed to stderr. The command
 * reads its environment from `process.env`, so the emulator's URLs and keys are set there for the run only.
 */
const cli = async (argv: ReadonlyArray<string>, against: Emulator = emulator) => {
  const env = envFor(against)
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]))
  Object.assign(process.env, env)
  const printed: Array<string> = []
  try {
    const { value, stdout, stderr } = await capture(() =>
      runMain([...argv, "--data-dir", join(dir, "data"), "--config", config()], env, (line) => printed.push(line))
    )
    return { code: value, stdout, errors: `${printed.join("\n")}${stderr}` }
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}

const json = <A>(r: { stdout: string }): A => JSON.parse(r.stdout) as A
const membersOf = (r: { stdout: string }) =>
  json<{ memberList: Array<Record<string, unknown>> }>(r).memberList.map((m) => m.symbol)

describe("universes from providers' reference data", () => {
  test("build --provider as of past days: a delisted symbol is in before its delisting and out after; its backfill stops at its last day", async () => {
    dir = tempDir("mp-reference-")
    const filters = join(dir, "common.yml")
    writeFileSync(filters, "filters_version: 1\ntype: [CS]\nvolume: { min: 1000 }\n")
    const build = (name: string, asOf: string) =>
      cli(["universe", "build", "--filters", filters, "--name", name, "--provider", "polygon", "--as-of", asOf])
    // No snapshot history at all: the provider's own point-in-time lists make the first build work.
    const before = await build("before", "2022-11-01")
    expect(before).toMatchObject({ code: 0 })
    expect(before.errors).toContain("average volume and last close over 20 trading days to 2022-10-31")
    expect(await build("after", "2022-12-01")).toMatchObject({ code: 0 })
    expect(membersOf(await cli(["universe", "show", "before", "--json"]))).toEqual([
      "A",
      "AAPL",
      "JPM",
      "META",
      "MSFT",
      "TWTR"
    ])
    expect(membersOf(await cli(["universe", "show", "after", "--json"]))).toEqual(["A", "AAPL", "JPM", "META", "MSFT"])
    const shown = json<{ memberList: Array<Record<string, unknown>> }>(
      await cli(["universe", "show", "before", "--json"])
    )
    expect(shown.memberList.every((m) => typeof m.avgVolume === "number" && typeof m.lastClose === "number")).toBe(true)

    const diff = json<{ removed: Array<{ symbol: string; why: string }> }>(
      await cli(["universe", "diff", "before", "after", "--json"])
    )
    expect(diff.removed).toEqual([{ symbol: "TWTR", why: "delisted 2022-11-08" }])

    // 2022-11-01 to 11-10 is 8 trading days; TWTR traded the first 5 of them (its last day was 11-07).
    const plan = json<{ partitions: number; tradingDays: number }>(
      await cli([
        "ohlcv",
        "backfill",
        "--universe",
        "before",
        "--provider",
        "fake",
        "--from",
        "2022-11-01",
        "--to",
        "2022-11-10",
        "--dry-run",
        "--json"
      ])
    )
    expect(plan).toMatchObject({ tradingDays: 8, partitions: 5 * 8 + 5 })
  })

  test("a provider failing part-way stores no snapshot, not even another source's from the same refresh", async () => {
    dir = tempDir("mp-reference-")
    const nasdaq = join(import.meta.dir, "../fixtures/providers/nasdaqtrader/nasdaqlisted.txt")
    const failed = await cli(
      ["universe", "refresh", "--nasdaq", nasdaq, "--provider", "polygon", "--as-of", "2024-03-11"],
      brokenDetails
    )
    expect(failed.code).not.toBe(0)
    expect(failed.errors).toMatch(/provider polygon: .*MSFT|ticker MSFT/u)
    expect(failed.errors).not.toContain(emulator.keys.polygon)
    expect(failed.code).not.toBe(2)
    const filters = join(dir, "all.yml")
    writeFileSync(filters, "filters_version: 1\n")
    expect((await cli(["universe", "snapshots"])).stdout).toContain("no snapshots yet")
    // Nor a universe built from it.
    const built = await cli(
      ["universe", "build", "--filters", filters, "--name", "x", "--provider", "polygon", "--as-of", "2024-03-11"],
      brokenDetails
    )
    expect(built.code).toBe(failed.code)
    expect((await cli(["universe", "list", "--json"])).stdout.trim()).toBe("[]")
    const build = await cli(["universe", "build", "--filters", filters, "--name", "x", "--as-of", "2024-03-11"])
    expect(build.code).toBe(2)
    expect(build.errors).toContain("no symbol metadata is known as of 2024-03-11")
    // The same refresh against a healthy provider stores both.
    const ok = await cli(["universe", "refresh", "--nasdaq", nasdaq, "--provider", "polygon", "--as-of", "2024-03-11"])
    expect(ok.code).toBe(0)
    expect(ok.stdout).toMatch(/snapshot nasdaqtrader 2024-03-11: \d+ symbols\nsnapshot polygon 2024-03-11: 10 symbols/u)
    const kept = json<Array<{ source: string; asOf: string; symbols: number }>>(
      await cli(["universe", "snapshots", "--json"])
    )
    expect(kept.map((k) => [k.source, k.asOf, k.symbols])).toEqual(
      expect.arrayContaining([
        ["polygon", "2024-03-11", 10],
        ["nasdaqtrader", "2024-03-11", expect.any(Number)]
      ])
    )
    expect(kept).toHaveLength(2)
  })

  test("snapshots from polygon, finnhub and alpaca merge field by field in the documented precedence", async () => {
    dir = tempDir("mp-reference-")
    const refreshed = await cli([
      "universe",
      "refresh",
      "--provider",
      "alpaca",
      "--provider",
      "finnhub",
      "--provider",
      "polygon",
      "--details",
      "AAPL",
      "--json"
    ])
    expect(refreshed.code).toBe(0)
    const stored = json<{ snapshots: Array<{ source: string; n: number }> }>(refreshed).snapshots
    expect(stored.map((s) => s.source)).toEqual(["alpaca", "finnhub", "polygon"])
    const filters = join(dir, "apple.yml")
    writeFileSync(filters, "filters_version: 1\ninclude: [AAPL]\npattern: '^$'\n")
    expect((await cli(["universe", "build", "--filters", filters, "--name", "apple"])).code).toBe(0)
    const [aapl] = json<{ memberList: Array<Record<string, unknown>> }>(
      await cli(["universe", "show", "apple", "--json"])
    ).memberList
    // Polygon's name, SIC industry and market cap; Finnhub's sector, which Polygon does not have.
    expect(aapl).toMatchObject({
      symbol: "AAPL",
      name: "Apple Inc.",
      exchange: "XNAS",
      industry: "ELECTRONIC COMPUTERS",
      sector: "Technology",
      sources: { name: "polygon", exchange: "polygon", industry: "polygon", sector: "finnhub", marketCap: "polygon" }
    })
    // Round trip: the export carries each field's source, and imports back to the same universe, field for field.
    const csv = join(dir, "apple.csv")
    expect((await cli(["universe", "export", "apple", csv])).code).toBe(0)
    const text = readFileSync(csv, "utf8")
    expect(text.split("\n")[0]).toEndWith(",source,as_of,sources")
    expect(text).toContain("sector=finnhub")
    expect((await cli(["universe", "import", csv, "--name", "apple2"])).code).toBe(0)
    const again = json<{ memberList: Array<Record<string, unknown>> }>(
      await cli(["universe", "show", "apple2", "--json"])
    )
    expect(again.memberList).toEqual([aapl as Record<string, unknown>])
    expect((await cli(["universe", "show", "apple2", "--csv"])).stdout).toBe(text)
    // Alpaca and Finnhub list the market only as it is now.
    const past = await cli(["universe", "refresh", "--provider", "alpaca", "--as-of", "2024-03-11"])
    expect(past.code).toBe(2)
    expect(past.errors).toMatch(/--as-of: provider alpaca lists symbols only as they are today/u)
    const yahoo = await cli(["universe", "refresh", "--provider", "yahoo"])
    expect(yahoo.code).toBe(2)
    expect(yahoo.errors).toContain("provider yahoo has no reference data")
  })

  test("bad reference flags are exit 2 naming the flag", async () => {
    dir = tempDir("mp-reference-")
    const cases: Array<[Array<string>, RegExp]> = [
      [["universe", "refresh"], /--provider: name a source/u],
      [["universe", "refresh", "--provider", "polygon", "--details", "aapl!"], /--details: "aapl!" is not a ticker/u],
      [["universe", "refresh", "--provider", "polygon", "--volume-days", "0"], /--volume-days: 0 is out of range/u],
      [["universe", "refresh", "--provider", "polygon", "--as-of", "2024-02-30"], /--as-of/u],
      [["universe", "refresh", "--provider", "nope"], /unknown provider 'nope'/u]
    ]
    for (const [argv, message] of cases) {
      const r = await cli(argv)
      expect({ argv, code: r.code }).toEqual({ argv, code: 2 })
      expect(r.errors).toMatch(message)
    }
  })
})

describe("Nasdaq Trader directories from a URL", () => {
  let server: Server
  let url = ""
  let requests = 0
  const directory = readFileSync(join(import.meta.dir, "../fixtures/providers/nasdaqtrader/nasdaqlisted.txt"))
  beforeAll(async () => {
    server = createServer((req, res) => {
      requests++
      // The first request of each path fails: the fetch must retry.
      if (requests % 2 === 1) {
        res.writeHead(503).end("busy")
        return
      }
      if (req.url === "/SymDir/nasdaqlisted.txt") res.writeHead(200, { "content-type": "text/plain" }).end(directory)
      else res.writeHead(404).end("no such file")
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  test("a directory URL is fetched (retried past a 503) and stored; a missing one fails without showing credentials", async () => {
    dir = tempDir("mp-reference-")
    requests = 0
    const ok = await cli(["universe", "refresh", "--nasdaq", `${url}/SymDir/nasdaqlisted.txt`])
    expect(ok.code).toBe(0)
    expect(requests).toBe(2)
    expect(ok.stdout).toMatch(/snapshot nasdaqtrader 2024-03-11: \d+ symbols/u)
    requests = 0
    const secretUrl = url.replace("http://", "http://reader:hunter2-secret@")
    const missing = await cli(["universe", "refresh", "--nasdaq", `${secretUrl}/SymDir/gone.txt`])
    expect(missing.code).not.toBe(0)
    expect(missing.errors).toContain("HTTP 404")
    expect(missing.errors).not.toContain("hunter2-secret")
  })
})

describe("average volume from our own 1d bars", () => {
  test("a source without whole-market daily bars gets average volume and last close from the lake's 1d bars", async () => {
    dir = tempDir("mp-reference-")
    const data = join(dir, "data")
    // Our own bars of AAPL for the 20 trading days before 2024-03-11 (Presidents Day, 02-19, is not one of them).
    const ingest = await cli([
      "ohlcv",
      "ingest",
      "--provider",
      "fake",
      "--symbols",
      "AAPL",
      "--start",
      "2024-02-09",
      "--end",
      "2024-03-08"
    ])
    expect(ingest.code).toBe(0)
    const client = await Effect.runPromise(
      makeClient({ plugin: finnhub, baseUrl: emulator.url, env: { FINNHUB_API_KEY: emulator.keys.finnhub } })
    )
    const gathered = await Effect.runPromise(
      gatherReference({
        plugin: finnhub,
        client,
        asOf: "2024-03-11",
        today: "2024-03-11",
        details: [],
        volumeDays: 20,
        calendar,
        ownDailyBars: ownDailyBars(data)
      })
    )
    expect(gathered.volumeFrom).toBe("lake")
    expect(gathered.days).toHaveLength(20)
    expect(gathered.days[0]).toBe("2024-02-09")
    const daily = await loadOhlcv({
      symbols: "AAPL",
      start: "2024-02-09",
      end: "2024-03-09",
      timeframe: "1d",
      dataDir: data,
      columns: ["close", "volume"]
    })
    expect(daily.length).toBe(20)
    const aapl = gathered.members.find((m) => m.symbol === ("AAPL" as Symbol))
    expect(aapl?.avgVolume).toBeCloseTo(daily.volume.reduce((a, b) => a + b, 0) / 20, 6)
    expect(aapl?.lastClose).toBe(daily.close[19] as number)
    expect(aapl).toMatchObject({ source: "finnhub", asOf: "2024-03-11" })
    // Symbols the lake has no bars of get none made up.
    expect(gathered.members.find((m) => m.symbol === ("MSFT" as Symbol))?.avgVolume).toBeUndefined()
  })
})

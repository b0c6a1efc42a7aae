import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Exit, Option } from "effect"
import { exitCodeOf } from "../../src/cli/main.ts"
import { alpacaEnv, type Emulator, startEmulator } from "../emulators/server.ts"
import { backfillFlags, backfillIn, ledgerJson } from "../support/backfill.ts"
import { capture } from "../support/capture.ts"
import { ingestFlags, ingestIn } from "../support/ingest.ts"
import { lakeDigest } from "../support/lake.ts"
import { listFiles, useTempDirs } from "../support/temp.ts"

let emulator: Emulator
const fresh = useTempDirs("mp-backfill-")
beforeAll(async () => {
  emulator = await startEmulator()
})
afterAll(async () => {
  await emulator.stop()
})

const alpaca = () => alpacaEnv(emulator)
const summaryOf = (r: { stdout: string }) => JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}")

describe("ohlcv backfill", () => {
  test("a second backfill over the same range makes zero provider requests", async () => {
    const cwd = fresh()
    const flags = backfillFlags({
      provider: Option.some("alpaca"),
      feed: Option.some("sip"),
      symbols: Option.some("AAPL,MSFT,SPY,QQQ"),
      from: Option.some("2024-02-26"),
      to: Option.some("2024-03-08")
    })
    emulator.resetStats()
    const first = await backfillIn(cwd, flags, alpaca())
    expect(Exit.isSuccess(first.value)).toBe(true)
    const firstRequests = emulator.stats().requests
    // Four symbols fit one request per run of days: Feb and Mar are separate files, so two request chains.
    expect(firstRequests).toBeGreaterThanOrEqual(2)
    expect(summaryOf(first).job).toMatchObject({ kind: "backfill", partitionsDone: 40, barsWritten: 40 * 390 })

    emulator.resetStats()
    const second = await backfillIn(cwd, flags, alpaca())
    expect(Exit.isSuccess(second.value)).toBe(true)
    expect(emulator.stats().requests).toBe(0)
    expect(summaryOf(second)).toMatchObject({ job: { partitionsTotal: 0 }, plan: { covered: 40, partitions: 0 } })

    // A wider range asks only for the new days.
    emulator.resetStats()
    const wider = await backfillIn(cwd, { ...flags, to: Option.some("2024-03-12") }, alpaca())
    expect(summaryOf(wider)).toMatchObject({ job: { partitionsDone: 8 }, plan: { covered: 40 } })
    expect(emulator.stats().requests).toBe(1)
  })

  test("ledger statuses: thin symbol partial, a day the provider returned nothing empty, a failed day missing", async () => {
    const cwd = fresh()
    writeFileSync(
      join(cwd, "marketpipe.yaml"),
      "config_version: 1\nproviders:\n  fake:\n    missing_rate: 0.2\n    empty_days: [2024-03-06]\n    fail_days: [2024-03-11]\n"
    )
    const run = await backfillIn(
      cwd,
      backfillFlags({ symbols: Option.some("THIN"), from: Option.some("2024-03-04"), to: Option.some("2024-03-12") })
    )
    // The failing request is split until the failure is pinned to its day; every other day lands.
    expect(exitCodeOf(run.value, () => {})).toBe(3)
    const report = await ledgerJson(cwd, { days: true, from: Option.some("2024-03-04"), to: Option.some("2024-03-12") })
    expect(report.symbols[0]).toMatchObject({
      symbol: "THIN",
      tradingDays: 7,
      counts: { partial: 5, empty: 1, missing: 1, complete: 0, invalid: 0 }
    })
    const byDay = Object.fromEntries(report.days.map((d: { day: string; status: string }) => [d.day, d]))
    expect(byDay["2024-03-06"]).toMatchObject({ status: "empty", observed: 0, expected: 390 })
    expect(byDay["2024-03-11"]).toMatchObject({
      status: "missing",
      error: "provider fake: synthetic failure for 2024-03-11"
    })
    expect(byDay["2024-03-04"].observed).toBeLessThan(390)
    expect(byDay["2024-03-04"].observed).toBeGreaterThan(250)

    // The next run asks again only for the failed days; --refetch partial,empty asks for those too.
    writeFileSync(join(cwd, "marketpipe.yaml"), "config_version: 1\nproviders:\n  fake:\n    missing_rate: 0.2\n")
    const again = await backfillIn(
      cwd,
      backfillFlags({ symbols: Option.some("THIN"), from: Option.some("2024-03-04"), to: Option.some("2024-03-12") })
    )
    expect(summaryOf(again)).toMatchObject({ plan: { partitions: 1, covered: 6 } })
    const refetch = await backfillIn(
      cwd,
      backfillFlags({
        symbols: Option.some("THIN"),
        from: Option.some("2024-03-04"),
        to: Option.some("2024-03-12"),
        refetch: Option.some("partial,empty")
      })
    )
    expect(summaryOf(refetch)).toMatchObject({ plan: { partitions: 7, covered: 0 } })
    const after = await ledgerJson(cwd)
    expect(after.symbols[0].counts).toMatchObject({ partial: 7, missing: 0, empty: 0 })
  })

  test("a provider down for a multi-symbol request fails every partition, and the summary counts them all", async () => {
    const cwd = fresh()
    writeFileSync(
      join(cwd, "marketpipe.yaml"),
      "config_version: 1\nproviders:\n  alpaca:\n    max_attempts: 2\n    retry_base_ms: 1\n"
    )
    emulator.setFaults({ error5xxRate: 1 })
    try {
      const r = await backfillIn(
        cwd,
        backfillFlags({
          provider: Option.some("alpaca"),
          symbols: Option.some("AAPL,MSFT"),
          from: Option.some("2024-03-04"),
          to: Option.some("2024-03-08"),
          json: false
        }),
        alpaca()
      )
      expect(exitCodeOf(r.value, () => {})).toBe(3)
      expect(r.stdout).toMatch(/partitions: 0 done, 10 failed of 10/u)
      expect(r.stdout).toMatch(/AAPL\s+2024-03-04\.\.2024-03-08 \(5\)\s+provider alpaca: gave up after 2 tries/u)
      expect(r.stdout).toMatch(/MSFT\s+2024-03-04\.\.2024-03-08 \(5\)\s+provider alpaca: gave up after 2 tries/u)
      const ledger = await ledgerJson(cwd)
      expect(ledger.totals.counts).toMatchObject({ missing: 10, complete: 0 })
    } finally {
      emulator.setFaults({})
    }
  })

  test("--dry-run prints partitions, requests, bars and time under the rate limit, and writes nothing", async () => {
    const cwd = fresh()
    const r = await backfillIn(
      cwd,
      backfillFlags({
        provider: Option.some("alpaca"),
        symbols: Option.some("AAPL,MSFT"),
        from: Option.some("2024-01-01"),
        to: Option.some("2024-12-31"),
        dryRun: true
      }),
      {}
    )
    expect(Exit.isSuccess(r.value)).toBe(true)
    const plan = JSON.parse(r.stdout)
    // 2024 had 252 sessions; 12 monthly files per symbol, each a request chain of about 2 pages.
    expect(plan).toMatchObject({
      dry_run: true,
      tradingDays: 252,
      partitions: 504,
      covered: 0,
      rate_limit: { requests: 200, perSeconds: 60 }
    })
    expect(plan.expectedBars).toBe(2 * (249 * 390 + 3 * 210))
    expect(plan.requests).toBe(24)
    expect(plan.estimated_seconds).toBe(0)
    expect(listFiles(cwd)).toEqual([])
  })

  test("inputs: a universe file, --lookback, and clear errors for the rest", async () => {
    const cwd = fresh()
    writeFileSync(join(cwd, "universe.csv"), "symbol,name\nAAPL,Apple\nbrk/b,Berkshire\n")
    const r = await backfillIn(
      cwd,
      backfillFlags({
        universe: Option.some("universe.csv"),
        from: Option.some("2024-03-08"),
        to: Option.some("2024-03-08")
      })
    )
    expect(summaryOf(r).job.symbols).toEqual(["AAPL", "BRK.B"])
    writeFileSync(join(cwd, "bad.txt"), "AAPL\n# comment\n\nnot a symbol\n")
    const cases: Array<[Partial<Parameters<typeof backfillFlags>[0]>, RegExp]> = [
      [
        { universe: Option.some("bad.txt"), from: Option.some("2024-03-08") },
        /bad\.txt line 4: 'not a symbol' is not a valid symbol/
      ],
      [{ from: Option.some("2024-03-08") }, /give either --symbols A,B,C or --universe FILE/],
      [{ symbols: Option.some("A"), universe: Option.some("bad.txt"), from: Option.some("2024-03-08") }, /one of them/],
      [{ symbols: Option.some("A") }, /give either --from YYYY-MM-DD or --lookback SPAN/],
      [{ symbols: Option.some("A"), lookback: Option.some("5 days") }, /--lookback: '5 days' is not a span/],
      [
        { symbols: Option.some("A"), from: Option.some("2024-03-09"), to: Option.some("2024-03-08") },
        /--from: 2024-03-09 is after --to 2024-03-08/
      ],
      [
        { symbols: Option.some("A"), from: Option.some("2024-03-08"), refetch: Option.some("everything") },
        /--refetch: 'everything' is not a ledger status/
      ]
    ]
    for (const [over, message] of cases) {
      const bad = fresh()
      writeFileSync(join(bad, "bad.txt"), "AAPL\n# comment\n\nnot a symbol\n")
      const out = await backfillIn(bad, backfillFlags(over))
      expect(exitCodeOf(out.value, () => {})).toBe(2)
      expect(String(Exit.isFailure(out.value) ? out.value.cause : "")).toMatch(message)
      expect(existsSync(join(bad, "data"))).toBe(false)
    }
  })

  test("a plan of years needs --yes: refused with its size and nothing written; a dry run shows it", async () => {
    const cwd = fresh()
    const symbols = Array.from({ length: 1000 }, (_, i) => `S${String(i).padStart(4, "0")}`).join(",")
    const flags = backfillFlags({
      symbols: Option.some(symbols),
      from: Option.some("2024-01-01"),
      to: Option.some("2024-12-31")
    })
    const refused = await backfillIn(cwd, flags)
    expect(exitCodeOf(refused.value, () => {})).toBe(2)
    expect(String(Exit.isFailure(refused.value) ? refused.value.cause : "")).toMatch(
      /--yes: this run would fetch 252,000 partitions \(1,000 symbol\(s\) over 252 trading day\(s\)\), more than 200,000 at once; pass --yes to go ahead, or --dry-run/u
    )
    expect(listFiles(cwd)).toEqual([])
    const queued = await backfillIn(cwd, { ...flags, enqueue: true })
    expect(exitCodeOf(queued.value, () => {})).toBe(2)
    const dry = await backfillIn(cwd, { ...flags, dryRun: true })
    expect(JSON.parse(dry.stdout)).toMatchObject({ dry_run: true, partitions: 252_000 })
    expect(listFiles(cwd)).toEqual([])
  })

  test("the lake after a backfill equals an ingest of the same range", async () => {
    const range = { symbols: Option.some("AAPL,MSFT"), from: Option.some("2024-02-20"), to: Option.some("2024-03-05") }
    const backfilled = fresh()
    await backfillIn(backfilled, backfillFlags(range))
    expect((await ledgerJson(backfilled)).totals.counts.complete).toBe(2 * 11)
    const ingested = fresh()
    const ingest = await capture(() =>
      ingestIn(ingested, ingestFlags({ symbols: "AAPL,MSFT", start: "2024-02-20", end: "2024-03-05" }))
    )
    expect(Exit.isSuccess(ingest.value)).toBe(true)
    // A backfill that finds part of the range in the ledger fetches the rest, and ends with the same lake.
    const topped = fresh()
    await capture(() => ingestIn(topped, ingestFlags({ symbols: "AAPL", start: "2024-02-26", end: "2024-02-29" })))
    const topUp = await backfillIn(topped, backfillFlags(range))
    expect(summaryOf(topUp).plan).toMatchObject({ covered: 4, partitions: 2 * 11 - 4 })
    const expected = await lakeDigest(join(ingested, "data"))
    expect(expected.n).toBe(String(2 * 11 * 390))
    expect(await lakeDigest(join(backfilled, "data"))).toEqual(expected)
    expect(await lakeDigest(join(topped, "data"))).toEqual(expected)
  })
})

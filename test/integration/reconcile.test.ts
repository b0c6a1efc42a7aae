/**
 * `marketpipe reconcile` against two emulated providers whose answers differ where the test planted it: Alpaca (A,
 * its `iex` feed seeing 60% of the volume) and Polygon (B). Each class is planted a known number of times at known
 * minutes, and the run must find exactly those. Then A comes from the lake instead (an Alpaca ingest first), the
 * reports are checked against each other, bad flags against their names, and the metric against the counts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { NodeServices } from "@effect/platform-node"
import { parse } from "csv-parse/sync"
import { Clock, Effect, Layer, Option } from "effect"
import { Command } from "effect/cli"
import { metricsShowMain } from "../../src/cli/commands/metrics.ts"
import { type ReconcileFlags, reconcileMain } from "../../src/cli/commands/reconcile.ts"
import { exitCodeOf, runMain } from "../../src/cli/main.ts"
import { reconcileCommand } from "../../src/cli/reconcile-tree.ts"
import { batchFromBars } from "../../src/domain/bar.ts"
import { dayNumber, newYorkToUtc } from "../../src/domain/calendar.ts"
import type { Symbol } from "../../src/domain/symbol.ts"
import { type MetricsShape, makeMetrics } from "../../src/observability/metrics.ts"
import { RateLimiters } from "../../src/providers/kit/rate-limiter.ts"
import { compareBars, relativeDifference } from "../../src/reconcile/compare.ts"
import { reconcileHtml } from "../../src/reconcile/html.ts"
import { type DetailRow, detailRow, type ReconcileSummary } from "../../src/reconcile/report.ts"
import { sortedUnique } from "../../src/reconcile/sources.ts"
import type { EmulatedBar } from "../emulators/dataset.ts"
import { type Emulator, startEmulator } from "../emulators/server.ts"
import type { ProviderName } from "../emulators/types.ts"
import { capture } from "../support/capture.ts"
import { runServices } from "../support/run-services.ts"
import { listFiles, useTempDirs } from "../support/temp.ts"

// ------------------------------------------------------------------------------------------------ the planted market

/** UTC ms of a New York wall-clock minute. */
const at = (day: string, hhmm: string): number => {
  const [h, m] = hhmm.split(":").map(Number) as [number, number]
  return newYorkToUtc(dayNumber(day), h, m)
}
const iso = (day: string, hhmm: string) => new Date(at(day, hhmm)).toISOString()

interface Plants {
  readonly drop?: Readonly<Record<string, ReadonlyArray<number>>>
  /** Closes moved up 1% (the high with them where needed). */
  readonly close?: Readonly<Record<string, ReadonlyArray<number>>>
  /** Bars stamped one minute later. */
  readonly shift?: Readonly<Record<string, ReadonlyArray<number>>>
}

const plants: Partial<Record<ProviderName, Plants>> = {
  alpaca: {
    drop: {
      AAPL: [at("2024-03-12", "10:00"), at("2024-03-12", "10:01"), at("2024-03-14", "11:01")],
      MSFT: [at("2024-03-13", "15:00")]
    }
  },
  polygon: {
    // 11:01 on the 14th goes on both sides, and Polygon's 11:00 bar takes its place: one shift.
    drop: {
      AAPL: [at("2024-03-12", "14:00"), at("2024-03-14", "11:01")],
      MSFT: [at("2024-03-14", "09:45"), at("2024-03-14", "12:30")]
    },
    close: { AAPL: [at("2024-03-13", "10:30"), at("2024-03-13", "10:31")], MSFT: [at("2024-03-12", "13:15")] },
    shift: { AAPL: [at("2024-03-14", "11:00")] }
  }
}

const alter = (provider: ProviderName, symbol: string, bars: ReadonlyArray<EmulatedBar>) => {
  const p = plants[provider]
  if (p === undefined) return bars
  const drop = new Set(p.drop?.[symbol] ?? [])
  const close = new Set(p.close?.[symbol] ?? [])
  const shift = new Set(p.shift?.[symbol] ?? [])
  return bars
    .filter((b) => !drop.has(b.t))
    .map((b) => {
      if (close.has(b.t)) {
        const c = Math.round(b.c * 1.01 * 10_000) / 10_000
        return { ...b, c, h: Math.max(b.h, c) }
      }
      return shift.has(b.t) ? { ...b, t: b.t + 60_000 } : b
    })
}

/** Every difference planted, as `symbol ts class`, in the order reconcile reports them. */
const planted = [
  ["AAPL", iso("2024-03-12", "10:00"), "missing_a"],
  ["AAPL", iso("2024-03-12", "10:01"), "missing_a"],
  ["AAPL", iso("2024-03-12", "14:00"), "missing_b"],
  ["AAPL", iso("2024-03-13", "10:30"), "price"],
  ["AAPL", iso("2024-03-13", "10:31"), "price"],
  ["AAPL", iso("2024-03-14", "11:00"), "shift"],
  ["MSFT", iso("2024-03-12", "13:15"), "price"],
  ["MSFT", iso("2024-03-13", "15:00"), "missing_a"],
  ["MSFT", iso("2024-03-14", "09:45"), "missing_b"],
  ["MSFT", iso("2024-03-14", "12:30"), "missing_b"]
].map((r) => r.join(" "))

const plantedTotals = { missing_a: 3, missing_b: 3, price: 3, volume: 0, shift: 1 }
/** Bars both sides have at the same minute (5 days × 390, less what either lacks). */
const paired = { AAPL: 1945, MSFT: 1947 }

// ------------------------------------------------------------------------------------------------ running it

let emulator: Emulator
beforeAll(async () => {
  emulator = await startEmulator({ alter, iexVolumeShare: 0.6 })
})
afterAll(() => emulator.stop())

const fresh = useTempDirs("mp-reconcile-")

const envFor = (dir: string): Record<string, string> => ({
  HOME: dir,
  MARKETPIPE_ALPACA_BASE_URL: emulator.url,
  MARKETPIPE_POLYGON_BASE_URL: emulator.url,
  ALPACA_KEY: emulator.keys.alpaca.id,
  ALPACA_SECRET: emulator.keys.alpaca.secret,
  POLYGON_API_KEY: emulator.keys.polygon
})

/** A paid plan's pacing and quick retries, so nothing waits. */
const configIn = (dir: string): string => {
  const file = join(dir, "marketpipe.yml")
  const fast = "{ rate_limit: { requests: 1000, per_seconds: 1 }, max_attempts: 2, retry_base_ms: 1 }"
  writeFileSync(file, `providers:\n  polygon: ${fast}\n  alpaca: ${fast}\n`)
  return file
}

/** A wall clock stopped at `ms` (timers still run in real time): where a run's report names come from. */
const stoppedClock = (ms: number): Clock.Clock => {
  const real = Effect.runSync(Clock.clockWith(Effect.succeed))
  return {
    currentTimeMillisUnsafe: () => ms,
    currentTimeMillis: Effect.succeed(ms),
    currentTimeNanosUnsafe: () => BigInt(ms) * 1_000_000n,
    currentTimeNanos: Effect.succeed(BigInt(ms) * 1_000_000n),
    monotonicTimeNanosUnsafe: () => real.monotonicTimeNanosUnsafe(),
    monotonicTimeNanos: real.monotonicTimeNanos,
    sleep: (d) => real.sleep(d)
  }
}

/** Until `src/cli/command-tree.ts` lists it, the command runs under a root of its own, as `runCli` runs the real one. */
const root = Command.make("marketpipe").pipe(Command.withSubcommands([reconcileCommand]))

/** Sets the run's environment in `process.env` (commands read it there) and restores it afterwards. */
async function withEnv<A>(env: Record<string, string>, f: () => Promise<A>): Promise<A> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]))
  Object.assign(process.env, env)
  try {
    return await f()
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}

interface Run {
  readonly code: number
  readonly stdout: string
  readonly errors: string
}

/** `marketpipe reconcile …` in this process, with the data dir and config of `dir`; `clock` stops the wall clock. */
const reconcile = (
  dir: string,
  argv: ReadonlyArray<string>,
  clock?: number,
  env: Record<string, string> = {}
): Promise<Run> =>
  withEnv({ ...envFor(dir), ...env }, async () => {
    const printed: Array<string> = []
    const program = Command.runWith(root, { version: "test" })([
      "reconcile",
      ...argv,
      "--data-dir",
      join(dir, "data"),
      "--config",
      configIn(dir)
    ]).pipe(Effect.provide(Layer.mergeAll(NodeServices.layer, RateLimiters.layer)))
    const { value, stdout, stderr } = await capture(async () =>
      exitCodeOf(
        await Effect.runPromiseExit(
          clock === undefined ? program : program.pipe(Effect.provideService(Clock.Clock, stoppedClock(clock)))
        ),
        (line) => printed.push(line)
      )
    )
    // Config notices (a file without `config_version`) are not what these tests look at.
    const errors = `${printed.map((l) => `${l}\n`).join("")}${stderr}`.replace(/^notice: .*\n?/gmu, "")
    return { code: value, stdout, errors }
  })

const window = ["--from", "2024-03-11", "--to", "2024-03-15"]
const both = ["--providers", "alpaca,polygon", "--symbols", "AAPL,MSFT", ...window]

const summaryOf = (r: Run): ReconcileSummary => {
  expect(r.errors).toBe("")
  return JSON.parse(r.stdout) as ReconcileSummary
}
const detailsOf = (s: ReconcileSummary) =>
  JSON.parse(readFileSync(s.reports.json, "utf8")) as { summary: ReconcileSummary; differences: Array<DetailRow> }
const keyOf = (r: DetailRow) => `${r.symbol} ${r.ts} ${r.class}`

// ------------------------------------------------------------------------------------------------ the tests

describe("reconcile two providers", () => {
  test("finds exactly the planted differences of each class, at their minutes, and no more", async () => {
    const dir = fresh()
    const run = await reconcile(dir, [...both, "--json"])
    expect(run.code).toBe(0)
    const summary = summaryOf(run)
    expect(summary.totals).toEqual(plantedTotals)
    expect(summary.symbols.map((s) => [s.symbol, s.missing_a, s.missing_b, s.price, s.volume, s.shift])).toEqual([
      ["AAPL", 2, 1, 2, 0, 1],
      ["MSFT", 1, 2, 1, 0, 0]
    ])
    expect(summary.symbols.map((s) => [s.bars_a, s.bars_b])).toEqual([
      [1947, 1948],
      [1949, 1948]
    ])
    expect(summary).toMatchObject({
      a: { provider: "alpaca", feed: "iex", lake_days: 0, fetched_days: 10, bars: 3896 },
      b: { provider: "polygon", feed: "sip", lake_days: 0, fetched_days: 10, bars: 3896 },
      frame: "1m",
      session: "regular",
      days: 5,
      tolerances: { price: 0.001, volume: 0.02, iex_volume: 0.99, volume_applied: 0.99 }
    })
    const { differences } = detailsOf(summary)
    expect(differences.map(keyOf)).toEqual(planted)
    const shift = differences.find((d) => d.class === "shift") as DetailRow
    expect(shift.b_ts).toBe(iso("2024-03-14", "11:01"))
    expect([shift.a_open, shift.a_high, shift.a_low, shift.a_close]).toEqual([
      shift.b_open,
      shift.b_high,
      shift.b_low,
      shift.b_close
    ])
    for (const d of differences.filter((x) => x.class === "price")) {
      expect(d.rel_close as number).toBeCloseTo(1 - 1 / 1.01, 4)
      expect(d.rel_open).toBe(0)
    }
    const missingA = differences.find((d) => d.class === "missing_a") as DetailRow
    expect([missingA.a_close, missingA.b_ts === missingA.ts, missingA.rel_close]).toEqual([null, true, null])
    // Alpaca's iex feed reports 60% of the volume: inside the IEX tolerance, so no volume difference above.
    expect((shift.a_volume as number) / (shift.b_volume as number)).toBeCloseTo(0.6, 2)
  })

  test("the IEX-vs-SIP volume gap is within --iex-volume-tolerance, and every paired bar a volume difference under a tight one", async () => {
    const dir = fresh()
    const tight = summaryOf(await reconcile(dir, [...both, "--iex-volume-tolerance", "0.1", "--json"]))
    expect(tight.totals).toEqual({ ...plantedTotals, volume: paired.AAPL + paired.MSFT })
    expect(tight.symbols.map((s) => s.volume)).toEqual([paired.AAPL, paired.MSFT])
    expect(tight.tolerances.volume_applied).toBe(0.1)
    // The volume tolerance applies between two feeds that are not IEX: Alpaca's sip volumes are Polygon's.
    const sip = summaryOf(await reconcile(dir, [...both, "--feed-a", "sip", "--volume-tolerance", "0", "--json"]))
    expect(sip.a.feed).toBe("sip")
    expect(sip.totals).toEqual(plantedTotals)
    expect(sip.tolerances.volume_applied).toBe(0)
    // And the IEX tolerance is not the volume tolerance: a tight one alone does not flag IEX's share.
    const loose = summaryOf(await reconcile(dir, [...both, "--volume-tolerance", "0.001", "--json"]))
    expect(loose.totals.volume).toBe(0)
  })

  test("--fail-on exits 1 when a class it names appears (reports written first), 0 when none does", async () => {
    const dir = fresh()
    const price = await reconcile(dir, [...both, "--fail-on", "price"])
    expect(price.code).toBe(1)
    expect(price.errors).toContain("error: reconcile found differences --fail-on names: 3 price")
    expect(listFiles(join(dir, "data", "reports")).filter((f) => f.startsWith("reconcile-"))).toHaveLength(3)
    const msft = ["--providers", "alpaca,polygon", "--symbols", "MSFT", ...window]
    expect((await reconcile(dir, [...msft, "--fail-on", "shift"])).code).toBe(0)
    expect((await reconcile(dir, [...msft, "--fail-on", "shift,volume"])).code).toBe(0)
    const missing = await reconcile(dir, [...msft, "--fail-on", "shift,missing"])
    expect(missing.code).toBe(1)
    expect(missing.errors).toContain("1 missing_a, 2 missing_b")
    expect((await reconcile(dir, [...both, "--fail-on", "shift"])).code).toBe(1)
    expect((await reconcile(dir, [...msft, "--fail-on", "missing_a"])).code).toBe(1)
  })

  test("a source that agrees: the fake provider against Alpaca's sip feed on a symbol nobody altered", async () => {
    const dir = fresh()
    emulator.resetStats()
    const run = await reconcile(dir, [
      "--providers",
      "fake,alpaca",
      "--feed-b",
      "sip",
      "--symbols",
      "IBM",
      ...window,
      "--fail-on",
      "price,missing,volume,shift"
    ])
    expect(run.code).toBe(0)
    expect(run.stdout).toContain("A: fake/synthetic, 1950 bars (0 symbol-day(s) from the lake, 5 fetched)")
    expect(run.stdout).toMatch(/IBM\s+1950\s+1950\s+0\s+0\s+0\s+0\s+0/u)
    expect(emulator.stats().byProvider).toEqual({ alpaca: 1 })
  })
})

describe("reconcile with one side in the lake", () => {
  test("reads A from the lake where it holds alpaca/iex (no bars request for A), fetches B, and finds the same differences", async () => {
    const dir = fresh()
    const data = join(dir, "data")
    const ingest = await withEnv(envFor(dir), () =>
      capture(() =>
        runMain(
          [
            "ohlcv",
            "ingest",
            "--provider",
            "alpaca",
            "--symbols",
            "AAPL,MSFT",
            "--start",
            "2024-03-11",
            "--end",
            "2024-03-15",
            "--data-dir",
            data,
            "--config",
            configIn(dir),
            "--json"
          ],
          envFor(dir),
          () => undefined
        )
      )
    )
    expect(ingest.value).toBe(0)
    emulator.resetStats()
    const stopped = Date.UTC(2024, 2, 20, 21, 0, 0)
    const run = await reconcile(dir, [...both, "--json"], stopped)
    expect(run.code).toBe(0)
    const paths = Object.keys(emulator.stats().byPath)
    expect(paths.filter((p) => p.startsWith("/v2/stocks"))).toEqual([])
    expect(paths.filter((p) => p.startsWith("/v2/aggs/ticker/")).length).toBeGreaterThan(0)
    expect(emulator.stats().byProvider.alpaca).toBeUndefined()
    const summary = summaryOf(run)
    expect(summary.a).toMatchObject({ provider: "alpaca", feed: "iex", lake_days: 10, fetched_days: 0, bars: 3896 })
    expect(summary.b).toMatchObject({ lake_days: 0, fetched_days: 10 })
    expect(summary.totals).toEqual(plantedTotals)
    expect(detailsOf(summary).differences.map(keyOf)).toEqual(planted)
    // The report's name comes from the clock.
    expect(summary.reports.csv).toBe(join(data, "reports", "reconcile-2024-03-20T21-00-00.000Z.csv"))
    // The lake holds iex, not sip: asked for Alpaca's sip feed, A is fetched.
    emulator.resetStats()
    const sip = summaryOf(await reconcile(dir, [...both, "--feed-a", "sip", "--json"], stopped + 1))
    expect(sip.a).toMatchObject({ feed: "sip", lake_days: 0, fetched_days: 10 })
    expect(emulator.stats().byProvider.alpaca).toBeGreaterThan(0)
    // B from the lake (alpaca iex as B) and A fetched: the classes swap sides.
    const swapped = summaryOf(
      await reconcile(
        dir,
        ["--providers", "polygon,alpaca", "--symbols", "AAPL,MSFT", ...window, "--json"],
        stopped + 2
      )
    )
    expect(swapped.b).toMatchObject({ provider: "alpaca", lake_days: 10, fetched_days: 0 })
    expect(swapped.totals).toEqual({ ...plantedTotals, missing_a: 3, missing_b: 3 })
    expect(swapped.symbols.map((s) => [s.symbol, s.missing_a, s.missing_b])).toEqual([
      ["AAPL", 1, 2],
      ["MSFT", 2, 1]
    ])
  })
})

describe("reconcile reports", () => {
  test("CSV, JSON and HTML hold the same rows; the JSON file's summary is the one printed; nothing half-written stays", async () => {
    const dir = fresh()
    const out = join(dir, "elsewhere")
    const stopped = Date.UTC(2024, 2, 21, 9, 30, 0)
    const run = await reconcile(dir, [...both, "--out", out, "--json"], stopped)
    const summary = summaryOf(run)
    expect(listFiles(out)).toEqual(["csv", "html", "json"].map((ext) => `reconcile-2024-03-21T09-30-00.000Z.${ext}`))
    const details = detailsOf(summary)
    expect(details.summary).toEqual(summary)
    const csv = parse(readFileSync(summary.reports.csv, "utf8"), { columns: true }) as Array<Record<string, string>>
    expect(csv).toEqual(
      details.differences.map((r) =>
        Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? "" : String(v)]))
      )
    )
    expect(csv).toHaveLength(planted.length)
    const html = readFileSync(summary.reports.html, "utf8")
    const rows = [...html.matchAll(/<tr class="diff ([a-z_]+)"[^>]*>(.*?)<\/tr>/gu)]
    expect(rows.map((m) => m[1])).toEqual(details.differences.map((r) => String(r.class)))
    rows.forEach((m, i) => {
      const cells = [...(m[2] as string).matchAll(/<td>(.*?)<\/td>/gu)].map((c) => c[1])
      expect(cells).toEqual(csv[i] === undefined ? [] : Object.values(csv[i] as Record<string, string>))
    })
    expect(html).toContain("<title>Reconcile alpaca/iex vs polygon/sip, 1m regular, 2024-03-11..2024-03-15</title>")
    // The table printed without --json.
    const text = await reconcile(dir, [...both, "--out", out], stopped + 1000)
    expect(text.code).toBe(0)
    expect(text.stdout).toContain("symbol  bars A  bars B  missing_a  missing_b  price  volume  shift")
    expect(text.stdout).toMatch(/AAPL\s+1947\s+1948\s+2\s+1\s+2\s+0\s+1/u)
    expect(text.stdout).toMatch(/total\s+3896\s+3896\s+3\s+3\s+3\s+0\s+1/u)
    expect(text.stdout).toContain(join(out, "reconcile-2024-03-21T09-30-01.000Z.html"))
  })

  test("the HTML page escapes every name it shows and lists no more than its cap", () => {
    const evil = '<script>alert("x")</script>&'
    const summary: ReconcileSummary = {
      a: { provider: evil, feed: "f'1", lake_days: 0, fetched_days: 1, bars: 1 },
      b: { provider: "p", feed: "f", lake_days: 0, fetched_days: 1, bars: 0 },
      frame: "1m",
      session: "regular",
      from: "2024-03-11",
      to: "2024-03-11",
      days: 1,
      tolerances: { price: 0.001, volume: 0.02, iex_volume: 0.5, volume_applied: 0.02 },
      totals: { missing_a: 0, missing_b: 1, price: 0, volume: 0, shift: 0 },
      symbols: [{ symbol: "A<B", bars_a: 1, bars_b: 0, missing_a: 0, missing_b: 1, price: 0, volume: 0, shift: 0 }],
      reports: { csv: "x.csv", json: "x.json", html: "x.html" }
    }
    const bar = { ts: 0, open: 1, high: 1, low: 1, close: 1, volume: 1 }
    const row = detailRow({ symbol: "A<B", class: "missing_b", ts: 0, a: bar, b: undefined, relative: undefined })
    const html = reconcileHtml(summary, [row])
    expect(html).not.toContain("<script>")
    expect(html).not.toContain("A<B")
    expect(html).toContain("&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;&#38;")
    expect(html).toContain("f&#39;1")
    expect(html).toContain("<th>A&#60;B</th>")
    expect(reconcileHtml(summary, [])).toContain("None: the two sources agree")
    const many = reconcileHtml(
      summary,
      Array.from({ length: 10_001 }, () => row)
    )
    expect([...many.matchAll(/<tr class="diff /gu)]).toHaveLength(10_000)
    expect(many).toContain("the first 10000 of 10001")
  })
})

describe("reconcile flags", () => {
  test("bad flags exit 2 naming the flag, and leave no data dir behind", async () => {
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
      [["--providers", "alpaca", "--symbols", "AAPL", ...window], "--providers: 'alpaca' is not two providers"],
      [["--providers", "alpaca,nope", "--symbols", "AAPL", ...window], "--providers: unknown provider 'nope'"],
      [["--providers", "polygon,polygon", "--symbols", "AAPL", ...window], "--providers: A and B are both polygon/sip"],
      [["--providers", "alpaca,polygon", "--symbols", "A A", ...window], "--symbols: 'A A' has a space"],
      [["--providers", "alpaca,polygon", "--symbols", "AAPL", "--from", "2024-13-01", "--to", "2024-03-15"], "--from"],
      [["--providers", "alpaca,polygon", "--symbols", "AAPL", "--from", "2024-03-15", "--to", "2024-03-11"], "--from"],
      [["--providers", "alpaca,polygon", "--symbols", "AAPL", "--from", "2024-03-11", "--to", "soon"], "--to"],
      [["--providers", "alpaca,polygon", "--symbols", "AAPL", "--from", "2024-03-16", "--to", "2024-03-17"], "--from"],
      [[...both, "--price-tolerance", "abc"], "--price-tolerance: 'abc' is not a tolerance"],
      [[...both, "--volume-tolerance", "-1"], "--volume-tolerance: '-1' is not a tolerance"],
      [[...both, "--iex-volume-tolerance", ""], "--iex-volume-tolerance"],
      [[...both, "--fail-on", "price,prices"], "--fail-on: 'prices' is not a difference class"],
      [[...both, "--feed-a", "xyz"], "--feed-a: provider alpaca has no feed 'xyz'"],
      [[...both, "--feed-b", "iex"], "--feed-b: provider polygon has no feed 'iex'"],
      [[...both, "--frame", "4h"], "--frame: provider alpaca does not offer 4h"]
    ]
    for (const [argv, named] of cases) {
      const dir = fresh()
      const run = await reconcile(dir, argv)
      expect([run.code, run.errors.includes(named)], `${argv.join(" ")} → ${run.errors}`).toEqual([2, true])
      expect(existsSync(join(dir, "data")), argv.join(" ")).toBe(false)
    }
    const keyless = fresh()
    const noKey = await reconcile(keyless, both, undefined, { POLYGON_API_KEY: "" })
    expect([noKey.code, noKey.errors]).toEqual([
      2,
      expect.stringContaining("error: providers.polygon: set POLYGON_API_KEY")
    ])
    expect(existsSync(join(keyless, "data"))).toBe(false)
    const dir = fresh()
    const file = join(dir, "taken")
    writeFileSync(file, "")
    const out = await reconcile(dir, [...both, "--out", file])
    expect([out.code, out.errors]).toEqual([2, `error: --out: ${file} exists and is not a directory\n`])
    for (const argv of [
      ["--symbols", "AAPL", ...window],
      [...both, "--frame", "2m"],
      [...both, "--session", "overnight"]
    ]) {
      const parsed = await reconcile(dir, argv)
      expect(parsed.code, argv.join(" ")).toBe(2)
    }
  })
})

describe("reconcile metrics", () => {
  test("marketpipe_reconcile_differences_total counts each class per provider pair, and the run stores it", async () => {
    const dir = fresh()
    mkdirSync(join(dir, "data"))
    const flags: ReconcileFlags = {
      providers: "alpaca,polygon",
      symbols: "AAPL,MSFT",
      from: "2024-03-11",
      to: "2024-03-15",
      frame: Option.none(),
      feedA: Option.none(),
      feedB: Option.none(),
      session: Option.none(),
      priceTolerance: Option.none(),
      volumeTolerance: Option.none(),
      iexVolumeTolerance: Option.none(),
      failOn: Option.none(),
      out: Option.none(),
      config: Option.some(configIn(dir)),
      dataDir: Option.some(join(dir, "data")),
      json: true
    }
    const environment = { env: envFor(dir), cwd: dir }
    const counted = async (metrics: MetricsShape) =>
      Object.fromEntries(
        (await metrics.reconcileDifferences.get()).values.map((v) => [
          `${v.labels.class} ${v.labels.provider_a} ${v.labels.provider_b}`,
          v.value
        ])
      )
    // One registry per run, as each CLI process has its own.
    const first = makeMetrics()
    await capture(() => Effect.runPromise(reconcileMain(flags, environment).pipe(Effect.provide(runServices(first)))))
    expect(await counted(first)).toEqual({
      "missing_a alpaca polygon": 3,
      "missing_b alpaca polygon": 3,
      "price alpaca polygon": 3,
      "volume alpaca polygon": 0,
      "shift alpaca polygon": 1
    })
    const second = makeMetrics()
    await capture(() =>
      Effect.runPromise(
        reconcileMain({ ...flags, symbols: "MSFT" }, environment).pipe(Effect.provide(runServices(second)))
      )
    )
    expect(await counted(second)).toEqual({
      "missing_a alpaca polygon": 1,
      "missing_b alpaca polygon": 2,
      "price alpaca polygon": 1,
      "volume alpaca polygon": 0,
      "shift alpaca polygon": 0
    })
    // Stored per run, like every run's counters: `metrics show` sums them.
    const stored = await capture(() =>
      Effect.runPromise(
        metricsShowMain(
          { metric: Option.some("marketpipe_reconcile_differences_total"), since: Option.none(), ...flags },
          environment
        )
      )
    )
    const totals = Object.fromEntries(stored.value.map((t) => [String(t.labels.class), t.value]))
    expect(totals).toEqual({ missing_a: 4, missing_b: 5, price: 4, volume: 0, shift: 1 })
  })
})

describe("compareBars", () => {
  const batch = (bars: ReadonlyArray<readonly [number, number, number?]>) =>
    batchFromBars(
      "X" as Symbol,
      bars.map(([ts, close, volume]) => ({
        ts,
        open: close,
        high: close,
        low: close,
        close,
        volume: volume ?? 100,
        trade_count: null,
        vwap: null
      }))
    )
  const options = { priceTolerance: 0.001, volumeTolerance: 0.02, stepMs: 60_000 }

  test("a bar B stamps one step earlier is a shift too; a neighbour that does not match is a missing pair", () => {
    const found = compareBars("X", batch([[120_000, 10]]), batch([[60_000, 10]]), options)
    expect(found.map((d) => [d.class, d.ts, d.b?.ts])).toEqual([["shift", 120_000, 60_000]])
    const apart = compareBars("X", batch([[120_000, 10]]), batch([[60_000, 11]]), options)
    expect(apart.map((d) => [d.class, d.ts])).toEqual([
      ["missing_a", 60_000],
      ["missing_b", 120_000]
    ])
  })

  test("one pair can differ in price and in volume; within the tolerances it does not", () => {
    const found = compareBars("X", batch([[0, 10, 100]]), batch([[0, 10.1, 50]]), options)
    expect(found.map((d) => d.class)).toEqual(["price", "volume"])
    expect(compareBars("X", batch([[0, 10, 100]]), batch([[0, 10.005, 101]]), options)).toEqual([])
    expect(relativeDifference(0, 0)).toBe(0)
    expect(relativeDifference(0, 5)).toBe(1)
    expect(relativeDifference(Number.NaN, 1)).toBeNaN()
  })

  test("a side's bars come sorted with each start once", () => {
    const sorted = sortedUnique(
      batch([
        [120_000, 3],
        [0, 1],
        [60_000, 2],
        [0, 9]
      ])
    )
    expect([...sorted.ts]).toEqual([0, 60_000, 120_000])
    expect([...sorted.close]).toEqual([1, 2, 3])
  })
})

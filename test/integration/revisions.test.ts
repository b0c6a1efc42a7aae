import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Effect } from "effect"
import { loadConfig } from "../../src/config/load.ts"
import { tradingDayOf } from "../../src/domain/partition.ts"
import { loadOhlcv } from "../../src/lake/load/load-ohlcv.ts"
import { storageLayer } from "../../src/pipeline/context.ts"
import { pruneVersions } from "../../src/pipeline/prune-versions.ts"
import type { EmulatedBar } from "../emulators/dataset.ts"
import { type Emulator, startEmulator } from "../emulators/server.ts"
import { runSourceAsync } from "../support/cli.ts"
import { cliWithEnv } from "../support/cli-env.ts"
import { duckdb, lakeGlob } from "../support/lake.ts"
import { startPostgres, type TestPostgres } from "../support/postgres.ts"
import { listFiles, removeDir, tempDir } from "../support/temp.ts"

/** 15:59 New York on 2024-03-07 (EST): the day's last regular bar, so the 1d close moves with it. */
const REVISED_TS = Date.parse("2024-03-07T20:59:00Z")
const revisedClose = (c: number) => Math.round(c * 1.01 * 10_000) / 10_000

/** The provider's later answer: AAPL's last bar of 2024-03-07 closes 1% higher; nothing else changes. */
const rewrite = (_provider: string, symbol: string, bars: ReadonlyArray<EmulatedBar>) =>
  symbol !== "AAPL" || bars[0] === undefined || tradingDayOf(bars[0].t) !== "2024-03-07"
    ? bars
    : bars.map((b) => {
        if (b.t !== REVISED_TS) return b
        const c = revisedClose(b.c)
        return { ...b, c, h: Math.max(b.h, c) }
      })

let original: Emulator
let revised: Emulator
let postgres: TestPostgres
beforeAll(async () => {
  original = await startEmulator()
  revised = await startEmulator({ alter: rewrite })
  postgres = await startPostgres()
}, 60_000)
afterAll(() => {
  original.stop()
  revised.stop()
  postgres.stop()
})

/** The repository of the run: the data dir's SQLite file, or a fresh Postgres database (`DATABASE_URL`). */
let databaseUrl: string | undefined

let dir = ""
afterEach(() => {
  removeDir(dir)
  databaseUrl = undefined
})

const cli = (emulator: Emulator, ...argv: Array<string>) =>
  cliWithEnv(
    {
      MARKETPIPE_POLYGON_BASE_URL: emulator.url,
      POLYGON_API_KEY: emulator.keys.polygon,
      ...(databaseUrl === undefined ? {} : { DATABASE_URL: databaseUrl })
    },
    [...argv, "--data-dir", join(dir, "data")],
    dir
  )

const range = ["--provider", "polygon", "--symbols", "AAPL,MSFT", "--from", "2024-03-04", "--to", "2024-03-08"]

type Day = { symbol: string; day: string; jobId: number; contentHash: string; updatedAt: string }
const ledgerDays = async (frame: string) =>
  (JSON.parse((await cli(original, "ledger", "--days", "--frame", frame, "--json")).stdout) as { days: Array<Day> })
    .days

const closeAt = async (ts: number, asOf?: string) => {
  const frame = await loadOhlcv({
    symbols: "AAPL",
    start: ts,
    end: ts + 60_000,
    dataDir: join(dir, "data"),
    ...(databaseUrl === undefined ? {} : { databaseUrl }),
    columns: ["close"],
    ...(asOf === undefined ? {} : { asOf })
  })
  return frame.close[0]
}

describe("revision detection", () => {
  for (const backend of ["SQLite", "PostgreSQL"] as const)
    test(`${backend}: --revalidate rewrites only the day the provider changed, with its aggregates, and logs what changed`, async () => {
      dir = tempDir("mp-revisions-")
      if (backend === "PostgreSQL") databaseUrl = await postgres.newDatabase()
      expect((await cli(original, "ohlcv", "backfill", ...range)).code).toBe(0)
      const before = { m1: await ledgerDays("1m"), d1: await ledgerDays("1d") }
      const oldClose = await closeAt(REVISED_TS)
      expect(oldClose).toBeNumber()

      // The same provider later serves a rewritten bar: a revalidating backfill finds that one day, and only it.
      const run = await cli(revised, "ohlcv", "backfill", ...range, "--revalidate", "5d", "--json")
      expect(run.code).toBe(0)
      expect(JSON.parse(run.stdout).revalidated).toEqual({ revised: 1, unchanged: 9 })

      const listed = JSON.parse((await cli(original, "revisions", "list", "--json")).stdout).revisions
      expect(listed).toHaveLength(1)
      expect(listed[0]).toMatchObject({
        symbol: "AAPL",
        day: "2024-03-07",
        frame: "1m",
        provider: "polygon",
        barsAdded: 0,
        barsRemoved: 0,
        barsChanged: 1
      })
      const sample = listed[0].sample[0]
      expect(sample.ts).toBe(new Date(REVISED_TS).toISOString())
      expect(sample.fields.close).toEqual({ old: oldClose, new: revisedClose(oldClose as number) })
      expect((await cli(original, "revisions", "list", "--symbols", "MSFT", "--json")).stdout).toContain(
        '"revisions":[]'
      )
      const text = await cli(original, "revisions", "list")
      expect(text.stdout).toContain("AAPL")
      expect(text.stdout).toContain("close")

      // The ledger moved for that day alone, in 1m and in the frames built from it.
      const after = { m1: await ledgerDays("1m"), d1: await ledgerDays("1d") }
      for (const frame of ["m1", "d1"] as const) {
        const moved = after[frame].filter((d, i) => d.jobId !== before[frame][i]?.jobId)
        expect(moved.map((d) => `${d.symbol} ${d.day}`)).toEqual(["AAPL 2024-03-07"])
        expect(moved[0]?.contentHash).not.toBe(
          before[frame].find((d) => d.symbol === "AAPL" && d.day === "2024-03-07")?.contentHash
        )
      }
      const daily = await duckdb<{ close: number }>(
        `SELECT close FROM ${lakeGlob(join(dir, "data"), "1d")} WHERE symbol = 'AAPL' AND ts::DATE = '2024-03-07'`
      )
      expect(daily[0]?.close).toBe(revisedClose(oldClose as number))

      // A second revalidation finds nothing new.
      const again = await cli(revised, "ohlcv", "backfill", ...range, "--revalidate", "5d", "--json")
      expect(JSON.parse(again.stdout).revalidated).toEqual({ revised: 0, unchanged: 10 })
      expect(JSON.parse((await cli(original, "revisions", "list", "--json")).stdout).revisions).toHaveLength(1)

      // As-of reads: before the revision the old bar, after it the new; DuckDB on the glob sees only the new, once.
      // The first run recorded the day after its file version was in place, and before anything replaced it.
      const firstRecorded = before.m1.find((d) => d.symbol === "AAPL" && d.day === "2024-03-07")?.updatedAt as string
      const detected = Date.parse(listed[0].detectedAt)
      expect(await closeAt(REVISED_TS, firstRecorded)).toBe(oldClose)
      expect(await closeAt(REVISED_TS, new Date(detected + 1).toISOString())).toBe(revisedClose(oldClose as number))
      expect(await closeAt(REVISED_TS)).toBe(revisedClose(oldClose as number))
      expect(await closeAt(REVISED_TS, "2020-01-02")).toBeUndefined()
      const glob = await duckdb<{ n: number; close: number }>(
        `SELECT count(*)::INTEGER AS n, max(close) FILTER (WHERE epoch_ms(ts) = ${REVISED_TS}) AS close FROM ${lakeGlob(join(dir, "data"))} WHERE symbol = 'AAPL'`
      )
      expect(glob[0]).toEqual({ n: 5 * 390, close: revisedClose(oldClose as number) })
      // query --as-of and ohlcv export --as-of read the same past.
      const sql = `SELECT count(*) AS n, max(close) FILTER (WHERE epoch_ms(ts) = ${REVISED_TS}) AS close FROM bars_1m WHERE symbol = 'AAPL'`
      const past = await cli(original, "query", sql, "--as-of", firstRecorded, "--json")
      expect(past.code).toBe(0)
      expect(JSON.parse(past.stdout)).toEqual([{ n: 5 * 390, close: oldClose }])
      expect(JSON.parse((await cli(original, "query", sql, "--json")).stdout)).toEqual([
        { n: 5 * 390, close: revisedClose(oldClose as number) }
      ])
      const dailyThen = await cli(
        original,
        "query",
        "SELECT close FROM bars_1d WHERE symbol = 'AAPL' AND ts::DATE = '2024-03-07'",
        "--as-of",
        firstRecorded,
        "--json"
      )
      expect(JSON.parse(dailyThen.stdout)).toEqual([{ close: oldClose }])
      const early = await cli(original, "query", "SELECT count(*) AS n FROM bars_1m", "--as-of", "2020-01-02", "--json")
      expect(JSON.parse(early.stdout)).toEqual([{ n: 0 }])
      expect(early.errors).toContain("held no bars as of 2020-01-02T05:00:00.000Z")
      const exported = join(dir, "aapl.csv")
      const span = ["--symbols", "AAPL", "--from", "2024-03-07", "--to", "2024-03-07"]
      expect((await cli(original, "ohlcv", "export", ...span, "--as-of", firstRecorded, "--out", exported)).code).toBe(
        0
      )
      const lineAt = (csv: string) => csv.split("\n").find((l) => l.includes(new Date(REVISED_TS).toISOString()))
      expect(lineAt(readFileSync(exported, "utf8"))?.split(",")[5]).toBe(String(oldClose))
      expect(readFileSync(exported, "utf8").split("\n")).toHaveLength(390 + 2)
      const now = await cli(original, "ohlcv", "export", ...span, "--format", "ndjson")
      const revisedRow = now.stdout.split("\n").find((l) => l.includes(new Date(REVISED_TS).toISOString())) as string
      expect(JSON.parse(revisedRow).close).toBe(revisedClose(oldClose as number))

      // The superseded version lives outside the current tree.
      expect(listFiles(join(dir, "data", "versions")).some((f) => f.includes("frame=1m/symbol=AAPL/2024-03/"))).toBe(
        true
      )
      expect(listFiles(join(dir, "data", "versions")).some((f) => f.includes("symbol=MSFT"))).toBe(false)
    })

  test("--revalidate takes a window or off, and refuses anything else naming the flag", async () => {
    dir = tempDir("mp-revisions-")
    const bad = await cli(original, "ohlcv", "backfill", ...range, "--revalidate", "five days")
    expect(bad.code).toBe(2)
    expect(bad.errors).toContain("--revalidate")
    const off = await cli(original, "ohlcv", "backfill", ...range, "--revalidate", "off", "--json")
    expect(off.code).toBe(0)
    expect(JSON.parse(off.stdout).revalidated).toBeUndefined()
    // No revision yet: the list says how to get some; its filters are checked like every flag.
    expect((await cli(original, "revisions", "list")).stdout).toContain("no revisions recorded")
    for (const since of ["2024-03-01", "2024-03-01T12:00:00Z", "30d"]) {
      expect(JSON.parse((await cli(original, "revisions", "list", "--since", since, "--json")).stdout)).toEqual({
        revisions: []
      })
    }
    const badSince = await cli(original, "revisions", "list", "--since", "last week")
    expect(badSince.code).toBe(2)
    expect(badSince.errors).toContain("--since")
    expect((await cli(original, "revisions", "list", "--limit", "-1")).code).toBe(2)

    // A later run that only adds days keeps no version; the past is that file restricted to the days it held then.
    // After every file of the first run was recorded (its units write in parallel, in no fixed order).
    const before = (await ledgerDays("1m"))
      .map((d) => d.updatedAt)
      .sort()
      .at(-1) as string
    expect(
      (await cli(original, "ohlcv", "backfill", ...range.slice(0, 4), "--from", "2024-03-11", "--to", "2024-03-12"))
        .code
    ).toBe(0)
    expect(listFiles(join(dir, "data")).some((f) => f.startsWith("versions/"))).toBe(false)
    const span = {
      symbols: "AAPL",
      start: "2024-03-01",
      end: "2024-04-01",
      dataDir: join(dir, "data"),
      columns: ["close" as const]
    }
    expect((await loadOhlcv(span)).length).toBe(7 * 390)
    expect((await loadOhlcv({ ...span, asOf: before })).length).toBe(5 * 390)
    expect((await loadOhlcv({ ...span, asOf: before, session: "regular" })).length).toBe(5 * 390)

    // Config `revalidate` is what a scheduled backfill runs with; the flag wins over it.
    const file = join(dir, "marketpipe.yaml")
    writeFileSync(file, "config_version: 4\nrevalidate: 2d\n")
    const scheduled = await cli(original, "ohlcv", "backfill", ...range, "--config", file, "--json")
    expect(JSON.parse(scheduled.stdout).revalidated).toEqual({ revised: 0, unchanged: 2 * 2 })
    const flagged = await cli(
      original,
      "ohlcv",
      "backfill",
      ...range,
      "--config",
      file,
      "--revalidate",
      "off",
      "--json"
    )
    expect(JSON.parse(flagged.stdout).revalidated).toBeUndefined()
    writeFileSync(file, "config_version: 4\nrevalidate: soon\n")
    const refused = await cli(original, "ohlcv", "backfill", ...range, "--config", file)
    expect(refused.code).toBe(2)
    expect(refused.errors).toContain("revalidate")
  })
})

describe("revalidation under kill -9", () => {
  test("killed while rewriting a revised day, then resumed: the same lake, ledger, revisions and past as a run never interrupted", async () => {
    const data = () => join(dir, "data")
    const digest = async (frame: string) =>
      (
        await duckdb<{ h: string }>(
          `SELECT md5(string_agg(concat_ws('|', symbol, ts, open, high, low, close, volume), ',' ORDER BY symbol, ts)) AS h FROM ${lakeGlob(data(), frame)}`
        )
      )[0]?.h
    const outcome = async () => ({
      lake: [await digest("1m"), await digest("5m"), await digest("1d")],
      days: (await ledgerDays("1m")).map((d) => [d.symbol, d.day, d.contentHash]),
      daily: (await ledgerDays("1d")).map((d) => [d.symbol, d.day, d.contentHash]),
      revisions: (
        JSON.parse((await cli(original, "revisions", "list", "--json")).stdout).revisions as Array<
          Record<string, unknown>
        >
      ).map((r) => [r.symbol, r.day, r.barsAdded, r.barsRemoved, r.barsChanged, JSON.stringify(r.sample)]),
      // What the lake held before the revision is still what an as-of read of that time returns.
      pastClose: await closeAt(REVISED_TS, firstRecorded)
    })
    let firstRecorded = ""
    const firstRun = async () => {
      expect((await cli(original, "ohlcv", "backfill", ...range)).code).toBe(0)
      firstRecorded = (await ledgerDays("1m")).find((d) => d.symbol === "AAPL" && d.day === "2024-03-07")
        ?.updatedAt as string
    }
    dir = tempDir("mp-revisions-")
    await firstRun()
    const oldClose = await closeAt(REVISED_TS)
    expect((await cli(revised, "ohlcv", "backfill", ...range, "--revalidate", "5d")).code).toBe(0)
    const expected = await outcome()
    expect(expected.pastClose).toBe(oldClose)
    removeDir(dir)

    // The revalidation renames 7 files for the revised day (1m, then 5m … 1d) before one transaction records them:
    // killed after the first, the fourth and the last, each time with the ledger not yet told.
    for (const renames of [1, 4, 7]) {
      dir = tempDir("mp-revisions-")
      await firstRun()
      const child = await runSourceAsync(["ohlcv", "backfill", ...range, "--revalidate", "5d", "--data-dir", data()], {
        cwd: dir,
        env: {
          HOME: dir,
          MARKETPIPE_POLYGON_BASE_URL: revised.url,
          POLYGON_API_KEY: revised.keys.polygon,
          MARKETPIPE_FAULT_KILL_AFTER_RENAMES: String(renames)
        }
      })
      const killed = child.signal ?? `exit ${child.code}`
      expect({ renames, killed }).toEqual({ renames, killed: "SIGKILL" })
      expect(JSON.parse((await cli(original, "revisions", "list", "--json")).stdout).revisions).toEqual([])
      const verified = JSON.parse((await cli(original, "ledger", "verify", "--json")).stdout) as {
        problems: Array<{ claimed: number; found: number | null }>
      }
      expect(verified.problems.filter((p) => (p.found ?? 0) < p.claimed)).toEqual([])
      expect((await cli(revised, "ohlcv", "backfill", ...range, "--revalidate", "5d")).code).toBe(0)
      expect({ renames, ...(await outcome()) }).toEqual({ renames, ...expected })
      removeDir(dir)
    }
  })
})

describe("superseded versions under prune", () => {
  test("prune versions removes kept bytes past the cutoff; reads of that past then say so; prune parquet keeps none", async () => {
    dir = tempDir("mp-revisions-")
    expect((await cli(original, "ohlcv", "backfill", ...range)).code).toBe(0)
    // Once every file of the first run is in place (its units write in parallel, in no fixed order).
    const firstRecorded = (await ledgerDays("1m"))
      .map((d) => d.updatedAt)
      .sort()
      .at(-1) as string
    expect((await cli(revised, "ohlcv", "backfill", ...range, "--revalidate", "5d")).code).toBe(0)
    const kept = () => listFiles(join(dir, "data", "versions"))
    const current = await closeAt(REVISED_TS)

    // Replaced minutes ago: a day's retention keeps them.
    const young = JSON.parse((await cli(original, "prune", "versions", "--older-than", "1d", "--json")).stdout)
    expect(young.versions.files).toBe(0)
    expect(kept().length).toBe(7)

    // With a cutoff after the replacement (the pipeline step, clock-free), every kept version goes.
    const loaded = await Effect.runPromise(
      loadConfig({ path: undefined, dataDir: join(dir, "data"), env: {}, cwd: dir })
    )
    const storage = storageLayer({ loaded })
    const dry = await Effect.runPromise(
      pruneVersions(join(dir, "data"), "2999-01-01T00:00:00.000Z", true).pipe(Effect.provide(storage))
    )
    expect(dry.files).toBe(7)
    expect(kept().length).toBe(7)
    const done = await Effect.runPromise(
      pruneVersions(join(dir, "data"), "2999-01-01T00:00:00.000Z", false).pipe(Effect.provide(storage))
    )
    expect(done).toMatchObject({ files: 7 })
    expect(done.bytes).toBeGreaterThan(0)
    expect(kept()).toEqual([])

    // The present is untouched; the pruned past is refused by name, or left out of the views with a notice.
    expect(await closeAt(REVISED_TS)).toBe(current)
    await expect(closeAt(REVISED_TS, firstRecorded)).rejects.toThrow(/was pruned/u)
    const past = await cli(original, "query", "SELECT count(*) AS n FROM bars_1m", "--as-of", firstRecorded, "--json")
    expect(past.errors).toContain("no longer kept (pruned)")
    expect(JSON.parse(past.stdout)).toEqual([{ n: 5 * 390 }])

    // The age comes from --older-than or the config's retention.versions (config_version 4); never keeps all.
    const none = await cli(original, "prune", "versions")
    expect(none.code).toBe(2)
    expect(none.errors).toContain("retention.versions")
    const config = join(dir, "marketpipe.yaml")
    writeFileSync(config, "config_version: 4\nretention: { versions: never }\n")
    expect((await cli(original, "prune", "versions", "--config", config)).stdout).toContain("nothing to remove")
    writeFileSync(config, "config_version: 4\nretention: { versions: 1y, db: 90d }\n")
    const all = await cli(original, "prune", "--config", config, "--dry-run")
    expect(all.code).toBe(0)
    expect(all.stdout).toContain("superseded file versions replaced before")
    const allJson = JSON.parse((await cli(original, "prune", "--config", config, "--dry-run", "--json")).stdout)
    expect(allJson.versions).toMatchObject({ files: 0 })

    // prune parquet: MSFT's 1m file goes, and no version of it is kept for the past.
    const pruned = await cli(original, "prune", "parquet", "--frame", "1m", "--symbols", "MSFT", "--older-than", "1y")
    expect(pruned.code).toBe(0)
    expect(kept()).toEqual([])
  })
})

import { afterEach, describe, expect, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { Effect, Exit, Option } from "effect"
import { TestClock } from "effect/testing"
import { loadOhlcv } from "../../mod.ts"
import { pruneConfiguredMain, pruneParquetMain } from "../../src/cli/commands/prune.ts"
import { runMain } from "../../src/cli/main.ts"
import { capture } from "../support/capture.ts"
import { listFiles, removeDir, tempDir } from "../support/temp.ts"

let dir = ""
afterEach(() => removeDir(dir))

const data = () => join(dir, "data")

const cli = async (...argv: Array<string>) => {
  const printed: Array<string> = []
  const { value, stdout } = await capture(() =>
    runMain([...argv, "--data-dir", data()], { HOME: dir }, (l) => printed.push(l))
  )
  return { code: value, stdout, errors: printed.join("\n") }
}

/** A command's Effect run at an injected New York afternoon: ages count back from it, never from today. */
const on = async <A, E>(day: string, eff: Effect.Effect<A, E>) => {
  const { value, stdout } = await capture(() =>
    Effect.runPromiseExit(
      Effect.gen(function* () {
        yield* TestClock.setTime(Date.parse(`${day}T18:00:00Z`))
        return yield* eff
      }).pipe(Effect.provide(TestClock.layer()))
    )
  )
  return { exit: value, stdout }
}

const environment = () => ({ env: { HOME: dir }, cwd: dir })
const common = (config?: string) => ({
  config: config === undefined ? Option.none<string>() : Option.some(config),
  dataDir: Option.some(data()),
  json: true
})
const none = Option.none<string>()
const parquet = (olderThan: string | undefined, dryRun: boolean, more: { frame?: string; symbols?: string } = {}) =>
  pruneParquetMain(
    {
      ...common(),
      olderThan: olderThan === undefined ? none : Option.some(olderThan),
      frame: more.frame === undefined ? none : Option.some(more.frame),
      symbols: more.symbols === undefined ? none : Option.some(more.symbols),
      dryRun
    },
    environment()
  )

const bars = async (frame: "1m" | "1d", symbols: Array<string>) => {
  const f = await loadOhlcv({ symbols, start: "2024-01-01", end: "2025-01-01", timeframe: frame, dataDir: data() })
  return f.rows().map((r) => `${r.symbol} ${r.ts.toISOString()} ${r.close} ${r.volume}`)
}

const ingest = async () => {
  const r = await cli(
    "ohlcv",
    "ingest",
    "--provider",
    "fake",
    "--symbols",
    "AAPL,MSFT",
    "--start",
    "2024-02-26",
    "--end",
    "2024-03-05"
  )
  expect(r.code).toBe(0)
}

describe("prune parquet", () => {
  test("the dry run reports what the real run removes; the straddling month keeps its newer days; the ledger agrees", async () => {
    dir = tempDir("mp-prune-")
    await ingest()
    const before1m = await bars("1m", ["AAPL", "MSFT"])
    const before1d = await bars("1d", ["AAPL", "MSFT"])
    const filesBefore = listFiles(data()).filter((f) => f.endsWith(".parquet"))
    // 34 days before 2024-04-05 is 2024-03-02: February goes, March keeps the 4th and 5th (the 1st goes).
    const dry = await on("2024-04-05", parquet("34d", true))
    expect(Exit.isSuccess(dry.exit)).toBe(true)
    expect(listFiles(data()).filter((f) => f.endsWith(".parquet"))).toEqual(filesBefore)
    const report = JSON.parse(dry.stdout)
    const m1 = report.lake.find((r: { frame: string }) => r.frame === "1m")
    // Two symbols: February's file removed, March's rewritten; 4 + 1 days of 390 bars each removed per symbol.
    expect(m1).toMatchObject({ cutoff: "2024-03-02", filesRemoved: 2, filesRewritten: 2, bars: 2 * 5 * 390 })
    expect(m1.bytes).toBeGreaterThan(0)
    const d1 = report.lake.find((r: { frame: string }) => r.frame === "1d")
    expect(d1).toMatchObject({ filesRemoved: 0, filesRewritten: 2, bars: 2 * 5 })

    const real = await on("2024-04-05", parquet("34d", false))
    expect(JSON.parse(real.stdout)).toEqual({ ...report, dryRun: false })

    const cut = (rows: Array<string>) => rows.filter((r) => r.split(" ")[1]! >= "2024-03-02")
    expect(await bars("1m", ["AAPL", "MSFT"])).toEqual(cut(before1m))
    expect(await bars("1d", ["AAPL", "MSFT"])).toEqual(cut(before1d))
    expect((await bars("1m", ["AAPL"])).length).toBe(2 * 390)
    const verify = await cli("ledger", "verify", "--json")
    expect(verify.code).toBe(0)
    const ledger = JSON.parse((await cli("ledger", "--json")).stdout) as {
      symbols: Array<{ symbol: string; frame?: string; counts: { complete: number; missing: number } }>
    }
    expect(
      ledger.symbols
        .filter((s) => s.frame === undefined || s.frame === "1m")
        .map((s) => [s.symbol, s.counts.complete, s.counts.missing])
    ).toEqual([
      ["AAPL", 2, 0],
      ["MSFT", 2, 0]
    ])
    // Nothing is left to prune.
    const again = JSON.parse((await on("2024-04-05", parquet("34d", false))).stdout)
    expect(again.lake.every((r: { bars: number; bytes: number }) => r.bars === 0 && r.bytes === 0)).toBe(true)
  })

  test("--frame and --symbols narrow it; bad ages and frames are exit 2", async () => {
    dir = tempDir("mp-prune-")
    await ingest()
    const only = JSON.parse((await on("2024-04-05", parquet("35d", false, { frame: "1m", symbols: "AAPL" }))).stdout)
    expect(only.lake).toEqual([
      expect.objectContaining({ frame: "1m", cutoff: "2024-03-01", filesRemoved: 1, filesRewritten: 0, bars: 4 * 390 })
    ])
    expect((await bars("1m", ["AAPL"])).length).toBe(3 * 390)
    expect((await bars("1m", ["MSFT"])).length).toBe(7 * 390)
    for (const [argv, message] of [
      [["prune", "parquet", "--older-than", "2w"], /--older-than: "2w" is not an age such as 30d/u],
      [["prune", "parquet", "--older-than", "1y", "--frame", "2m"], /--frame: "2m" is not a frame/u],
      [["prune", "parquet"], /--older-than: give --older-than .* or set retention/u],
      [["prune", "db", "--older-than", "soon"], /--older-than: "soon" is not an age/u],
      [["prune"], /config retention: no retention is set/u]
    ] as const) {
      const r = await cli(...argv)
      expect({ argv, code: r.code }).toEqual({ argv, code: 2 })
      expect(r.errors).toMatch(message)
    }
  })

  test("prune alone applies the config's retention per frame: 1m goes, 1d is kept forever", async () => {
    dir = tempDir("mp-prune-")
    await ingest()
    const config = join(dir, "marketpipe.yaml")
    writeFileSync(config, "config_version: 2\nretention: { 1m: 35d, 1d: never, db: 30d }\n")
    const before1d = await bars("1d", ["AAPL", "MSFT"])
    const run = (dryRun: boolean) => pruneConfiguredMain({ ...common(config), dryRun }, environment())
    const dry = JSON.parse((await on("2024-04-05", run(true))).stdout)
    expect(dry.lake.map((r: { frame: string }) => r.frame)).toEqual(["1m"])
    expect(dry.cutoff).toBe("2024-03-06")
    expect(dry.history).toMatchObject({ jobs: 0 })
    const real = JSON.parse((await on("2024-04-05", run(false))).stdout)
    expect(real).toEqual({ ...dry, dryRun: false })
    expect((await bars("1m", ["AAPL"])).length).toBe(3 * 390)
    expect(await bars("1d", ["AAPL", "MSFT"])).toEqual(before1d)
  })
})

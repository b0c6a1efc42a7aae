import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { type Emulator, startEmulator } from "../emulators/server.ts"
import { runSourceAsync } from "../support/cli.ts"
import { cliWithEnv } from "../support/cli-env.ts"
import { lakeDigest } from "../support/lake.ts"
import { removeDir, tempDir } from "../support/temp.ts"

let emulator: Emulator
beforeAll(async () => {
  emulator = await startEmulator()
})
afterAll(() => emulator.stop())

let dir = ""
afterEach(() => removeDir(dir))

/** The config: a chain from the fake provider (failing one day, empty another) to Polygon on the emulator. */
const config = (fake: string) => {
  const file = join(dir, "marketpipe.yaml")
  writeFileSync(
    file,
    [
      "config_version: 3",
      "providers_chain: [fake, polygon]",
      "providers:",
      `  fake: ${fake}`,
      "  polygon: { rate_limit: { requests: 1000, per_seconds: 1 }, max_attempts: 2, retry_base_ms: 1 }",
      ""
    ].join("\n")
  )
  return file
}

/** `marketpipe …` in this process with the emulator's URL and key in `process.env` for the run only. */
const cli = async (file: string, ...argv: Array<string>) => cliAt(emulator.url, file, ...argv)
const cliAt = (polygonUrl: string, file: string, ...argv: Array<string>) =>
  cliWithEnv(
    { MARKETPIPE_POLYGON_BASE_URL: polygonUrl, POLYGON_API_KEY: emulator.keys.polygon },
    [...argv, "--config", file, "--data-dir", join(dir, "data")],
    dir
  )

type Day = { symbol: string; day: string; status: string; provider: string; filledFor: string | null }
const days = async (file: string) =>
  (JSON.parse((await cli(file, "ledger", "--days", "--json")).stdout) as { days: Array<Day> }).days
const provenance = async (file: string) =>
  JSON.parse(
    (
      await cli(
        file,
        "query",
        "SELECT provider, count(*) AS bars FROM bars_1m GROUP BY provider ORDER BY provider",
        "--json"
      )
    ).stdout
  )

describe("providers_chain", () => {
  test("a day the first provider fails and one it leaves empty are filled by the next; provenance and the ledger say so", async () => {
    dir = tempDir("mp-failover-")
    const failing = config("{ fail_days: [2024-03-06], empty_days: [2024-03-07] }")
    const range = ["--symbols", "AAPL,MSFT", "--from", "2024-03-04", "--to", "2024-03-08"]
    const run = await cli(failing, "ohlcv", "backfill", ...range, "--json")
    expect(run).toMatchObject({ code: 0 })
    const chain = JSON.parse(run.stdout).chain as Array<{ job: { provider: string; partitionsDone: number } }>
    expect(chain.map((c) => c.job.provider)).toEqual(["fake", "polygon"])
    expect(chain[1]?.job.partitionsDone).toBe(4)
    // The lake is complete: 5 days of 390 bars for both, three of them from fake and two from Polygon.
    expect(await provenance(failing)).toEqual([
      { provider: "fake", bars: 3 * 2 * 390 },
      { provider: "polygon", bars: 2 * 2 * 390 }
    ])
    const ledger = await days(failing)
    const filled = ledger.filter((d) => d.filledFor !== null)
    expect(filled.map((d) => [d.symbol, d.day, d.provider, d.status])).toEqual([
      ["AAPL", "2024-03-06", "polygon", "complete"],
      ["AAPL", "2024-03-07", "polygon", "complete"],
      ["MSFT", "2024-03-06", "polygon", "complete"],
      ["MSFT", "2024-03-07", "polygon", "complete"]
    ])
    expect(filled[0]?.filledFor).toMatch(/^fake failed: .*synthetic failure.*; filled by polygon$/u)
    expect(filled[1]?.filledFor).toBe("fake returned no bars; filled by polygon")
    expect(ledger.filter((d) => d.filledFor === null).every((d) => d.provider === "fake")).toBe(true)
    const text = await cli(failing, "ledger", "--days")
    expect(text.stdout).toContain("filled: fake returned no bars; filled by polygon")

    // Later, with the first provider healthy again: --refetch secondary takes those days back from it.
    const healthy = config("{}")
    const again = await cli(healthy, "ohlcv", "backfill", ...range, "--refetch", "secondary", "--json")
    expect(again.code).toBe(0)
    const jobs = JSON.parse(again.stdout).chain as Array<{ job: { provider: string; partitionsTotal: number } }>
    expect(jobs.map((j) => [j.job.provider, j.job.partitionsTotal])).toEqual([["fake", 4]])
    expect(await provenance(healthy)).toEqual([{ provider: "fake", bars: 5 * 2 * 390 }])
    expect((await days(healthy)).every((d) => d.filledFor === null && d.provider === "fake")).toBe(true)
    expect((await cli(healthy, "ledger", "verify", "--json")).code).toBe(0)
  })

  test("what the last provider of the chain cannot fill fails the run; --provider runs that provider alone", async () => {
    dir = tempDir("mp-failover-")
    const file = config("{ fail_symbols: [ZZZZQ] }")
    // Polygon unreachable (nothing listens on port 9): after its retries ZZZZQ's days stay failed, exit 3.
    const ingest = await cliAt(
      "http://127.0.0.1:9",
      file,
      "ohlcv",
      "ingest",
      "--symbols",
      "AAPL,ZZZZQ",
      "--start",
      "2024-03-04",
      "--end",
      "2024-03-05"
    )
    expect(ingest.code).toBe(3)
    expect(ingest.errors).toMatch(/finished with 2 failed partition\(s\)/u)
    expect(await provenance(file)).toEqual([{ provider: "fake", bars: 2 * 390 }])
    const missing = (await days(file)).filter((d) => d.status === "missing").map((d) => [d.symbol, d.day])
    expect(missing).toEqual([
      ["ZZZZQ", "2024-03-04"],
      ["ZZZZQ", "2024-03-05"]
    ])
    const alone = await cli(
      file,
      "ohlcv",
      "ingest",
      "--provider",
      "fake",
      "--symbols",
      "ZZZZQ",
      "--start",
      "2024-03-06",
      "--end",
      "2024-03-06",
      "--json"
    )
    expect(alone.code).toBe(3)
    expect(JSON.parse(alone.stdout)).toMatchObject({ job: { provider: "fake", partitionsFailed: 1 } })
  })

  test("kill -9 during a fill, then resume: the same lake and ledger as a run never interrupted", async () => {
    const range = ["--symbols", "AAPL,MSFT", "--from", "2024-03-04", "--to", "2024-03-08"]
    const fake = "{ fail_days: [2024-03-06], empty_days: [2024-03-07] }"
    const outcome = async (file: string) => ({
      lake: await lakeDigest(join(dir, "data")),
      days: (await days(file)).map((d) => [d.symbol, d.day, d.status, d.provider, d.filledFor]),
      verify: (await cli(file, "ledger", "verify", "--json")).code
    })
    dir = tempDir("mp-failover-")
    const clean = config(fake)
    expect((await cli(clean, "ohlcv", "backfill", ...range)).code).toBe(0)
    const expected = await outcome(clean)
    removeDir(dir)

    // The first provider's job renames fewer than 30 files here (its units, split around the failing day, and the
    // derived frames of each); killing after the 30th, 34th or 40th rename lands inside Polygon's fill, right after a
    // file is in place and before its ledger rows are. The jobs list below proves where each kill landed.
    for (const renames of [30, 34, 40]) {
      dir = tempDir("mp-failover-")
      const file = config(fake)
      const child = await runSourceAsync(
        ["ohlcv", "backfill", ...range, "--config", file, "--data-dir", join(dir, "data")],
        {
          cwd: dir,
          env: {
            HOME: dir,
            MARKETPIPE_POLYGON_BASE_URL: emulator.url,
            POLYGON_API_KEY: emulator.keys.polygon,
            MARKETPIPE_FAULT_KILL_AFTER_RENAMES: String(renames)
          }
        }
      )
      const killed = child.signal ?? `exit ${child.code}`
      expect({ renames, killed }).toEqual({ renames, killed: "SIGKILL" })
      // It died in Polygon's job: the first provider's had finished.
      const jobs = JSON.parse((await cli(file, "jobs", "list", "--json")).stdout) as Array<{
        provider: string
        state: string
      }>
      expect(jobs.map((j) => j.provider).sort()).toEqual(["fake", "polygon"])
      expect(jobs.find((j) => j.provider === "fake")?.state).not.toBe("running")
      // The ledger may lag the lake after the kill (a day it still calls empty the fill has just written), never
      // lead it: no claim of a bar the file does not hold.
      const verified = JSON.parse((await cli(file, "ledger", "verify", "--json")).stdout) as {
        problems: Array<{ claimed: number; found: number | null }>
      }
      expect(verified.problems.filter((p) => (p.found ?? 0) < p.claimed)).toEqual([])
      expect((await cli(file, "ohlcv", "backfill", ...range)).code).toBe(0)
      expect({ renames, ...(await outcome(file)) }).toEqual({ renames, ...expected })
      removeDir(dir)
    }
  })
})

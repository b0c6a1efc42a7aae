import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { type Emulator, startEmulator } from "../emulators/server.ts"
import { cliWithEnv } from "../support/cli-env.ts"
import { startPostgres, type TestPostgres } from "../support/postgres.ts"
import { removeDir, tempDir } from "../support/temp.ts"

let emulator: Emulator
let postgres: TestPostgres
beforeAll(async () => {
  emulator = await startEmulator()
  postgres = await startPostgres()
}, 60_000)
afterAll(() => {
  emulator.stop()
  postgres.stop()
})

let dir = ""
afterEach(() => removeDir(dir))

const cli = (env: Record<string, string>, ...argv: Array<string>) =>
  cliWithEnv(
    { MARKETPIPE_POLYGON_BASE_URL: emulator.url, POLYGON_API_KEY: emulator.keys.polygon, ...env },
    [...argv, "--data-dir", join(dir, "data")],
    dir
  )

const span = ["--symbols", "AAPL,MSFT", "--from", "2024-03-04", "--to", "2024-03-08"]
const providers = async (env: Record<string, string>, ...dataset: Array<string>) =>
  JSON.parse(
    (
      await cli(
        env,
        "query",
        "SELECT provider, count(*) AS bars FROM bars_1m GROUP BY provider ORDER BY provider",
        "--json",
        ...dataset
      )
    ).stdout
  )

describe("datasets", () => {
  for (const backend of ["SQLite", "PostgreSQL"] as const) {
    test(`${backend}: a second provider's bars in their own dataset, with their own ledger, reconciled from the lakes alone`, async () => {
      dir = tempDir("mp-datasets-")
      const env: Record<string, string> = backend === "SQLite" ? {} : { DATABASE_URL: await postgres.newDatabase() }
      expect((await cli(env, "ohlcv", "backfill", "--provider", "fake", ...span)).code).toBe(0)
      const polygon = await cli(env, "ohlcv", "backfill", "--provider", "polygon", ...span, "--dataset", "polygon")
      expect(polygon.code).toBe(0)
      // Both keep every day: the main lake fake's, the dataset Polygon's; neither ledger knows the other's.
      expect(await providers(env)).toEqual([{ provider: "fake", bars: 2 * 5 * 390 }])
      expect(await providers(env, "--dataset", "polygon")).toEqual([{ provider: "polygon", bars: 2 * 5 * 390 }])
      expect(existsSync(join(dir, "data", "datasets", "polygon", "ohlcv", "frame=1m", "symbol=AAPL"))).toBe(true)
      const ledger = async (...dataset: Array<string>) =>
        new Set(
          (
            JSON.parse((await cli(env, "ledger", "--days", "--json", ...dataset)).stdout) as {
              days: Array<{ provider: string }>
            }
          ).days.map((d) => d.provider)
        )
      expect(await ledger()).toEqual(new Set(["fake"]))
      expect(await ledger("--dataset", "polygon")).toEqual(new Set(["polygon"]))
      // A backfill of the dataset again finds it complete: its own ledger is what it plans from.
      const again = await cli(
        env,
        "ohlcv",
        "backfill",
        "--provider",
        "polygon",
        ...span,
        "--dataset",
        "polygon",
        "--json"
      )
      expect(JSON.parse(again.stdout).plan.partitions).toBe(0)

      // Reconcile reads side B from the dataset's lake: no request reaches the provider.
      const before = emulator.stats().requests
      const run = await cli(
        env,
        "reconcile",
        "--providers",
        "fake,polygon",
        ...span,
        "--dataset-b",
        "polygon",
        "--json"
      )
      expect(run.code).toBe(0)
      const summary = JSON.parse(run.stdout)
      expect(summary.a).toMatchObject({ provider: "fake", lake_days: 10, fetched_days: 0 })
      expect(summary.b).toMatchObject({ provider: "polygon", lake_days: 10, fetched_days: 0 })
      expect(emulator.stats().requests).toBe(before)
      // The emulator serves the fake provider's market: the two lakes agree bar for bar.
      expect(Object.values(summary.totals).every((n) => n === 0)).toBe(true)
    }, 120_000)
  }

  test("a dataset name that is not one is refused, naming the flag; nothing is created", async () => {
    dir = tempDir("mp-datasets-")
    const bad = await cli({}, "ohlcv", "backfill", "--provider", "fake", ...span, "--dataset", "../elsewhere")
    expect(bad.code).toBe(2)
    expect(bad.errors).toContain("--dataset")
    expect(existsSync(join(dir, "data"))).toBe(false)
    const side = await cli({}, "reconcile", "--providers", "fake,polygon", ...span, "--dataset-b", "Polygon!")
    expect(side.code).toBe(2)
    expect(side.errors).toContain("--dataset-b")
  })
})

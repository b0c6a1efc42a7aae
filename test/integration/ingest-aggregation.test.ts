/**
 * Aggregation folded into the ingest: each unit builds the higher frames of the days it writes from the bars in
 * memory, writes them in the same unit and records them with its 1m rows in one ledger transaction.
 */
import { describe, expect, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { Effect } from "effect"
import { aggregateMain } from "../../src/cli/commands/aggregate.ts"
import { derivationFor } from "../../src/pipeline/job.ts"
import { capture } from "../support/capture.ts"
import { runSourceAsync } from "../support/cli.ts"
import { aggregateFlags, ingestFlags, ingestIn } from "../support/ingest.ts"
import { duckdb, lakeGlob } from "../support/lake.ts"
import { listFiles, useTempDirs } from "../support/temp.ts"
import { verifyIn } from "../support/verify.ts"

const fresh = useTempDirs("mp-fold-")
const frames = ["5m", "15m", "30m", "1h", "4h", "1d"] as const

/** Every derived frame's rows, as DuckDB reads them (provenance columns included). */
const derivedLake = async (dataDir: string) => {
  const out: Record<string, unknown> = {}
  for (const frame of frames) {
    out[frame] = await duckdb(`SELECT * EXCLUDE (frame) FROM ${lakeGlob(dataDir, frame)} ORDER BY symbol, ts`)
  }
  return out
}

/** The ledger rows of the derived frames, without what names the job or the moment. */
const derivedLedger = (cwd: string) => {
  const db = new DatabaseSync(join(cwd, "data", "marketpipe.db"), { readOnly: true })
  try {
    return db
      .prepare(
        `SELECT frame, symbol, day, session, expected, observed, status, provider, feed, file, hash, content_hash
         FROM coverage WHERE frame <> '1m' ORDER BY frame, symbol, day`
      )
      .all()
  } finally {
    db.close()
  }
}

const coverageCount = (cwd: string): number => {
  const db = new DatabaseSync(join(cwd, "data", "marketpipe.db"), { readOnly: true })
  try {
    return (db.prepare("SELECT count(*) AS n FROM coverage").get() as { n: number }).n
  } finally {
    db.close()
  }
}

describe("aggregation folded into the ingest", () => {
  test("builds the same higher frames and ledger rows as an ingest without it followed by `ohlcv aggregate`", async () => {
    const config = (afterIngest: boolean) =>
      `config_version: 1\naggregation:\n  after_ingest: ${afterIngest}\nproviders:\n  fake:\n    missing_rate: 0.03\n`
    // Two runs whose days share month and year files (the second merges into what the first wrote), an early close
    // (2024-11-29) and a DST change inside the range.
    const runs = [
      { symbols: "AAPL,MSFT", start: "2024-03-07", end: "2024-03-12" },
      { symbols: "AAPL,SPY", start: "2024-03-13", end: "2024-03-14" },
      { symbols: "AAPL", start: "2024-11-27", end: "2024-11-29" }
    ]
    const folded = fresh()
    writeFileSync(join(folded, "marketpipe.yaml"), config(true))
    const separate = fresh()
    writeFileSync(join(separate, "marketpipe.yaml"), config(false))
    for (const r of runs) {
      const out = await capture(() => ingestIn(folded, ingestFlags(r)))
      expect(JSON.parse(out.stdout).aggregation.rebuilt).toHaveProperty("1d")
      await capture(() => ingestIn(separate, ingestFlags(r)))
    }
    // Without folding the ingest leaves no higher frame behind.
    expect(listFiles(join(separate, "data", "ohlcv")).some((f) => f.includes("frame=5m"))).toBe(false)
    await capture(() => Effect.runPromise(aggregateMain(aggregateFlags(), { env: {}, cwd: separate })))
    const lake = await derivedLake(join(folded, "data"))
    expect((lake["5m"] as Array<unknown>).length).toBeGreaterThan(0)
    expect(lake).toEqual(await derivedLake(join(separate, "data")))
    const ledger = derivedLedger(folded)
    // Days: AAPL and MSFT 4 each, AAPL and SPY 2 each, AAPL 2 (Thanksgiving is closed); six frames each.
    expect(ledger.length).toBe(6 * (4 * 2 + 2 * 2 + 2))
    expect(ledger).toEqual(derivedLedger(separate))
    // Nothing left for `ohlcv aggregate` to do after a folded ingest: every derived day is current.
    const again = await capture(() => ingestIn(folded, ingestFlags({ ...(runs[0] as (typeof runs)[0]) })))
    expect(JSON.parse(again.stdout).job.state).toBe("succeeded")
    expect(JSON.parse((await verifyIn(folded)).stdout).problems).toEqual([])
  }, 120_000)

  test("the 1m rows and the derived rows of a write are one transaction: a kill between the files leaves neither", async () => {
    const cwd = fresh()
    const args = [
      "ohlcv",
      "ingest",
      "--provider",
      "fake",
      "--symbols",
      "AAPL",
      "--start",
      "2024-03-04",
      "--end",
      "2024-03-08"
    ]
    // One unit writes seven files (1m, then 5m … 1d side by side); die after the third rename. The derived files'
    // renames run together, so those already on their way may land before the kill does: 3 to 7 files are in place.
    const killed = await runSourceAsync(args, { cwd, env: { MARKETPIPE_FAULT_KILL_AFTER_RENAMES: "3" } })
    expect(killed.signal).toBe("SIGKILL")
    const files = listFiles(join(cwd, "data", "ohlcv")).filter((f) => f.endsWith(".parquet"))
    expect(files.length).toBeGreaterThanOrEqual(3)
    expect(files.length).toBeLessThanOrEqual(7)
    // The ledger never claims a bar the lake does not hold, and claims nothing of a write that did not finish.
    expect(coverageCount(cwd)).toBe(0)
    const resumed = await runSourceAsync([...args, "--json"], { cwd })
    expect(resumed.code).toBe(0)
    expect(coverageCount(cwd)).toBe(7 * 5)
    expect(JSON.parse((await verifyIn(cwd)).stdout)).toMatchObject({ claims: 35, problems: [] })
  }, 120_000)

  test("runs only for 1m runs with aggregation on, and only when the run's session fills the buckets", () => {
    const on = { config_version: 1 } as const
    expect(derivationFor(on, { frame: "1m", session: "regular" })).toEqual({ frames: [...frames], session: "regular" })
    expect(derivationFor(on, { frame: "5m", session: "regular" })).toBeUndefined()
    expect(derivationFor({ ...on, aggregation: { after_ingest: false } }, { frame: "1m", session: "regular" })).toBe(
      undefined
    )
    // Extended-session bars hold the regular session; regular bars cannot fill 04:00-20:00 buckets.
    const regularBuckets = { ...on, aggregation: { session: "regular" as const, frames: ["1h" as const] } }
    expect(derivationFor(regularBuckets, { frame: "1m", session: "extended" })).toEqual({
      frames: ["1h"],
      session: "regular"
    })
    const extendedBuckets = { ...on, aggregation: { session: "extended" as const } }
    expect(derivationFor(extendedBuckets, { frame: "1m", session: "regular" })).toBeUndefined()
  })
})

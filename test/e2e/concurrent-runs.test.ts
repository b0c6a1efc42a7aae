/**
 * Two runs on one data dir: neither may lose the other's days, the ledger must describe what the files hold, and a
 * second process on the SQLite repository waits for the first instead of failing with "database is locked".
 */
import { describe, expect, test } from "bun:test"
import { spawn } from "node:child_process"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { Effect } from "effect"
import { Jobs } from "../../src/repository/jobs.ts"
import { sqliteLayer } from "../../src/repository/layer.ts"
import { bunBin, compiledBinary, runAsync } from "../support/cli.ts"
import { duckdb, lakeGlob } from "../support/lake.ts"
import { useTempDirs } from "../support/temp.ts"

const fresh = useTempDirs("mp-conc-")

const ingest = (binary: string, cwd: string, from: string, to: string) =>
  runAsync(
    binary,
    ["ohlcv", "ingest", "--provider", "fake", "--symbols", "AAPL,MSFT", "--start", from, "--end", to, "--json"],
    { cwd }
  )

const spec = {
  kind: "ingest" as const,
  provider: "fake",
  feed: "synthetic",
  frame: "1m",
  session: "regular" as const,
  symbols: ["AAPL"],
  startDay: "2024-03-04",
  endDay: "2024-03-04"
}

/**
 * Starts a process that takes SQLite's write lock on `path` and lets go after `holdMs`; resolves once it holds it.
 * The hold is the contention under test, not a wait for something to happen.
 */
function holdSqliteLock(path: string, mode: "EXCLUSIVE" | "IMMEDIATE", holdMs: number) {
  const script = `
    const { DatabaseSync } = require("node:sqlite")
    const db = new DatabaseSync(${JSON.stringify(path)})
    db.exec("BEGIN ${mode}")
    db.exec("CREATE TABLE IF NOT EXISTS holder (x INTEGER)")
    console.log("held")
    setTimeout(() => { db.exec("COMMIT"); db.close() }, ${holdMs})`
  const child = spawn(bunBin, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] })
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve))
  const held = new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (d) => String(d).includes("held") && resolve())
    child.on("exit", (code) => reject(new Error(`lock holder exited early (${code})`)))
  })
  return { held, exited }
}

describe("two runs on one data dir", () => {
  test("two ingests of different weeks started together keep both weeks, and the ledger matches the lake", async () => {
    const binary = compiledBinary()
    // Several rounds: without serialised writers most rounds lost a week (3,900 or 5,850 of 7,800 bars).
    for (let round = 0; round < 4; round++) {
      const cwd = fresh()
      const [a, b] = await Promise.all([
        ingest(binary, cwd, "2024-03-04", "2024-03-08"),
        ingest(binary, cwd, "2024-03-11", "2024-03-15")
      ])
      expect(a.stderr).not.toMatch(/error/u)
      expect(b.stderr).not.toMatch(/error/u)
      expect([a.code, b.code]).toEqual([0, 0])
      const lake = await duckdb<{ symbol: string; n: string; days: string }>(
        `SELECT symbol, count(*) AS n, count(DISTINCT ts::DATE) AS days FROM ${lakeGlob(join(cwd, "data"))} GROUP BY ALL ORDER BY symbol`
      )
      expect(lake).toEqual([
        { symbol: "AAPL", n: "3900", days: "10" },
        { symbol: "MSFT", n: "3900", days: "10" }
      ])
      const ledger = new DatabaseSync(join(cwd, "data", "marketpipe.db"), { readOnly: true })
      const claimed = ledger
        .prepare("SELECT symbol, sum(observed) AS n FROM coverage WHERE frame = '1m' GROUP BY symbol ORDER BY symbol")
        .all()
      ledger.close()
      expect(claimed).toEqual([
        { symbol: "AAPL", n: 3900 },
        { symbol: "MSFT", n: 3900 }
      ])
    }
  }, 180_000)
})

describe("SQLite under a second process", () => {
  test("opening a fresh database waits for another process's lock instead of failing", async () => {
    const path = join(fresh(), "marketpipe.db")
    const holder = holdSqliteLock(path, "EXCLUSIVE", 800)
    await holder.held
    const jobs = await Effect.runPromise(
      Jobs.use((r) => Effect.andThen(r.create(spec, []), r.list(5))).pipe(Effect.provide(sqliteLayer(path)))
    )
    expect(jobs.map((j) => j.kind)).toEqual(["ingest"])
    expect(await holder.exited).toBe(0)
  })

  test("a write that meets a lock held past the busy timeout is tried again, not failed", async () => {
    const path = join(fresh(), "marketpipe.db")
    await Effect.runPromise(Jobs.use((r) => r.list(1)).pipe(Effect.provide(sqliteLayer(path))))
    const holder = holdSqliteLock(path, "IMMEDIATE", 700)
    await holder.held
    // A short busy timeout, so the lock outlasts it: only trying again can get the job written.
    const job = await Effect.runPromise(
      Jobs.use((r) => r.create(spec, [{ frame: "1m", symbol: "AAPL", day: "2024-03-04" }])).pipe(
        Effect.provide(sqliteLayer(path, { busyTimeoutMs: 50 }))
      )
    )
    expect(job).toMatchObject({ state: "running", partitionsTotal: 1 })
    expect(await holder.exited).toBe(0)
  })
})

import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { type ChildProcess, spawn } from "node:child_process"
import { join } from "node:path"
import fake from "../../plugins/fake/mod.ts"
import { alpacaEnv, type Emulator, startEmulator } from "../emulators/server.ts"
import { bunBin, mainTs, runSourceAsync } from "../support/cli.ts"
import { lakeDigest } from "../support/lake.ts"
import { startPostgres, type TestPostgres } from "../support/postgres.ts"
import { ingestThrough } from "../support/provider-run.ts"
import { useTempDirs } from "../support/temp.ts"

let postgres: TestPostgres
let emulator: Emulator
const fresh = useTempDirs("mp-workers-")
beforeAll(async () => {
  postgres = await startPostgres()
  emulator = await startEmulator()
}, 60_000)
afterAll(async () => {
  await emulator.stop()
  postgres.stop()
})

const symbols = "AAPL,MSFT,SPY,QQQ,IWM,DIA"
const range = ["--from", "2024-01-01", "--to", "2024-03-31"]

/** Plans the test backfill into the queue (JSON summary on stdout). */
const enqueue = (cwd: string, env: Record<string, string>) =>
  runSourceAsync(
    [
      "ohlcv",
      "backfill",
      "--provider",
      "alpaca",
      "--feed",
      "sip",
      "--symbols",
      symbols,
      ...range,
      "--enqueue",
      "--json",
      "--data-dir",
      join(cwd, "data")
    ],
    { cwd, env }
  )

/** A worker process; resolves when it exits. `onLine` sees its stderr lines as they come. */
function worker(
  cwd: string,
  env: Record<string, string>,
  onLine: (line: string, child: ChildProcess) => void = () => {}
) {
  const child = spawn(
    bunBin,
    [mainTs, "worker", "--lease-seconds", "3", "--poll-seconds", "1", "--data-dir", join(cwd, "data")],
    {
      cwd,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env }
    }
  )
  let buffer = ""
  child.stderr?.on("data", (d) => {
    buffer += String(d)
    const lines = buffer.split("\n")
    buffer = lines.pop() ?? ""
    for (const line of lines) onLine(line, child)
  })
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal }))
  )
}

const queueState = async (url: string) => {
  const { SQL } = await import("bun")
  const db = new SQL(url)
  try {
    const units = await db`SELECT state, attempts, lease_holder FROM work_units ORDER BY id`
    const locks = await db`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'`
    const job = await db`SELECT state, partitions_done, partitions_failed FROM jobs WHERE kind = 'backfill'`
    return {
      units: units as Array<{ state: string; attempts: number; lease_holder: string }>,
      advisoryLocks: locks[0].n as number,
      job: job[0]
    }
  } finally {
    await db.close()
  }
}

describe("many workers on one Postgres queue", () => {
  test("four workers drain a queue: each unit done once, requests as planned, the lake equals a single run", async () => {
    const cwd = fresh()
    const url = await postgres.newDatabase()
    const env = { DATABASE_URL: url, ...alpacaEnv(emulator) }
    const queued = await enqueue(cwd, env)
    expect(queued.stderr).not.toMatch(/error/)
    const plan = JSON.parse(queued.stdout)
    expect(plan).toMatchObject({ queued: true, units: 18 })
    emulator.resetStats()
    const exits = await Promise.all([1, 2, 3, 4].map(() => worker(cwd, env)))
    expect(exits.map((e) => e.code)).toEqual([0, 0, 0, 0])
    const state = await queueState(url)
    expect(state.units.map((u) => `${u.state}/${u.attempts}`)).toEqual(Array(18).fill("done/1"))
    expect(new Set(state.units.map((u) => u.lease_holder)).size).toBeGreaterThan(1)
    expect(state.job).toMatchObject({ state: "succeeded", partitions_done: 6 * 61, partitions_failed: 0 })
    expect(state.advisoryLocks).toBe(0)
    // One request chain per unit: a month of one symbol with pre/post-market is 2-3 pages of 10,000 bars.
    const requests = emulator.stats().byPath["/v2/stocks/bars"] ?? 0
    expect(requests).toBeGreaterThanOrEqual(36)
    expect(requests).toBeLessThanOrEqual(54)
    const single = fresh()
    await ingestThrough(
      { plugin: fake, baseUrl: "", env: {} },
      join(single, "data"),
      symbols.split(","),
      "2024-01-01",
      "2024-03-31"
    )
    expect(await lakeDigest(join(cwd, "data"))).toEqual(await lakeDigest(join(single, "data")))
  }, 120_000)

  test("kill one worker mid-run: the others take over its units after the lease runs out", async () => {
    const cwd = fresh()
    const url = await postgres.newDatabase()
    const env = { DATABASE_URL: url, ...alpacaEnv(emulator) }
    await enqueue(cwd, env)
    // Slow answers keep units in flight long enough to be killed inside one.
    emulator.setFaults({ latencyMs: 150 })
    let killed = false
    let claims = 0
    const victim = worker(cwd, env, (line, child) => {
      // Its second claim: the lease is held and the unit's first (slow) request is in flight.
      if (/unit \d+ \(job \d+\) claimed/u.test(line)) claims++
      if (!killed && claims === 2) {
        killed = true
        child.kill("SIGKILL")
      }
    })
    const others = [1, 2, 3].map(() => worker(cwd, env))
    const [v, ...rest] = await Promise.all([victim, ...others])
    emulator.setFaults({})
    expect(v?.signal).toBe("SIGKILL")
    expect(rest.map((e) => e.code)).toEqual([0, 0, 0])
    const state = await queueState(url)
    expect(state.units.every((u) => u.state === "done")).toBe(true)
    // The unit the dead worker held was claimed twice; every other unit once.
    expect(state.units.filter((u) => u.attempts > 1).length).toBeGreaterThanOrEqual(1)
    expect(state.job).toMatchObject({ state: "succeeded", partitions_done: 6 * 61 })
    expect(state.advisoryLocks).toBe(0)
    const single = fresh()
    await ingestThrough(
      { plugin: fake, baseUrl: "", env: {} },
      join(single, "data"),
      symbols.split(","),
      "2024-01-01",
      "2024-03-31"
    )
    expect(await lakeDigest(join(cwd, "data"))).toEqual(await lakeDigest(join(single, "data")))
  }, 120_000)
})

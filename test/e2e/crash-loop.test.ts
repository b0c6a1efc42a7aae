import { describe, expect, test } from "bun:test"
import { spawn } from "node:child_process"
import { join } from "node:path"
import { Option } from "effect"
import { hash32, prng } from "../../plugins/fake/generate.ts"
import { backfillFlags, backfillIn, ledgerJson } from "../support/backfill.ts"
import { bunBin, mainTs } from "../support/cli.ts"
import { duckdb, lakeDigest, lakeGlob } from "../support/lake.ts"
import { listFiles, useTempDirs } from "../support/temp.ts"

const fresh = useTempDirs("mp-crash-")

const symbols = Array.from({ length: 40 }, (_, i) => `S${String(i).padStart(2, "0")}`).join(",")
const range = { from: "2024-01-02", to: "2024-06-28" }
const args = [
  "ohlcv",
  "backfill",
  "--provider",
  "fake",
  "--symbols",
  symbols,
  "--from",
  range.from,
  "--to",
  range.to,
  "--json"
]

/** Starts the backfill in a child process and kills it with SIGKILL after `ms`; resolves with its exit signal/code. */
function runAndKill(cwd: string, ms: number | undefined): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(bunBin, [mainTs, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" },
      stdio: "ignore"
    })
    const timer = ms === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), ms)
    child.on("exit", (code, signal) => {
      if (timer !== undefined) clearTimeout(timer)
      resolve(signal ?? `exit ${code}`)
    })
  })
}

describe("crash safety", () => {
  test("kill -9 at random moments, resume each time: the lake equals a clean run's, row for row", async () => {
    const clean = fresh()
    await backfillIn(
      clean,
      backfillFlags({ symbols: Option.some(symbols), from: Option.some(range.from), to: Option.some(range.to) })
    )
    const expected = await lakeDigest(join(clean, "data"))

    const cwd = fresh()
    const random = prng(hash32("crash-loop"))
    const outcomes: Array<string> = []
    // Kill points spread over start-up, planning, writing and ledger updates (a clean run takes a few seconds).
    for (let i = 0; i < 5; i++) outcomes.push(await runAndKill(cwd, 300 + Math.floor(random() * 1700)))
    expect(outcomes.filter((o) => o === "SIGKILL").length, outcomes.join()).toBeGreaterThanOrEqual(3)
    outcomes.push(await runAndKill(cwd, undefined))
    expect(outcomes.at(-1)).toBe("exit 0")

    const dataDir = join(cwd, "data")
    expect(await lakeDigest(dataDir)).toEqual(expected)
    const dupes = await duckdb<{ n: string }>(
      `SELECT count(*) - count(DISTINCT (symbol, ts)) AS n FROM ${lakeGlob(dataDir)}`
    )
    expect(dupes[0]?.n).toBe("0")
    expect(listFiles(dataDir).filter((f) => f.includes(".mp-tmp-"))).toEqual([])
    const ledger = await ledgerJson(cwd)
    expect(ledger.totals.counts).toMatchObject({ complete: 40 * 124, missing: 0, partial: 0 })
  }, 120_000)
})

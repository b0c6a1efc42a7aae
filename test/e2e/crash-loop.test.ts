/**
 * Crash safety: a backfill killed with SIGKILL again and again, then resumed, leaves the lake a clean run leaves. The
 * kills land at deterministic points, not wall-clock moments: the lake writer's fault point
 * (`MARKETPIPE_FAULT_KILL_AFTER_RENAMES`, `src/lake/atomic-file.ts`) kills the process right after its N-th file
 * rename, when the file is in place and its ledger rows are not, so every kill lands whatever the machine's speed.
 */
import { describe, expect, test } from "bun:test"
import { spawn } from "node:child_process"
import { join } from "node:path"
import { Option } from "effect"
import { backfillFlags, backfillIn, ledgerJson } from "../support/backfill.ts"
import { bunBin, mainTs } from "../support/cli.ts"
import { duckdb, lakeDigest, lakeGlob } from "../support/lake.ts"
import { listFiles, useTempDirs } from "../support/temp.ts"
import { verifyIn } from "../support/verify.ts"

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

/**
 * Runs the backfill in a child process that kills itself right after its `renames`-th file rename (never, when
 * `undefined`); resolves with its exit signal or code.
 */
function runAndKill(cwd: string, renames: number | undefined): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(bunBin, [mainTs, ...args], {
      cwd,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/tmp",
        ...(renames === undefined ? {} : { MARKETPIPE_FAULT_KILL_AFTER_RENAMES: String(renames) })
      },
      stdio: "ignore"
    })
    child.on("exit", (code, signal) => resolve(signal ?? `exit ${code}`))
  })
}

/** `ledger verify --json`: every ledger claim checked against the files (read only). */
const verifyLedger = async (cwd: string) => {
  const r = await verifyIn(cwd)
  return JSON.parse(r.stdout) as { claims: number; problems: ReadonlyArray<unknown> }
}

// Each run writes at least this many files before it dies: 1m files alone are 40 symbols x 6 months = 240, and a
// killed run's renamed-but-unrecorded file is written again, so these (sum 201) leave work for every kill and the end.
const killPoints = [1, 17, 60, 33, 90]

describe("crash safety", () => {
  test("kill -9 right after the N-th file rename, resume each time: the ledger never claims what the lake lacks, and the lake equals a clean run's, row for row", async () => {
    const clean = fresh()
    await backfillIn(
      clean,
      backfillFlags({ symbols: Option.some(symbols), from: Option.some(range.from), to: Option.some(range.to) })
    )
    const expected = await lakeDigest(join(clean, "data"))

    const cwd = fresh()
    const outcomes: Array<string> = []
    let claims = 0
    for (const renames of killPoints) {
      outcomes.push(await runAndKill(cwd, renames))
      // The file renamed last is in place without its ledger rows: the ledger may lag the lake, never lead it.
      const verified = await verifyLedger(cwd)
      expect(verified.problems).toEqual([])
      expect(verified.claims).toBeGreaterThanOrEqual(claims)
      claims = verified.claims
    }
    expect(outcomes).toEqual(killPoints.map(() => "SIGKILL"))
    expect(claims).toBeGreaterThan(0)
    outcomes.push(await runAndKill(cwd, undefined))
    expect(outcomes.at(-1)).toBe("exit 0")

    const dataDir = join(cwd, "data")
    expect(await lakeDigest(dataDir)).toEqual(expected)
    const dupes = await duckdb<{ n: string }>(
      `SELECT count(*) - count(DISTINCT (symbol, ts)) AS n FROM ${lakeGlob(dataDir)}`
    )
    expect(dupes[0]?.n).toBe("0")
    // Nor a killed run's findings spool (reports/.spool-…): the next run's recovery removed it.
    expect(listFiles(dataDir).filter((f) => f.includes(".mp-tmp-") || f.includes(".spool-"))).toEqual([])
    const ledger = await ledgerJson(cwd)
    expect(ledger.totals.counts).toMatchObject({ complete: 40 * 124, missing: 0, partial: 0 })
    // Seven backfills and five verifies of 40 symbols x 6 months: minutes on a loaded 2-core machine.
  }, 300_000)
})

import { describe, expect, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { Effect, Exit, Option } from "effect"
import { workerMain } from "../../src/cli/commands/worker.ts"
import { exitCodeOf } from "../../src/cli/main.ts"
import { backfillFlags, backfillIn, ledgerJson } from "../support/backfill.ts"
import { capture } from "../support/capture.ts"
import { runServices } from "../support/run-services.ts"
import { useTempDirs } from "../support/temp.ts"

const fresh = useTempDirs("mp-queue-")

const workerFlags = {
  follow: false,
  leaseSeconds: 30,
  pollSeconds: 1,
  config: Option.none(),
  dataDir: Option.none(),
  json: true
}

describe("the work queue on SQLite", () => {
  test("--enqueue plans without fetching; a worker drains the queue and closes the job", async () => {
    const cwd = fresh()
    const queued = await backfillIn(
      cwd,
      backfillFlags({
        symbols: Option.some("AAPL,MSFT"),
        from: Option.some("2024-01-01"),
        to: Option.some("2024-02-29"),
        enqueue: true
      })
    )
    expect(JSON.parse(queued.stdout)).toMatchObject({ queued: true, units: 2, plan: { partitions: 2 * 41 } })
    expect((await ledgerJson(cwd)).symbols).toEqual([])
    const run = await capture(() =>
      Effect.runPromise(workerMain(workerFlags, { env: {}, cwd }).pipe(Effect.provide(runServices())))
    )
    expect(JSON.parse(run.stdout)).toEqual({ units: 2, failedUnits: 0 })
    expect(run.stderr).toMatch(/unit 1 \(job 1\) claimed, attempt 1/)
    const ledger = await ledgerJson(cwd)
    expect(ledger.totals.counts.complete).toBe(2 * 41)
    // Once the job's last unit was done, its higher frames were built, as after a local run.
    const daily = await ledgerJson(cwd, { frame: Option.some("1d") })
    expect(daily.totals.counts.complete).toBe(2 * 41)
    // Nothing left: a second worker exits at once.
    const again = await capture(() =>
      Effect.runPromise(workerMain(workerFlags, { env: {}, cwd }).pipe(Effect.provide(runServices())))
    )
    expect(JSON.parse(again.stdout)).toEqual({ units: 0, failedUnits: 0 })
    // Re-enqueueing the same range plans nothing: the ledger has it all.
    const none = await backfillIn(
      cwd,
      backfillFlags({
        symbols: Option.some("AAPL,MSFT"),
        from: Option.some("2024-01-01"),
        to: Option.some("2024-02-29"),
        enqueue: true
      })
    )
    expect(JSON.parse(none.stdout)).toMatchObject({ units: 0, plan: { partitions: 0, covered: 82 } })
  })

  test("a unit whose partitions failed counts as a failed unit, and its partitions stay failed for the next backfill", async () => {
    const cwd = fresh()
    writeFileSync(join(cwd, "marketpipe.yaml"), "config_version: 1\nproviders:\n  fake:\n    fail_symbols: [MSFT]\n")
    await backfillIn(
      cwd,
      backfillFlags({
        symbols: Option.some("AAPL,MSFT"),
        from: Option.some("2024-01-02"),
        to: Option.some("2024-01-05"),
        enqueue: true
      })
    )
    const run = await capture(() =>
      Effect.runPromise(workerMain(workerFlags, { env: {}, cwd }).pipe(Effect.provide(runServices())))
    )
    // The fake provider takes both symbols in one request: MSFT's failure fails the unit, AAPL's days are kept.
    expect(JSON.parse(run.stdout)).toEqual({ units: 1, failedUnits: 1 })
    expect(run.stderr).toMatch(/unit 1 \(job 1, AAPL,MSFT 2024-01-02\.\.2024-01-05\): failed/)
    const ledger = await ledgerJson(cwd)
    expect(ledger.totals.counts.complete).toBe(4)
    // The failed days are not in the ledger, so a backfill of the range plans exactly them again.
    const again = await backfillIn(
      cwd,
      backfillFlags({
        symbols: Option.some("AAPL,MSFT"),
        from: Option.some("2024-01-02"),
        to: Option.some("2024-01-05"),
        dryRun: true
      })
    )
    expect(JSON.parse(again.stdout)).toMatchObject({ partitions: 4, covered: 4 })
  })

  test("a nonsensical lease is a usage error", async () => {
    const exit = await Effect.runPromiseExit(
      workerMain({ ...workerFlags, leaseSeconds: 0 }, { env: {}, cwd: fresh() }).pipe(Effect.provide(runServices()))
    )
    expect(Exit.isFailure(exit) && exitCodeOf(exit, () => {})).toBe(2)
  })
})

import { describe, expect, test } from "bun:test"
import { spawnSync } from "node:child_process"
import { mkdirSync, readdirSync, writeFileSync } from "node:fs"
import { hostname } from "node:os"
import { join } from "node:path"
import { Effect, Option } from "effect"
import { ledgerMain } from "../../src/cli/commands/ledger.ts"
import { isOwnerAlive, processOwner, recover } from "../../src/pipeline/recovery.ts"
import { Jobs } from "../../src/repository/jobs.ts"
import { sqliteLayer } from "../../src/repository/layer.ts"
import { findingsSpool } from "../../src/validation/findings-spool.ts"
import { backfillFlags, backfillIn, ledgerJson } from "../support/backfill.ts"
import { capture } from "../support/capture.ts"
import { listFiles, useTempDirs } from "../support/temp.ts"

const fresh = useTempDirs("mp-recovery-")

/** The pid of a process that has already exited. */
const deadPid = () => spawnSync("true").pid as number

describe("recovery after a crash", () => {
  test("owners: this process and other hosts count as alive, an exited pid on this host does not", () => {
    expect(isOwnerAlive(processOwner())).toBe(true)
    expect(isOwnerAlive(`${hostname()}:${deadPid()}`)).toBe(false)
    expect(isOwnerAlive("another-host:1")).toBe(true)
    expect(isOwnerAlive(`${hostname()}:not-a-pid`)).toBe(false)
  })

  test("jobs left running by a dead process are abandoned; their temp files go, a live writer's stay", async () => {
    const dataDir = fresh()
    const dir = join(dataDir, "ohlcv/frame=1m/symbol=AAPL")
    mkdirSync(dir, { recursive: true })
    const dead = `${hostname()}.${deadPid()}`
    writeFileSync(join(dir, `.2024-03.parquet.mp-tmp-${dead}.abc123`), "torn")
    writeFileSync(join(dir, `.2024-04.parquet.mp-tmp-${hostname()}.${process.pid}.def456`), "being written")
    const program = Effect.gen(function* () {
      const repo = yield* Jobs
      const spec = {
        kind: "backfill" as const,
        provider: "fake",
        feed: "synthetic",
        frame: "1m",
        session: "regular" as const,
        symbols: ["AAPL"],
        startDay: "2024-03-04",
        endDay: "2024-03-05"
      }
      const parts = [
        { frame: "1m", symbol: "AAPL", day: "2024-03-04" },
        { frame: "1m", symbol: "AAPL", day: "2024-03-05" }
      ]
      const crashed = yield* repo.create({ ...spec, owner: `${hostname()}:${deadPid()}` }, parts)
      yield* repo.markRunning(crashed.id, parts)
      const live = yield* repo.create({ ...spec, owner: processOwner() }, parts)
      const recovered = yield* recover(dataDir)
      return {
        recovered,
        crashed: yield* repo.get(crashed.id),
        live: yield* repo.get(live.id),
        partitions: yield* repo.partitions(crashed.id)
      }
    })
    const r = await Effect.runPromise(program.pipe(Effect.provide(sqliteLayer(join(dataDir, "marketpipe.db")))))
    expect(r.recovered.abandonedJobs).toEqual([r.crashed?.id as number])
    expect(r.crashed).toMatchObject({ state: "abandoned" })
    expect(r.live).toMatchObject({ state: "running" })
    expect(r.partitions.map((p) => p.state)).toEqual(["failed", "failed"])
    expect(r.recovered.removedTemps.length).toBe(1)
    expect(listFiles(dir)).toEqual([`.2024-04.parquet.mp-tmp-${hostname()}.${process.pid}.def456`])
  })

  test("a findings spool a dead process left is removed; a live run's stays until its own scope closes", async () => {
    const dataDir = fresh()
    const program = Effect.gen(function* () {
      const live = yield* findingsSpool(dataDir, processOwner())
      yield* findingsSpool(dataDir, `${hostname()}:${deadPid()}`)
      yield* live.add([])
      mkdirSync(join(dataDir, "reports", ".spool-x-%E0"))
      const before = readdirSync(join(dataDir, "reports")).length
      const recovered = yield* recover(dataDir)
      return { before, recovered, after: readdirSync(join(dataDir, "reports")).sort() }
    })
    const r = await Effect.runPromise(
      program.pipe(Effect.scoped, Effect.provide(sqliteLayer(join(dataDir, "marketpipe.db"))))
    )
    expect(r.before).toBe(3)
    expect(r.recovered.removedTemps).toHaveLength(1)
    expect(r.recovered.removedTemps[0]).toContain(encodeURIComponent(`${hostname()}:`))
    // This process's spool and a name that names no owner are left alone.
    expect(r.after).toHaveLength(2)
    expect(r.after.some((n) => n.endsWith(encodeURIComponent(processOwner())))).toBe(true)
    expect(readdirSync(join(dataDir, "reports"))).toEqual([".spool-x-%E0"])
  })

  test("the ledger report in words: per symbol, totals and per day", async () => {
    const cwd = fresh()
    await backfillIn(
      cwd,
      backfillFlags({
        symbols: Option.some("AAPL,MSFT"),
        from: Option.some("2024-03-07"),
        to: Option.some("2024-03-08")
      })
    )
    const text = await capture(() =>
      Effect.runPromise(
        ledgerMain(
          {
            symbols: Option.none(),
            from: Option.none(),
            to: Option.none(),
            frame: Option.none(),
            session: Option.none(),
            days: true,
            config: Option.none(),
            dataDir: Option.none(),
            json: false
          },
          { env: {}, cwd }
        )
      )
    )
    expect(text.stdout).toMatch(/ledger 1m regular 2024-03-07\.\.2024-03-08/)
    expect(text.stdout).toMatch(/AAPL\s+2\s+2\s+0\s+0\s+0\s+0\s+780\/780\s+100\.0%/)
    expect(text.stdout).toMatch(/total\s+4\s+4\s+0\s+0\s+0\s+0\s+1560\/1560\s+100\.0%/)
    expect(text.stdout).toMatch(
      /MSFT\s+2024-03-08\s+complete\s+390\/390\s+fake\/synthetic\s+ohlcv\/frame=1m\/symbol=MSFT\/2024-03\.parquet/
    )
    const empty = await capture(() =>
      Effect.runPromise(
        ledgerMain(
          {
            symbols: Option.some("ZZZ"),
            from: Option.none(),
            to: Option.none(),
            frame: Option.some("5m"),
            session: Option.none(),
            days: false,
            config: Option.none(),
            dataDir: Option.none(),
            json: false
          },
          { env: {}, cwd }
        )
      )
    )
    expect(empty.stdout).toMatch(/ZZZ\s+\d+\s+0\s+0\s+0\s+\d+/)
    const json = await ledgerJson(cwd, { symbols: Option.some("AAPL") })
    expect(json.symbols.map((s: { symbol: string }) => s.symbol)).toEqual(["AAPL"])
  })
})

import { afterEach, beforeEach, describe, expect, test } from "bun:test"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Effect, Exit } from "effect"
import { barsOf, batchFromBars, type Symbol } from "../../mod.ts"
import { concatBatches, rowsView } from "../../src/domain/bar.ts"
import { StorageError } from "../../src/domain/errors.ts"
import { tempPathFor } from "../../src/lake/atomic-file.ts"
import { makeParquetSink } from "../../src/lake/parquet-sink.ts"
import { decodeBars } from "../../src/lake/read/decode-file.ts"
import { answer, transferable, type WriteJob } from "../../src/lake/write-job.ts"
import {
  JOBS_PER_WORKER,
  type LakeWritersShape,
  makeWritePool,
  poolSize,
  sameThreadWriters,
  type WritePoolOptions
} from "../../src/lake/write-pool.ts"
import { listFiles, removeDir, tempDir } from "../support/temp.ts"

let dir = ""
beforeEach(() => {
  dir = tempDir("mp-pool-")
})
afterEach(() => removeDir(dir))

const writer = (name: string) => new URL(`../support/writers/${name}.ts`, import.meta.url).href

const dayBars = (symbol: string, day: string, n: number, price: number) =>
  batchFromBars(
    symbol as Symbol,
    Array.from({ length: n }, (_, i) => ({
      ts: Date.parse(`${day}T14:30:00Z`) + i * 60_000,
      open: price,
      high: price + 1,
      low: price - 1,
      close: price,
      volume: 10 + i,
      trade_count: i,
      vwap: price
    }))
  )

/** A job writing two days of `symbol` into its own file under the test's directory. */
const jobFor = (symbol: string, n = 30): WriteJob => {
  const path = join(dir, `${symbol}-${n}.parquet`)
  return {
    path,
    temp: tempPathFor(path),
    symbol: symbol as Symbol,
    days: [
      { day: "2024-03-04", batch: dayBars(symbol, "2024-03-04", n, 10), provider: "fake", feed: "synthetic" },
      { day: "2024-03-05", batch: dayBars(symbol, "2024-03-05", n, 20), provider: "fake", feed: "synthetic" }
    ],
    metadata: {}
  }
}

/** Runs `body` with a pool that lives as long as it does, and returns the pool too (closed by then). */
const withPool = <A, E>(options: WritePoolOptions, body: (pool: LakeWritersShape) => Effect.Effect<A, E>) =>
  Effect.runPromise(
    Effect.scoped(Effect.flatMap(makeWritePool(options), (pool) => Effect.map(body(pool), (a) => ({ a, pool }))))
  )

const failureOf = (exit: Exit.Exit<unknown, StorageError>): StorageError => {
  if (Exit.isSuccess(exit)) throw new Error("expected the job to fail")
  const error = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (error === undefined || error._tag !== "Fail") throw new Error(`expected a failure, got ${String(exit.cause)}`)
  return error.error
}

describe("lake writer threads", () => {
  test("jobs run on writer threads, not the caller's, and write what the same-thread path writes", async () => {
    const jobs = ["AAA", "BBB", "CCC", "DDD"].map((s) => jobFor(s))
    const { a: outcomes } = await withPool({ size: 2 }, (pool) =>
      Effect.all(
        jobs.map((j) => pool.run(j)),
        { concurrency: "unbounded" }
      )
    )
    const threads = new Set(outcomes.map((o) => o.thread))
    expect([...threads].every((t) => t.startsWith("lake-writer-"))).toBe(true)
    expect(threads.size).toBe(2)
    for (const [i, job] of jobs.entries()) {
      const inline = { ...job, temp: tempPathFor(job.path) }
      const same = await Effect.runPromise(sameThreadWriters.run(inline))
      expect(same.thread).toBe("main")
      expect({ ...outcomes[i], thread: "" }).toEqual({ ...same, thread: "" })
      const threaded = await decodeBars(job.symbol, readFileSync(job.temp))
      const local = await decodeBars(job.symbol, readFileSync(inline.temp))
      expect(barsOf(threaded.batch)).toEqual(barsOf(local.batch))
    }
  })

  test("the caller's batch stays whole: days cut out of it as views are copied, not moved", async () => {
    const whole = concatBatches("AAA" as Symbol, [
      dayBars("AAA", "2024-03-04", 5, 10),
      dayBars("AAA", "2024-03-05", 5, 20)
    ])
    const before = barsOf(whole)
    const job = {
      ...jobFor("AAA"),
      days: [
        { day: "2024-03-04", batch: rowsView(whole, 0, 5), provider: "fake", feed: "synthetic" },
        { day: "2024-03-05", batch: rowsView(whole, 5, 10), provider: "fake", feed: "synthetic" }
      ]
    }
    const { a: outcome } = await withPool({ size: 1 }, (pool) => pool.run(job))
    expect(outcome.rows).toBe(10)
    expect(whole.ts.length).toBe(10)
    expect(barsOf(whole)).toEqual(before)
  })

  test("a job crosses as two buffers; every day's columns and partial flags arrive as they were sent", async () => {
    const flagged = (batch: ReturnType<typeof dayBars>, flags: ReadonlyArray<number>) => ({
      ...batch,
      partial: Uint8Array.from(flags)
    })
    const job: WriteJob = {
      ...jobFor("AAA"),
      days: [
        {
          day: "2024-03-04",
          batch: flagged(dayBars("AAA", "2024-03-04", 3, 10), [0, 1, 0]),
          provider: "fake",
          feed: "f"
        },
        { day: "2024-03-05", batch: dayBars("AAA", "2024-03-05", 0, 20), provider: "fake", feed: "f" },
        { day: "2024-03-06", batch: flagged(dayBars("AAA", "2024-03-06", 2, 30), [1, 1]), provider: "fake", feed: "f" }
      ]
    }
    const { job: copy, transfer } = transferable(job)
    expect(transfer.length).toBe(2)
    for (const [i, day] of copy.days.entries()) {
      const sent = job.days[i]?.batch
      expect(barsOf(day.batch)).toEqual(barsOf(sent as ReturnType<typeof dayBars>))
      expect(day.batch.partial === undefined ? undefined : [...day.batch.partial]).toEqual(
        sent?.partial === undefined ? undefined : [...sent.partial]
      )
      expect(day.batch.ts.buffer).toBe(transfer[0] as ArrayBuffer)
    }
    const { a: outcome } = await withPool({ size: 1 }, (pool) => pool.run(job))
    expect(outcome.rows).toBe(5)
    const written = await decodeBars(job.symbol, readFileSync(job.temp))
    expect(written.batch.partial === undefined ? undefined : [...written.batch.partial]).toEqual([0, 1, 0, 1, 1])
    expect(written.batch.close[4]).toBe(30)
  })

  test("never more jobs in flight than the bound: callers beyond it wait", async () => {
    const jobs = Array.from({ length: 12 }, (_, i) => jobFor(`S${i}`))
    const { a: outcomes, pool } = await withPool({ size: 2 }, (pool) =>
      Effect.all(
        jobs.map((j) => pool.run(j)),
        { concurrency: "unbounded" }
      )
    )
    expect(outcomes.map((o) => o.rows)).toEqual(Array(12).fill(60))
    const stats = pool.stats()
    expect(stats.bound).toBe(2 * JOBS_PER_WORKER)
    expect(stats.mostInFlight).toBeLessThanOrEqual(stats.bound)
    expect(stats.mostInFlight).toBeGreaterThan(1)
    expect(stats.started).toBe(2)
    expect(stats.inFlight).toBe(0)
  })

  test("a job that fails in a thread is a StorageError naming the file, and the thread carries on", async () => {
    const garbage = jobFor("BAD")
    writeFileSync(garbage.path, "not parquet at all")
    const blocked = jobFor("DIR")
    mkdirSync(join(dir, "file"))
    writeFileSync(join(dir, "file", "x"), "")
    const noDir = { ...blocked, temp: join(dir, "file", "x", "temp") }
    const { a, pool } = await withPool({ size: 1 }, (pool) =>
      Effect.all([Effect.exit(pool.run(garbage)), Effect.exit(pool.run(noDir)), pool.run(jobFor("OK"))])
    )
    const [bad, full] = [failureOf(a[0]), failureOf(a[1])]
    expect(bad).toBeInstanceOf(StorageError)
    expect(bad.path).toBe(garbage.path)
    expect(bad.reason).toMatch(/not a lake file|parquet/iu)
    expect(full.path).toBe(noDir.path)
    expect(full.reason).toMatch(/EEXIST|ENOTDIR/u)
    expect(a[2].rows).toBe(60)
    expect(pool.stats().started).toBe(1)
  })

  for (const how of ["CRASH", "EXIT"]) {
    const death = how === "CRASH" ? "an uncaught error" : "it exits"
    test(`a thread that dies (${death}) fails its job with a StorageError and is replaced`, async () => {
      const { a, pool } = await withPool({ size: 1, workerUrl: writer("crashing") }, (pool) =>
        Effect.gen(function* () {
          const first = yield* pool.run(jobFor("OK1"))
          const died = yield* Effect.exit(pool.run(jobFor(how)))
          const next = yield* pool.run(jobFor("OK2"))
          return { first, died, next }
        })
      )
      const error = failureOf(a.died)
      expect(error.path).toBe(jobFor(how).path)
      expect(error.reason).toMatch(/lake writer thread stopped/u)
      expect(a.first.thread).toStartWith("crashing-writer-")
      expect(a.next.thread).toStartWith("crashing-writer-")
      expect(a.next.thread).not.toBe(a.first.thread)
      expect(a.next.rows).toBe(60)
      expect(pool.stats()).toMatchObject({ started: 2, sameThread: false })
    })
  }

  test("a thread that answers nonsense is replaced, its job failed", async () => {
    const { a, pool } = await withPool({ size: 1, workerUrl: writer("chatty") }, (pool) =>
      Effect.exit(pool.run(jobFor("AAA")))
    )
    expect(failureOf(a).reason).toMatch(/not a write reply/u)
    expect(pool.stats().running).toBe(0)
  })

  test("threads that cannot start: writes run on the main thread, with the same result", async () => {
    const { a, pool } = await withPool({ size: 2, workerUrl: writer("broken") }, (pool) =>
      Effect.all([pool.run(jobFor("AAA")), pool.run(jobFor("BBB")), pool.run(jobFor("CCC"))], {
        concurrency: "unbounded"
      })
    )
    expect(a.map((o) => [o.thread, o.rows])).toEqual([
      ["main", 60],
      ["main", 60],
      ["main", 60]
    ])
    expect(pool.stats().sameThread).toBe(true)
  })

  test("closing the scope stops the threads; a job after that fails instead of waiting", async () => {
    const { pool } = await withPool({ size: 2 }, (pool) => pool.run(jobFor("AAA")))
    expect(pool.stats().running).toBe(0)
    const error = failureOf(await Effect.runPromiseExit(pool.run(jobFor("BBB"))))
    expect(error.reason).toMatch(/shut down/u)
  })

  test("the sink through the pool: days merge, the temp file is gone, an emptied file is removed", async () => {
    const key = { frame: "1m" as const, symbol: "AAPL" as Symbol, period: "2024-03" }
    const slice = (day: string, n: number) => ({
      day,
      batch: dayBars("AAPL", day, n, 10),
      provider: "fake",
      feed: "synthetic"
    })
    const { a } = await withPool({ size: 1 }, (pool) =>
      Effect.gen(function* () {
        const sink = makeParquetSink(dir, pool)
        yield* sink.writeDays(key, [slice("2024-03-04", 3)], {})
        const seen: Array<string> = []
        const second = yield* sink.writeDays(key, [slice("2024-03-05", 2)], {}, (w) =>
          Effect.sync(() => seen.push(...listFiles(dir).filter((f) => f.endsWith(".parquet")), String(w.rows)))
        )
        const merged = yield* sink.readFile(key)
        const emptied = yield* sink.writeDays(key, [slice("2024-03-04", 0), slice("2024-03-05", 0)], {})
        return { seen, second, rows: merged?.batch.ts.length, emptied }
      })
    )
    expect(a.seen).toEqual(["ohlcv/frame=1m/symbol=AAPL/2024-03.parquet", "5"])
    expect(a.second.hashes.size).toBe(1)
    expect(a.rows).toBe(5)
    expect(a.emptied).toMatchObject({ file: "", rows: 0 })
    expect(listFiles(dir).filter((f) => !f.startsWith(".locks/"))).toEqual([])
  })

  test("a thread's answers: the outcome, a StorageError's path and reason, and a defect as a failed reply", async () => {
    const garbage = jobFor("BAD")
    writeFileSync(garbage.path, "not parquet at all")
    const broken = { ...jobFor("DEFECT"), days: undefined as unknown as WriteJob["days"] }
    const [ok, failed, defect] = await Promise.all([
      answer({ id: 1, job: jobFor("OK") }, "t"),
      answer({ id: 2, job: garbage }, "t"),
      answer({ id: 3, job: broken }, "t")
    ])
    expect(ok).toMatchObject({ id: 1, ok: true, outcome: { rows: 60, existed: false, thread: "t" } })
    expect(failed).toMatchObject({ id: 2, ok: false, path: garbage.path })
    expect(defect).toMatchObject({ id: 3, ok: false, path: broken.path })
    expect("reason" in defect && defect.reason).toMatch(/undefined/u)
  })

  test("the pool's size follows the cores, leaving the main thread one: at least one thread, at most four", () => {
    expect([0, 1, 2, 3, 4, 5, 16, Number.NaN].map((n) => poolSize(n))).toEqual([1, 1, 1, 2, 3, 4, 4, 1])
    expect(poolSize()).toBe(Math.min(4, Math.max(1, navigator.hardwareConcurrency - 1)))
  })
})

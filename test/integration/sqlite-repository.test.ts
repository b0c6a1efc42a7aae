import { afterAll, describe, expect, test } from "bun:test"
import { join } from "node:path"
import { Effect, ManagedRuntime } from "effect"
import { TestClock } from "effect/testing"
import { JobRepository } from "../../src/repository/job-repository.ts"
import { sqliteLayer } from "../../src/repository/layer.ts"
import { removeDir, tempDir } from "../support/temp.ts"

const dir = tempDir()
const runtime = ManagedRuntime.make(sqliteLayer(join(dir, "nested", "mp.db")))
afterAll(async () => {
  await runtime.dispose()
  removeDir(dir)
})
const run = <A, E>(eff: Effect.Effect<A, E, JobRepository>) =>
  runtime.runPromise(
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.parse("2024-03-11T12:00:00Z"))
      return yield* eff
    }).pipe(Effect.provide(TestClock.layer()))
  )

const spec = {
  kind: "ingest" as const,
  provider: "fake",
  feed: "synthetic",
  frame: "1m",
  session: "regular" as const,
  symbols: ["AAPL", "MSFT"],
  startDay: "2024-03-07",
  endDay: "2024-03-08"
}
const parts = ["AAPL", "MSFT"].flatMap((symbol) =>
  ["2024-03-07", "2024-03-08"].map((day) => ({ frame: "1m", symbol, day }))
)

describe("SQLite JobRepository", () => {
  test("a job records partitions, ledger rows and totals; time comes from the injected clock", async () => {
    const result = await run(
      Effect.gen(function* () {
        const repo = yield* JobRepository
        const job = yield* repo.createJob(spec, parts)
        yield* repo.markRunning(job.id, parts)
        yield* repo.recordDone(job.id, { provider: "fake", feed: "synthetic", session: "regular" }, [
          {
            ...(parts[0] as (typeof parts)[0]),
            rows: 390,
            rejected: 0,
            expected: 390,
            status: "complete",
            hash: "h1",
            file: "f"
          },
          {
            ...(parts[1] as (typeof parts)[0]),
            rows: 0,
            rejected: 0,
            expected: 390,
            status: "empty",
            hash: "h0",
            file: ""
          }
        ])
        yield* repo.recordFailed(
          job.id,
          { provider: "fake", feed: "synthetic", session: "regular" },
          parts.slice(2),
          "provider fake: boom"
        )
        const finished = yield* repo.finishJob(job.id, {
          partitionsDone: 2,
          partitionsFailed: 2,
          barsWritten: 390,
          barsRejected: 0
        })
        return {
          finished,
          partitions: yield* repo.partitions(job.id),
          coverage: yield* repo.coverage({ frame: "1m", symbols: ["AAPL"], from: "2024-03-01", to: "2024-03-31" }),
          listed: yield* repo.listJobs(10),
          missing: yield* repo.getJob(999)
        }
      })
    )
    expect(result.finished).toMatchObject({
      state: "partial",
      partitionsTotal: 4,
      partitionsDone: 2,
      partitionsFailed: 2,
      createdAt: "2024-03-11T12:00:00.000Z"
    })
    expect(result.finished.symbols).toEqual(["AAPL", "MSFT"])
    expect(result.partitions.map((p) => `${p.symbol} ${p.day} ${p.state} ${p.attempts}`)).toEqual([
      "AAPL 2024-03-07 done 1",
      "AAPL 2024-03-08 done 1",
      "MSFT 2024-03-07 failed 1",
      "MSFT 2024-03-08 failed 1"
    ])
    expect(result.partitions[2]?.error).toBe("provider fake: boom")
    expect(result.coverage.map((c) => `${c.day} ${c.status} ${c.observed}/${c.expected}`)).toEqual([
      "2024-03-07 complete 390/390",
      "2024-03-08 empty 0/390"
    ])
    expect(result.listed[0]?.id).toBe(result.finished.id)
    expect(result.missing).toBeUndefined()
  })

  test("the ledger keeps one row per (frame, symbol, day): a later job replaces it", async () => {
    const coverage = await run(
      Effect.gen(function* () {
        const repo = yield* JobRepository
        const job = yield* repo.createJob(spec, parts.slice(0, 1))
        yield* repo.recordDone(job.id, { provider: "fake", feed: "synthetic", session: "regular" }, [
          {
            ...(parts[0] as (typeof parts)[0]),
            rows: 380,
            rejected: 2,
            expected: 390,
            status: "partial",
            hash: "h2",
            file: "f"
          }
        ])
        return yield* repo.coverage({ frame: "1m", symbols: [], from: "2024-03-07", to: "2024-03-07" })
      })
    )
    // MSFT's day failed in the first job: the ledger says missing, with the reason.
    expect(coverage.map((c) => `${c.symbol} ${c.status} ${c.observed} ${c.hash} ${c.error}`)).toEqual([
      "AAPL partial 380 h2 null",
      "MSFT missing 0 null provider fake: boom"
    ])
  })

  test("a database path that cannot be created is a RepositoryError naming it", async () => {
    const exit = await Effect.runPromiseExit(
      Effect.provide(
        JobRepository.use((r) => r.listJobs(1)),
        sqliteLayer("/proc/nope/mp.db")
      )
    )
    expect(exit._tag).toBe("Failure")
    expect(String(exit._tag === "Failure" ? exit.cause : "")).toMatch(/\/proc\/nope\/mp\.db/)
  })
})

import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { join } from "node:path"
import { Effect, type Layer, ManagedRuntime } from "effect"
import { TestClock } from "effect/testing"
import type { RepositoryError } from "../../src/domain/errors.ts"
import { JobRepository } from "../../src/repository/job-repository.ts"
import { postgresLayer, sqliteLayer } from "../../src/repository/layer.ts"
import { startPostgres, type TestPostgres } from "../support/postgres.ts"
import { removeDir, tempDir } from "../support/temp.ts"

// One suite, two backends: SQLite on a temp file, PostgreSQL started by the harness (or DATABASE_URL).
const dir = tempDir()
let postgres: TestPostgres | undefined
const backends: Array<[string, () => Promise<Layer.Layer<JobRepository, RepositoryError>>]> = [
  ["SQLite", async () => sqliteLayer(join(dir, "nested", "mp.db"))],
  ["PostgreSQL", async () => postgresLayer(await (postgres as TestPostgres).newDatabase())]
]
beforeAll(async () => {
  postgres = await startPostgres()
}, 60_000)
afterAll(() => {
  postgres?.stop()
  removeDir(dir)
})

for (const [backend, makeLayer] of backends) {
  describe(`${backend} JobRepository`, () => {
    let runtime: ManagedRuntime.ManagedRuntime<JobRepository, RepositoryError>
    beforeAll(async () => {
      runtime = ManagedRuntime.make(await makeLayer())
    })
    afterAll(() => runtime.dispose())
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
              contentHash: "h1",
              file: "f"
            },
            {
              ...(parts[1] as (typeof parts)[0]),
              rows: 0,
              rejected: 0,
              expected: 390,
              status: "empty",
              hash: "h0",
              contentHash: "h0",
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
              contentHash: "h2",
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

    test("stale jobs are abandoned; validation runs round-trip with their totals", async () => {
      const r = await run(
        Effect.gen(function* () {
          const repo = yield* JobRepository
          const dead = yield* repo.createJob({ ...spec, owner: "gone:1" }, parts.slice(0, 1))
          yield* repo.markRunning(dead.id, parts.slice(0, 1))
          const live = yield* repo.createJob({ ...spec, owner: "here:2" }, [])
          const abandoned = yield* repo.abandonStale((owner) => owner === "here:2")
          yield* repo.recordValidation({
            jobId: live.id,
            kind: "ingest",
            reportCsv: "/r.csv",
            reportJson: "/r.json",
            findings: 3,
            errors: 2,
            warnings: 1,
            totals: [
              { rule: "ohlc_consistency", severity: "error", count: 2 },
              { rule: "price_jump", severity: "warning", count: 1 }
            ]
          })
          return {
            abandoned,
            dead: yield* repo.getJob(dead.id),
            partitions: yield* repo.partitions(dead.id),
            validation: yield* repo.getValidation(live.id),
            listed: yield* repo.listValidations(5),
            none: yield* repo.getValidation(987)
          }
        })
      )
      expect(r.abandoned).toEqual([r.dead?.id as number])
      expect(r.dead).toMatchObject({ state: "abandoned", owner: "gone:1" })
      expect(r.partitions.map((p) => p.state)).toEqual(["failed"])
      expect(r.validation).toMatchObject({
        errors: 2,
        warnings: 1,
        totals: [
          { rule: "ohlc_consistency", count: 2 },
          { rule: "price_jump", count: 1 }
        ]
      })
      expect(r.listed.map((v) => v.jobId)).toContain(r.validation?.jobId as number)
      expect(r.none).toBeUndefined()
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
}

test("an unreachable PostgreSQL is a RepositoryError that never shows the password", async () => {
  const exit = await Effect.runPromiseExit(
    Effect.provide(
      JobRepository.use((r) => r.listJobs(1)),
      postgresLayer("postgres://mp:s3cret-pw@127.0.0.1:1/nowhere")
    )
  )
  const text = String(exit._tag === "Failure" ? exit.cause : "")
  expect(text).toMatch(/PostgreSQL at postgres:\/\/mp:\*\*\*@127\.0\.0\.1:1\/nowhere/)
  expect(text.includes("s3cret-pw")).toBe(false)
}, 30_000)

import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { join } from "node:path"
import { Effect, ManagedRuntime, Schema } from "effect"
import { TestClock } from "effect/testing"
import { TradingDay } from "../../src/domain/calendar.ts"
import type { RepositoryError } from "../../src/domain/errors.ts"
import { Symbol } from "../../src/domain/symbol.ts"
import { Jobs } from "../../src/repository/jobs.ts"
import { postgresLayer, type Repository, sqliteLayer } from "../../src/repository/layer.ts"
import { Ledger } from "../../src/repository/ledger.ts"
import { SymbolSnapshots } from "../../src/repository/symbol-snapshots.ts"
import { Universes } from "../../src/repository/universes.ts"
import { ValidationRuns } from "../../src/repository/validation-runs.ts"
import { WorkQueue } from "../../src/repository/work-queue.ts"
import { useBackends } from "../support/backends.ts"
import { removeDir, tempDir } from "../support/temp.ts"

// One suite, two backends: SQLite on a temp file, PostgreSQL started by the harness (or DATABASE_URL).
const dir = tempDir()
const backends = useBackends(dir, join("nested", "mp.db"))
afterAll(() => removeDir(dir))

for (const [backend, makeLayer] of backends) {
  describe(`${backend} repository`, () => {
    let runtime: ManagedRuntime.ManagedRuntime<Repository, RepositoryError>
    beforeAll(async () => {
      runtime = ManagedRuntime.make(await makeLayer())
    })
    afterAll(() => runtime.dispose())
    const run = <A, E>(eff: Effect.Effect<A, E, Repository>) =>
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

    test("symbol snapshots: one per source and date, replaced whole, read up to a date", async () => {
      const got = await run(
        Effect.gen(function* () {
          const snapshots = yield* SymbolSnapshots
          yield* snapshots.record("nasdaqtrader", "2024-01-02", [
            { symbol: "AAPL" as Symbol, type: "CS" },
            { symbol: "GONE" as Symbol }
          ])
          yield* snapshots.record("nasdaqtrader", "2024-03-11", [{ symbol: "AAPL" as Symbol, name: "Apple" }])
          yield* snapshots.record("nasdaqtrader", "2024-03-11", [{ symbol: "AAPL" as Symbol, name: "Apple Inc." }])
          return {
            early: yield* snapshots.newestUpTo("2024-02-01"),
            all: yield* snapshots.newestUpTo("2024-12-31"),
            list: yield* snapshots.list()
          }
        })
      )
      expect(got.early.map((r) => `${r.asOf} ${r.meta.symbol}`)).toEqual(["2024-01-02 AAPL", "2024-01-02 GONE"])
      expect(got.all.at(-1)?.meta).toEqual({ symbol: "AAPL" as Symbol, name: "Apple Inc." })
      expect(got.list).toEqual([
        { source: "nasdaqtrader", asOf: "2024-03-11", symbols: 1 },
        { source: "nasdaqtrader", asOf: "2024-01-02", symbols: 2 }
      ])
    })

    test("a universe is saved whole, read back field for field in its order, and replaced whole", async () => {
      const members = [
        {
          symbol: "MSFT" as Symbol,
          name: 'Microsoft, Inc. "MSFT"',
          exchange: "XNAS",
          type: "CS" as const,
          sector: "Technology",
          marketCap: 3.1e12,
          avgVolume: 20_000_000.5,
          active: true,
          listDate: "1986-03-13",
          sources: { marketCap: "polygon", sector: "finnhub" }
        },
        { symbol: "AAPL" as Symbol },
        { symbol: "GONE" as Symbol, active: false, delistDate: "2019-06-28", asOf: "2019-06-01" }
      ]
      const got = await run(
        Effect.gen(function* () {
          const universes = yield* Universes
          const saved = yield* universes.save({ name: "tech", source: "import t.csv", asOf: "2024-03-08", members })
          const read = yield* universes.get("tech")
          yield* universes.save({ name: "tech", source: "import t2.csv", members: [{ symbol: "SPY" as Symbol }] })
          yield* universes.save({ name: "etfs", source: "filters f.yml", filters: { type: ["ETF"] }, members: [] })
          return {
            saved,
            read,
            replaced: yield* universes.get("tech"),
            list: yield* universes.list(),
            none: yield* universes.get("x")
          }
        })
      )
      expect(got.saved).toEqual({
        name: "tech",
        source: "import t.csv",
        asOf: "2024-03-08",
        createdAt: "2024-03-11T12:00:00.000Z",
        members: 3
      })
      expect(got.read?.memberList).toEqual(members)
      expect(got.read?.filters).toBeUndefined()
      expect(got.replaced?.memberList).toEqual([{ symbol: "SPY" as Symbol }])
      expect(got.list.map((u) => [u.name, u.members, u.source])).toEqual([
        ["etfs", 0, "filters f.yml"],
        ["tech", 1, "import t2.csv"]
      ])
      expect(got.none).toBeUndefined()
    })

    test("a job records partitions, ledger rows and totals; time comes from the injected clock", async () => {
      const result = await run(
        Effect.gen(function* () {
          const repo = yield* Jobs
          const ledger = yield* Ledger
          const job = yield* repo.create(spec, parts)
          yield* repo.markRunning(job.id, parts)
          yield* ledger.recordDone(job.id, { provider: "fake", feed: "synthetic", session: "regular" }, [
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
          yield* ledger.recordFailed(
            job.id,
            { provider: "fake", feed: "synthetic", session: "regular" },
            parts.slice(2),
            "provider fake: boom"
          )
          const finished = yield* repo.finish(job.id, {
            partitionsDone: 2,
            partitionsFailed: 2,
            barsWritten: 390,
            barsRejected: 0
          })
          return {
            finished,
            partitions: yield* repo.partitions(job.id),
            coverage: yield* ledger.coverage({ frame: "1m", symbols: ["AAPL"], from: "2024-03-01", to: "2024-03-31" }),
            listed: yield* repo.list(10),
            missing: yield* repo.get(999)
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
      expect(result.finished.symbols.join(",")).toBe("AAPL,MSFT")
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
          const repo = yield* Jobs
          const ledger = yield* Ledger
          const job = yield* repo.create(spec, parts.slice(0, 1))
          yield* ledger.recordDone(job.id, { provider: "fake", feed: "synthetic", session: "regular" }, [
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
          return yield* ledger.coverage({ frame: "1m", symbols: [], from: "2024-03-07", to: "2024-03-07" })
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
          const repo = yield* Jobs
          const reports = yield* ValidationRuns
          const dead = yield* repo.create({ ...spec, owner: "gone:1" }, parts.slice(0, 1))
          yield* repo.markRunning(dead.id, parts.slice(0, 1))
          const live = yield* repo.create({ ...spec, owner: "here:2" }, [])
          const abandoned = yield* repo.abandonStale((owner) => owner === "here:2")
          yield* reports.record({
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
            dead: yield* repo.get(dead.id),
            partitions: yield* repo.partitions(dead.id),
            validation: yield* reports.get(live.id),
            listed: yield* reports.list(5),
            none: yield* reports.get(987)
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

    const days = Array.from({ length: 250 }, (_, i) => new Date(Date.UTC(2023, 0, 1 + i)).toISOString().slice(0, 10))
    // 1,250 partitions: more than two multi-row statements' worth (500 rows each).
    const refs = ["B1", "B2", "B3", "B4", "B5"].flatMap((symbol) => days.map((day) => ({ frame: "5m", symbol, day })))
    const [doneRefs, failedRefs] = [refs.slice(0, 1200), refs.slice(1200)]

    test("a thousand partitions are recorded done, failed and withdrawn in a few statements, each row right", async () => {
      const r = await run(
        Effect.gen(function* () {
          const jobs = yield* Jobs
          const ledger = yield* Ledger
          const job = yield* jobs.create({ ...spec, frame: "5m", symbols: ["B1", "B2", "B3", "B4", "B5"] }, refs)
          yield* jobs.markRunning(job.id, refs)
          yield* ledger.recordDone(
            job.id,
            { provider: "fake", feed: "synthetic", session: "regular" },
            doneRefs.map((ref, i) => ({
              ...ref,
              rows: i % 78,
              rejected: i % 3,
              expected: 78,
              status: "partial",
              hash: `h${i}`,
              contentHash: `c${i}`,
              file: `f${i}`
            }))
          )
          yield* ledger.recordFailed(
            job.id,
            { provider: "fake", feed: "synthetic", session: "regular" },
            failedRefs,
            "provider fake: boom"
          )
          yield* ledger.markMissing(doneRefs.slice(0, 600), "ledger verify: file missing; refetch")
          return {
            partitions: yield* jobs.partitions(job.id),
            coverage: yield* ledger.coverage({ frame: "5m", symbols: [], from: "2023-01-01", to: "2023-12-31" })
          }
        })
      )
      const at = new Map(r.partitions.map((p) => [`${p.symbol} ${p.day}`, p]))
      const doneRef = (i: number) => doneRefs[i] as { symbol: string; day: string }
      expect(r.partitions).toHaveLength(1250)
      expect(r.partitions.every((p) => p.attempts === 1)).toBe(true)
      // Spot checks at both ends and across the 500-row boundaries.
      for (const i of [0, 499, 500, 1000, 1199]) {
        const p = at.get(`${doneRef(i).symbol} ${doneRef(i).day}`)
        expect(p).toMatchObject({ state: "done", rows: i % 78, rejected: i % 3, hash: `h${i}`, error: null })
      }
      expect(r.partitions.filter((p) => p.state === "failed").map((p) => p.error)).toEqual(
        Array.from({ length: 50 }, () => "provider fake: boom")
      )
      const byStatus = (status: string) => r.coverage.filter((c) => c.status === status).length
      expect([byStatus("missing"), byStatus("partial")]).toEqual([650, 600])
      const kept = r.coverage.find((c) => c.symbol === doneRef(1199).symbol && c.day === doneRef(1199).day)
      expect(kept).toMatchObject({ observed: 1199 % 78, hash: "h1199", contentHash: "c1199", file: "f1199" })
      const withdrawn = r.coverage.find((c) => c.symbol === doneRef(0).symbol && c.day === doneRef(0).day)
      expect(withdrawn).toMatchObject({ observed: 0, file: null, error: "ledger verify: file missing; refetch" })
    })

    test("queued units are claimed once each, renewed by their holder only, and counted by state", async () => {
      const r = await run(
        Effect.gen(function* () {
          const jobs = yield* Jobs
          const queue = yield* WorkQueue
          const job = yield* jobs.create(spec, parts)
          const unit = (symbol: string) => ({
            symbols: [Schema.decodeSync(Symbol)(symbol)],
            frame: "1m" as const,
            period: "2024-03",
            days: ["2024-03-07", "2024-03-08"].map((d) => Schema.decodeSync(TradingDay)(d)),
            start: 1,
            end: 2,
            expectedBars: 780
          })
          yield* queue.enqueue(job.id, [unit("AAPL"), unit("MSFT")])
          const first = yield* queue.claim("w1", 60_000)
          const second = yield* queue.claim("w2", 60_000)
          const none = yield* queue.claim("w3", 60_000)
          const stolen = yield* queue.renew(first?.id as number, "w2", 60_000)
          yield* queue.finish(first?.id as number, "w1", "done")
          yield* queue.finish(second?.id as number, "w2", "failed", "provider fake: boom")
          return {
            first,
            second,
            none,
            stolen,
            status: yield* queue.status(job.id),
            drained: yield* queue.drainedJobs()
          }
        })
      )
      expect(r.first).toMatchObject({ symbols: ["AAPL"], frame: "1m", days: ["2024-03-07", "2024-03-08"], attempts: 1 })
      expect(r.second?.symbols.join(",")).toBe("MSFT")
      expect(r.none).toBeUndefined()
      expect(r.stolen).toBe(false)
      expect(r.status).toEqual({ pending: 0, running: 0, expired: 0, done: 1, failed: 1 })
      expect(r.drained).toContain(r.first?.jobId as number)
    })

    test("a stored row that does not decode is a RepositoryError naming the database and the field", async () => {
      const failure = await run(
        Jobs.use((jobs) => Effect.flip(jobs.create({ ...spec, symbols: ["not a ticker"] }, [])))
      )
      expect(failure.message).toMatch(
        /^repository: (SQLite database|PostgreSQL at) .*: a stored row does not decode: .*symbols/su
      )
    })

    test("a database path that cannot be created is a RepositoryError naming it", async () => {
      const exit = await Effect.runPromiseExit(
        Effect.provide(
          Jobs.use((r) => r.list(1)),
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
      Jobs.use((r) => r.list(1)),
      postgresLayer("postgres://mp:s3cret-pw@127.0.0.1:1/nowhere")
    )
  )
  const text = String(exit._tag === "Failure" ? exit.cause : "")
  expect(text).toMatch(/PostgreSQL at postgres:\/\/mp:\*\*\*@127\.0\.0\.1:1\/nowhere/)
  expect(text.includes("s3cret-pw")).toBe(false)
}, 30_000)

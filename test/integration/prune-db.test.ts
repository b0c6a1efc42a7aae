import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { Effect, ManagedRuntime } from "effect"
import { TestClock } from "effect/testing"
import type { TradingDay } from "../../src/domain/calendar.ts"
import type { RepositoryError } from "../../src/domain/errors.ts"
import type { Symbol } from "../../src/domain/symbol.ts"
import { pruneHistory } from "../../src/pipeline/prune.ts"
import { Jobs } from "../../src/repository/jobs.ts"
import type { Repository } from "../../src/repository/layer.ts"
import { Ledger } from "../../src/repository/ledger.ts"
import { MetricHistory } from "../../src/repository/metric-history.ts"
import { WorkQueue } from "../../src/repository/work-queue.ts"
import { useBackends } from "../support/backends.ts"
import { removeDir, tempDir } from "../support/temp.ts"

const dir = tempDir("mp-prune-db-")
const backends = useBackends(dir)
afterAll(() => removeDir(dir))

const spec = (symbol: string) => ({
  kind: "ingest" as const,
  provider: "fake",
  feed: "synthetic",
  frame: "1m",
  session: "regular" as const,
  symbols: [symbol],
  startDay: "2024-01-02",
  endDay: "2024-01-02"
})
const totals = { partitionsDone: 1, partitionsFailed: 0, barsWritten: 390, barsRejected: 0 }
const source = { provider: "fake", feed: "synthetic", session: "regular" as const }

for (const [backend, makeLayer] of backends) {
  describe(`prune db on ${backend}`, () => {
    let runtime: ManagedRuntime.ManagedRuntime<Repository, RepositoryError>
    beforeAll(async () => {
      runtime = ManagedRuntime.make(await makeLayer())
    })
    afterAll(() => runtime.dispose())
    /** Runs at an injected instant: what "old" means never depends on today. */
    const at = <A, E>(iso: string, eff: Effect.Effect<A, E, Repository>) =>
      runtime.runPromise(
        Effect.gen(function* () {
          yield* TestClock.setTime(Date.parse(iso))
          return yield* eff
        }).pipe(Effect.provide(TestClock.layer()))
      )

    /** A job of `symbol` that ran and finished at `iso`, with a partition, a ledger row and metric samples. */
    const finishedJob = (symbol: string, iso: string) =>
      at(
        iso,
        Effect.gen(function* () {
          const [jobs, ledger] = [yield* Jobs, yield* Ledger]
          const part = { frame: "1m", symbol, day: "2024-01-02" }
          const job = yield* jobs.create(spec(symbol), [part])
          yield* jobs.markRunning(job.id, [part])
          yield* ledger.recordDone(job.id, source, [
            {
              ...part,
              rows: 390,
              rejected: 0,
              expected: 390,
              status: "complete",
              hash: "h",
              contentHash: "h",
              file: "f"
            }
          ])
          yield* jobs.finish(job.id, totals)
          yield* MetricHistory.use((m) =>
            m.record(`run-${symbol}`, [
              { name: "marketpipe_bars_ingested_total", labels: { provider: "fake" }, value: 390 }
            ])
          )
          return job.id
        })
      )

    test("drops finished jobs, partitions, work units and samples before the cutoff; running jobs and the ledger stay", async () => {
      const old = await finishedJob("OLD", "2024-01-02T21:00:00Z")
      const recent = await finishedJob("NEW", "2024-06-03T21:00:00Z")
      // A job started long ago that is still running, with work queued for workers: never history.
      const running = await at(
        "2024-01-03T12:00:00Z",
        Effect.gen(function* () {
          const job = yield* Jobs.use((j) => j.create(spec("RUN"), []))
          yield* WorkQueue.use((q) =>
            q.enqueue(job.id, [
              {
                symbols: ["RUN" as Symbol],
                frame: "1m",
                period: "2024-01",
                days: ["2024-01-02" as TradingDay],
                start: 0,
                end: 1,
                expectedBars: 390
              }
            ])
          )
          return job.id
        })
      )
      const cutoff = "2024-03-01"
      const dry = await at("2024-09-01T00:00:00Z", pruneHistory(cutoff, true))
      expect(dry).toEqual({ jobs: 1, partitions: 1, validationRuns: 0, workUnits: 0, metricSamples: 1 })
      // The dry run removed nothing: the real run finds the same rows.
      const real = await at("2024-09-01T00:00:00Z", pruneHistory(cutoff, false))
      expect(real).toEqual(dry)
      const left = await at(
        "2024-09-01T00:00:00Z",
        Effect.gen(function* () {
          const jobs = yield* Jobs
          return {
            old: yield* jobs.get(old),
            recent: (yield* jobs.get(recent))?.state,
            running: (yield* jobs.get(running))?.state,
            runningUnits: (yield* WorkQueue.use((q) => q.status(running))).pending,
            ledger: (yield* Ledger.use((l) =>
              l.coverage({ frame: "1m", symbols: ["OLD", "NEW"], from: "2024-01-01", to: "2024-12-31" })
            )).map((r) => String(r.symbol)),
            samples: (yield* MetricHistory.use((m) => m.totals({ name: "marketpipe_bars_ingested_total" }))).map(
              (t) => t.value
            )
          }
        })
      )
      expect(left).toEqual({
        old: undefined,
        recent: "succeeded",
        running: "running",
        runningUnits: 1,
        ledger: ["NEW", "OLD"],
        samples: [390]
      })
      expect(await at("2024-09-01T00:00:00Z", pruneHistory(cutoff, false))).toEqual({
        jobs: 0,
        partitions: 0,
        validationRuns: 0,
        workUnits: 0,
        metricSamples: 0
      })
    })
  })
}

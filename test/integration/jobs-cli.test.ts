/**
 * `marketpipe jobs list|show|cancel|fail|retry|cleanup` on SQLite and on PostgreSQL, run in this process through
 * `runMain` as a user would (Postgres through `DATABASE_URL`). Runs that must be caught inside a unit are held at
 * the gated provider's gate (`test/support/gated-plugin.ts`), never by sleeping; ages count from an injected clock.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test"
import { spawnSync } from "node:child_process"
import { existsSync, writeFileSync } from "node:fs"
import { hostname } from "node:os"
import { join, resolve } from "node:path"
import { Effect, Option } from "effect"
import { TestClock } from "effect/testing"
import { jobsCleanupMain } from "../../src/cli/commands/jobs.ts"
import { exitCodeOf, runMain } from "../../src/cli/main.ts"
import { Jobs } from "../../src/repository/jobs.ts"
import { type Repository, repositoryLayer } from "../../src/repository/layer.ts"
import { Ledger } from "../../src/repository/ledger.ts"
import type { JobKind, PartitionRef } from "../../src/repository/model.ts"
import { ValidationRuns } from "../../src/repository/validation-runs.ts"
import { WorkQueue } from "../../src/repository/work-queue.ts"
import { capture } from "../support/capture.ts"
import { gate } from "../support/gated-plugin.ts"
import { startPostgres, type TestPostgres } from "../support/postgres.ts"
import { useTempDirs } from "../support/temp.ts"

const fresh = useTempDirs("mp-jobs-cli-")
const givenDatabaseUrl = process.env.DATABASE_URL
let postgres: TestPostgres | undefined
beforeAll(async () => {
  postgres = await startPostgres()
}, 60_000)
afterAll(() => postgres?.stop())

const gatedPlugin = resolve(import.meta.dir, "../support/gated-plugin.ts")
const source = { provider: "fake", feed: "synthetic", session: "regular" as const }
const march = ["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08"]
const refs = (symbol: string, days: ReadonlyArray<string> = march): Array<PartitionRef> =>
  days.map((day) => ({ frame: "1m", symbol, day }))
const complete = (ref: PartitionRef) => ({
  ...ref,
  rows: 390,
  rejected: 0,
  expected: 390,
  status: "complete" as const,
  hash: "h",
  contentHash: "h",
  file: "f"
})
const spec = (symbol: string, owner?: string, kind: JobKind = "backfill") => ({
  kind,
  provider: "fake",
  feed: "synthetic",
  frame: "1m",
  session: "regular" as const,
  symbols: [symbol],
  startDay: "2024-03-04",
  endDay: "2024-03-08",
  ...(owner === undefined ? {} : { owner })
})
/** A process of this host that has exited: its pid names nobody. */
const deadOwner = () => `${hostname()}:${spawnSync("true").pid}`

const backends: Array<[string, () => Promise<string | undefined>]> = [
  ["SQLite", async () => undefined],
  ["PostgreSQL", async () => (postgres as TestPostgres).newDatabase()]
]

for (const [backend, newDatabase] of backends) {
  describe(`jobs commands on ${backend}`, () => {
    let dir = ""
    let databaseUrl = ""
    beforeEach(async () => {
      dir = fresh()
      const url = await newDatabase()
      if (url === undefined) delete process.env.DATABASE_URL
      else process.env.DATABASE_URL = url
      databaseUrl = url ?? `sqlite:${join(dir, "data", "marketpipe.db")}`
      gate.close()
    })
    afterEach(() => {
      gate.release()
      if (givenDatabaseUrl === undefined) delete process.env.DATABASE_URL
      else process.env.DATABASE_URL = givenDatabaseUrl
    })

    const data = () => join(dir, "data")
    /** `marketpipe …` in this process on the test's data dir: exit code, stdout and the error lines printed. */
    const cli = async (...argv: Array<string>) => {
      const printed: Array<string> = []
      const { value, stdout, stderr } = await capture(() =>
        runMain([...argv, "--data-dir", data()], process.env, (line) => printed.push(line))
      )
      return { code: value, stdout, stderr, errors: printed.join("\n") }
    }
    const json = async (...argv: Array<string>) => {
      const r = await cli(...argv, "--json")
      expect([argv.join(" "), r.code, r.errors]).toEqual([argv.join(" "), 0, ""])
      return JSON.parse(r.stdout)
    }
    const config = (name: string, text: string) => {
      const path = join(dir, name)
      writeFileSync(path, text)
      return path
    }
    const gatedConfig = () => config("gated.yaml", `config_version: 1\nplugins: [${JSON.stringify(gatedPlugin)}]\n`)
    /** Repository work beside the CLI, on the same database, at an injected instant when given. */
    const repo = <A, E>(eff: Effect.Effect<A, E, Repository>, iso?: string) =>
      Effect.runPromise(
        (iso === undefined
          ? eff
          : Effect.gen(function* () {
              yield* TestClock.setTime(Date.parse(iso))
              return yield* eff
            }).pipe(Effect.provide(TestClock.layer()))
        ).pipe(Effect.provide(repositoryLayer(databaseUrl)))
      )
    const ledgerDays = (symbols: ReadonlyArray<string>, from: string, to: string) =>
      repo(Ledger.use((l) => l.coverage({ frame: "1m", symbols, from, to }))).then((rows) =>
        rows.map((r) => `${r.symbol} ${r.day} ${r.status}`)
      )

    test("cancel of a queued job: no worker claims its units; the unit claimed before finishes with its ledger rows", async () => {
      const cfg = gatedConfig()
      const queued = await json(
        ...["ohlcv", "backfill", "--config", cfg, "--provider", "gated", "--symbols", "AAPL"],
        ...["--from", "2024-01-01", "--to", "2024-03-31", "--enqueue"]
      )
      expect(queued).toMatchObject({ queued: true, units: 3, plan: { partitions: 61 } })
      const id = String(queued.job.id)
      // A worker claims January's unit and is held inside it.
      const working = cli("worker", "--config", cfg, "--poll-seconds", "1", "--json")
      await gate.reached
      const cancelled = await json("jobs", "cancel", id, "--config", cfg)
      expect(cancelled).toMatchObject({ stops: "after-running-units", unitsCancelled: 2, unitsRunning: 1 })
      expect(cancelled.job.cancelRequestedAt).toEqual(expect.any(String))
      const listed = await cli("jobs", "list", "--config", cfg)
      expect(listed.stdout).toMatch(new RegExp(`^${id}\\s+backfill\\s+running \\(cancelling\\)`, "mu"))
      gate.release()
      const worker = await working
      expect(worker.code).toBe(0)
      expect(JSON.parse(worker.stdout)).toEqual({ units: 1, failedUnits: 0 })
      // Nothing of it is left for a worker: the next one exits at once.
      const next = await cli("worker", "--config", cfg, "--poll-seconds", "1", "--json")
      expect(JSON.parse(next.stdout)).toEqual({ units: 0, failedUnits: 0 })
      expect(gate.requests).toBe(1)
      const shown = await json("jobs", "show", id, "--config", cfg)
      expect(shown.job).toMatchObject({ state: "cancelled", partitionsDone: 21, partitionsFailed: 0 })
      expect(shown.queue).toEqual({ pending: 0, running: 0, expired: 0, done: 1, failed: 2 })
      const text = await cli("jobs", "show", id, "--config", cfg)
      expect(text.stdout).toMatch(/21 done, 0 failed, 40 not run of 61/u)
      expect(text.stdout).toMatch(/queue: 0 pending, 0 running, 0 lease expired, 1 done, 2 failed/u)
      const ledger = await ledgerDays(["AAPL"], "2024-01-01", "2024-03-31")
      expect(ledger.length).toBe(21)
      expect(ledger.every((l) => /^AAPL 2024-01-\d\d complete$/u.test(l))).toBe(true)
      const again = await cli("jobs", "cancel", id, "--config", cfg)
      expect(again.code).toBe(2)
      expect(again.errors).toMatch(`ID: job ${id} already finished (cancelled)`)
      // Retried through the queue: only what the cancel left unrun.
      const retry = await json("jobs", "retry", id, "--config", cfg, "--enqueue")
      expect(retry).toMatchObject({ queued: true, retried: Number(id), units: 2, plan: { partitions: 40 } })
      expect(JSON.parse((await cli("worker", "--config", cfg, "--json")).stdout)).toEqual({ units: 2, failedUnits: 0 })
      expect((await ledgerDays(["AAPL"], "2024-01-01", "2024-03-31")).length).toBe(61)
    })

    test("cancel of a running local job: it stops at the next unit boundary and ends cancelled with only its first unit done", async () => {
      const cfg = gatedConfig()
      const running = cli(
        ...["ohlcv", "backfill", "--config", cfg, "--provider", "gated", "--symbols", "AAPL"],
        ...["--from", "2024-01-01", "--to", "2024-03-31", "--concurrency", "1"]
      )
      await gate.reached
      const [job] = await json("jobs", "list", "--state", "running", "--config", cfg)
      expect(job).toMatchObject({ owner: `${hostname()}:${process.pid}`, ownerGone: false })
      const cancel = await cli("jobs", "cancel", String(job.id), "--config", cfg)
      expect(cancel.stdout).toBe(
        `job ${job.id}: cancel requested; pid ${process.pid} stops it after the unit(s) in flight\n`
      )
      gate.release()
      const run = await running
      expect([run.code, run.errors]).toEqual([0, ""])
      expect(run.stdout).toMatch(`job ${job.id} cancelled: backfill gated/synthetic 1m 1 symbol(s)`)
      expect(run.stdout).toMatch(
        `cancelled (jobs cancel): 40 partition(s) not run; \`marketpipe jobs retry ${job.id}\` runs them`
      )
      expect((await json("jobs", "show", String(job.id), "--config", cfg)).job).toMatchObject({
        state: "cancelled",
        partitionsDone: 21,
        partitionsTotal: 61
      })
      expect(gate.requests).toBe(1)
      const ledger = await ledgerDays(["AAPL"], "2024-01-01", "2024-03-31")
      expect(ledger.length).toBe(21)
      expect(ledger.every((l) => l.startsWith("AAPL 2024-01-"))).toBe(true)
      const parts = await repo(Jobs.use((j) => j.partitions(job.id)))
      expect(parts.filter((p) => p.state === "done").length).toBe(21)
      expect(parts.filter((p) => p.state === "pending").length).toBe(40)
      // What the cancel left unrun is what a retry runs, here and now.
      const retry = await cli("jobs", "retry", String(job.id), "--config", cfg)
      expect(retry.code).toBe(0)
      expect(retry.stdout).toMatch(/succeeded: backfill gated\/synthetic 1m 1 symbol\(s\) 2024-02-01\.\.2024-03-28/u)
      expect(retry.stdout).toMatch(/partitions: 40 done, 0 failed of 40/u)
      expect((await ledgerDays(["AAPL"], "2024-01-01", "2024-03-31")).length).toBe(61)
    })

    test("retry runs only the failed partitions, locally or queued, until the ledger is complete", async () => {
      const failing = config(
        "failing.yaml",
        "config_version: 1\nproviders:\n  fake:\n    fail_symbols: [MSFT]\n    fail_days: [2024-03-06]\n"
      )
      const working = config("working.yaml", "config_version: 1\n")
      const range = ["--provider", "fake", "--symbols", "AAPL,MSFT", "--from", "2024-03-04", "--to", "2024-03-08"]
      const first = await cli("ohlcv", "backfill", "--config", failing, ...range, "--json")
      expect(first.code).toBe(3)
      expect(JSON.parse(first.stdout).job).toMatchObject({ id: 1, state: "partial", partitionsFailed: 6 })
      const partial = await json("jobs", "list", "--state", "partial", "--kind", "backfill,ingest", "--config", working)
      expect(partial.map((j: { id: number }) => j.id)).toEqual([1])
      expect((await cli("jobs", "list", "--state", "succeeded", "--config", working)).stdout).toBe("no jobs match\n")
      // Still failing: the new job has exactly the six partitions, and they fail again (exit 3).
      const again = await cli("jobs", "retry", "1", "--config", failing, "--json")
      expect(again.code).toBe(3)
      expect(again.stderr).toMatch(
        /retrying 6 partition\(s\) job 1 left undone: 2 symbol\(s\), 2024-03-04\.\.2024-03-08/u
      )
      expect(JSON.parse(again.stdout).job).toMatchObject({
        id: 2,
        kind: "backfill",
        provider: "fake",
        partitionsTotal: 6,
        partitionsFailed: 6
      })
      // Fixed: job 2's six, queued and run by a worker.
      const queued = await cli("jobs", "retry", "2", "--config", working, "--enqueue")
      expect(queued.stdout).toMatch(/^job 3 queued \(retry of job 2\): 2 unit\(s\), 6 partition\(s\)/u)
      const worker = await json("worker", "--config", working, "--poll-seconds", "1")
      expect(worker).toEqual({ units: 2, failedUnits: 0 })
      expect((await json("jobs", "show", "3", "--config", working)).job).toMatchObject({
        state: "succeeded",
        partitionsDone: 6
      })
      const ledger = await ledgerDays(["AAPL", "MSFT"], "2024-03-04", "2024-03-08")
      expect(ledger).toEqual([...march.map((d) => `AAPL ${d} complete`), ...march.map((d) => `MSFT ${d} complete`)])
      const covered = await cli("jobs", "retry", "1", "--config", working)
      expect([covered.code, covered.stdout]).toEqual([
        0,
        "job 1 left 6 partition(s) undone, and the ledger has had them all since: nothing to retry\n"
      ])
      const nothing = await cli("jobs", "retry", "3", "--config", working)
      expect([nothing.code, nothing.stdout]).toEqual([
        0,
        "job 3 (succeeded) has no failed or unrun partitions: nothing to retry\n"
      ])
      expect(JSON.parse((await cli("jobs", "retry", "3", "--config", working, "--json")).stdout)).toEqual({
        retried: 3,
        partitions: 0
      })
    })

    test("cleanup removes only old jobs of the given states with their rows; the dry run counts the same; the ledger stays", async () => {
      const made = (symbol: string, iso: string, end: "succeeded" | "failed" | "partial" | "cancelled" | "running") =>
        repo(
          Effect.gen(function* () {
            const [jobs, ledger] = [yield* Jobs, yield* Ledger]
            const part = refs(symbol, ["2024-01-02"])
            const job = yield* jobs.create(spec(symbol), part)
            yield* jobs.markRunning(job.id, part)
            yield* ledger.recordDone(job.id, source, part.map(complete))
            const totals = { partitionsDone: 1, partitionsFailed: 0, barsWritten: 390, barsRejected: 0 }
            if (end === "succeeded") yield* jobs.finish(job.id, totals)
            if (end === "failed") yield* jobs.finish(job.id, totals, "boom")
            if (end === "partial") yield* jobs.finish(job.id, { ...totals, partitionsFailed: 1 })
            if (end === "cancelled") {
              yield* jobs.requestCancel(job.id)
              yield* jobs.finish(job.id, { ...totals, partitionsDone: 0 })
            }
            return job.id
          }),
          iso
        )
      const oldOk = await made("OLDOK", "2024-01-02T21:00:00Z", "succeeded")
      const oldFail = await made("OLDFAIL", "2024-01-03T21:00:00Z", "failed")
      const oldPartial = await made("OLDPART", "2024-01-04T21:00:00Z", "partial")
      await made("OLDCXL", "2024-01-05T21:00:00Z", "cancelled")
      const recent = await made("NEWOK", "2024-06-10T21:00:00Z", "succeeded")
      const running = await made("RUN", "2024-01-01T21:00:00Z", "running")
      await repo(
        ValidationRuns.use((v) =>
          v.record({
            jobId: oldOk,
            kind: "backfill",
            reportCsv: "r.csv",
            reportJson: "r.json",
            findings: 1,
            errors: 1,
            warnings: 0,
            totals: [{ rule: "ohlc_consistency", severity: "error", count: 1 }]
          })
        )
      )
      const unit = { symbols: [], frame: "1m", period: "2024-01", days: [], start: 0, end: 1, expectedBars: 0 } as const
      await repo(WorkQueue.use((q) => q.enqueue(oldFail, [unit])))
      await repo(
        Effect.gen(function* () {
          const queue = yield* WorkQueue
          const claimed = yield* queue.claim("test", 60_000)
          yield* queue.finish(claimed?.id ?? 0, "test", "failed", "boom")
        })
      )
      const cleanup = (olderThan: string | undefined, states: Array<string>, dryRun: boolean) =>
        capture(() =>
          Effect.runPromiseExit(
            Effect.gen(function* () {
              yield* TestClock.setTime(Date.parse("2024-06-15T18:00:00Z"))
              return yield* jobsCleanupMain(
                {
                  config: Option.none(),
                  dataDir: Option.some(data()),
                  json: true,
                  olderThan: olderThan === undefined ? Option.none() : Option.some(olderThan),
                  states,
                  dryRun
                },
                { env: { ...process.env }, cwd: dir }
              )
            }).pipe(Effect.provide(TestClock.layer()))
          )
        )
      const states = ["succeeded", "failed,cancelled"]
      const dry = await cleanup("30d", states, true)
      const expected = { jobs: 3, partitions: 3, validationRuns: 1, workUnits: 1 }
      expect(JSON.parse(dry.stdout)).toEqual({
        dryRun: true,
        cutoff: "2024-05-16",
        states: ["succeeded", "failed", "cancelled"],
        removed: expected
      })
      const real = await cleanup("30d", states, false)
      expect(JSON.parse(real.stdout).removed).toEqual(expected)
      const left = await repo(Jobs.use((j) => j.list(50)))
      expect(left.map((j) => [j.id, j.state])).toEqual([
        [running, "running"],
        [recent, "succeeded"],
        [oldPartial, "partial"]
      ])
      expect(await repo(ValidationRuns.use((v) => v.get(oldOk)))).toBeUndefined()
      expect((await repo(WorkQueue.use((q) => q.status()))).failed).toBe(0)
      // The ledger is not history: every row stays.
      const ledger = await ledgerDays(
        ["OLDOK", "OLDFAIL", "OLDPART", "OLDCXL", "NEWOK", "RUN"],
        "2024-01-02",
        "2024-01-02"
      )
      expect(ledger.length).toBe(6)
      expect(JSON.parse((await cleanup("30d", states, false)).stdout).removed).toEqual({
        jobs: 0,
        partitions: 0,
        validationRuns: 0,
        workUnits: 0
      })
      // Older than a year: the partial job is younger, so nothing goes.
      const text = await cli("jobs", "cleanup", "--older-than", "20y", "--state", "partial", "--dry-run")
      expect(text.stdout).toMatch(/^would remove \(dry run: nothing removed\): 0 partial job\(s\) finished before /u)
      // Running jobs are refused, whatever their age; bad ages and states too, with nothing removed.
      const refused: Array<[string | undefined, Array<string>, RegExp]> = [
        ["30d", ["running"], /--state: running jobs are never removed/u],
        [
          "30d",
          ["partial,bogus"],
          /--state: 'bogus' is not one of running, succeeded, failed, partial, abandoned, cancelled/u
        ],
        [
          "30d",
          [],
          /--state: give the states of the jobs to remove .*: succeeded, failed, partial, abandoned, cancelled/u
        ],
        [undefined, ["partial"], /--older-than: missing: give how old a job must be/u],
        ["never", ["partial"], /--older-than: 'never' is not an age/u],
        ["30x", ["partial"], /--older-than: '30x' is not an age/u]
      ]
      for (const [age, given, message] of refused) {
        const r = await cleanup(age, given, false)
        const lines: Array<string> = []
        expect(exitCodeOf(r.value, (l) => lines.push(l))).toBe(2)
        expect(lines.join("\n")).toMatch(message)
      }
      expect((await cli("jobs", "cleanup", "--older-than", "1d", "--state", "running")).code).toBe(2)
      expect((await repo(Jobs.use((j) => j.list(50)))).length).toBe(3)
    })

    test("owner gone: a dead local run shows running (owner gone); jobs fail abandons it; jobs retry resumes one", async () => {
      const working = config("working.yaml", "config_version: 1\n")
      // A run that died in its third day: two days done, one in flight, two not started.
      const dead = await repo(
        Effect.gen(function* () {
          const [jobs, ledger] = [yield* Jobs, yield* Ledger]
          const job = yield* jobs.create(spec("AAPL", deadOwner()), refs("AAPL"))
          yield* jobs.markRunning(job.id, refs("AAPL", march.slice(0, 3)))
          yield* ledger.recordDone(job.id, source, refs("AAPL", march.slice(0, 2)).map(complete))
          return job.id
        })
      )
      const created = (symbol: string, owner: string) =>
        repo(Jobs.use((j) => j.create(spec(symbol, owner), refs(symbol)))).then((job) => job.id)
      const alive = await created("MSFT", `${hostname()}:${process.pid}`)
      const elsewhere = await created("SPY", "elsewhere.example:4242")
      const aggregate = await repo(
        Effect.gen(function* () {
          const jobs = yield* Jobs
          const job = yield* jobs.create(spec("QQQ", deadOwner(), "aggregate"), [])
          yield* jobs.finish(job.id, { partitionsDone: 0, partitionsFailed: 0, barsWritten: 0, barsRejected: 0 })
          return job.id
        })
      )
      const list = await cli("jobs", "list", "--config", working)
      expect(list.stdout).toMatch(
        new RegExp(`^${dead}\\s+backfill\\s+running \\(owner gone\\)\\s+fake/synthetic`, "mu")
      )
      expect(list.stdout).toMatch(new RegExp(`^${alive}\\s+backfill\\s+running\\s+fake/synthetic`, "mu"))
      expect(list.stdout).toMatch(
        new RegExp(`^${elsewhere}\\s+backfill\\s+running \\(owner on elsewhere\\.example\\)`, "mu")
      )
      const listed = await json("jobs", "list", "--config", working)
      expect(listed.map((j: { id: number; ownerGone: boolean }) => [j.id, j.ownerGone])).toEqual([
        [aggregate, false],
        [elsewhere, false],
        [alive, false],
        [dead, true]
      ])
      const shown = await cli("jobs", "show", String(dead), "--config", working)
      expect(shown.stdout).toMatch(`job ${dead}: backfill running (owner gone)`)
      expect(shown.stdout).toMatch(`(process gone: \`marketpipe jobs retry ${dead}\` resumes it`)
      expect((await json("jobs", "show", String(dead), "--config", working)).ownerGone).toBe(true)

      // Refused while someone may still run it; nothing changes.
      const refusals: Array<[Array<string>, string]> = [
        [["fail", String(alive)], `ID: job ${alive} is running in pid ${process.pid}; cancel it instead`],
        [["retry", String(alive)], `ID: job ${alive} is running in pid ${process.pid}; cancel it`],
        [["fail", String(elsewhere)], `ID: job ${elsewhere} is running on host elsewhere.example`],
        [
          ["retry", String(aggregate)],
          `ID: job ${aggregate} is an aggregate job; only ingest and backfill jobs are retried`
        ],
        [["fail", String(aggregate)], `ID: job ${aggregate} already finished (succeeded)`]
      ]
      for (const [argv, message] of refusals) {
        const r = await cli("jobs", ...argv, "--config", working)
        expect([argv.join(" "), r.code]).toEqual([argv.join(" "), 2])
        expect(r.errors).toContain(message)
      }
      expect((await repo(Jobs.use((j) => j.get(alive))))?.state).toBe("running")

      const failed = await cli("jobs", "fail", String(dead), "--config", working)
      expect(failed.stdout).toMatch(`job ${dead} abandoned: its process ${hostname()}:`)
      const closed = await repo(Jobs.use((j) => j.partitions(dead)))
      expect(closed.map((p) => p.state)).toEqual(["done", "done", "failed", "failed", "failed"])
      expect((await cli("jobs", "fail", String(dead), "--config", working)).errors).toContain(
        "already finished (abandoned)"
      )

      // A second dead run, retried directly: closed as abandoned, then its undone days run.
      const resumable = await repo(
        Effect.gen(function* () {
          const [jobs, ledger] = [yield* Jobs, yield* Ledger]
          const job = yield* jobs.create(spec("IWM", deadOwner()), refs("IWM"))
          yield* jobs.markRunning(job.id, refs("IWM", march.slice(0, 1)))
          yield* ledger.recordDone(job.id, source, refs("IWM", march.slice(0, 1)).map(complete))
          return job.id
        })
      )
      const resumed = await cli("jobs", "retry", String(resumable), "--config", working, "--json")
      expect(resumed.code).toBe(0)
      expect(resumed.stderr).toMatch(`notice: job ${resumable} was running with its process gone; it is now abandoned`)
      expect(JSON.parse(resumed.stdout).job).toMatchObject({ state: "succeeded", partitionsTotal: 4, symbols: ["IWM"] })
      expect((await repo(Jobs.use((j) => j.get(resumable))))?.state).toBe("abandoned")
      const retried = await json("jobs", "retry", String(dead), "--config", working)
      expect(retried.job).toMatchObject({ state: "succeeded", partitionsTotal: 3, startDay: "2024-03-06" })
      expect(await ledgerDays(["AAPL", "IWM"], "2024-03-04", "2024-03-08")).toEqual([
        ...march.map((d) => `AAPL ${d} complete`),
        ...march.map((d) => `IWM ${d} complete`)
      ])

      // Cancelling: a live run is asked to stop; another host's too; a dead one is closed at once.
      const askAlive = await cli("jobs", "cancel", String(alive), "--config", working)
      expect(askAlive.stdout).toMatch(`job ${alive}: cancel requested; pid ${process.pid} stops it`)
      const askElsewhere = await cli("jobs", "cancel", String(elsewhere), "--config", working)
      expect(askElsewhere.stdout).toMatch(`job ${elsewhere}: cancel requested; its run on elsewhere.example stops it`)
      const gone = await created("DIA", deadOwner())
      const now = await cli("jobs", "cancel", String(gone), "--config", working)
      expect(now.stdout).toMatch(`job ${gone} cancelled: 0 queued unit(s) will not run; 0 partition(s) done`)
    })

    test("bad flags and unknown ids exit 2 naming the flag, and change nothing", async () => {
      const cases: Array<[Array<string>, string]> = [
        [
          ["list", "--state", "bogus"],
          "--state: 'bogus' is not one of running, succeeded, failed, partial, abandoned, cancelled"
        ],
        [["list", "--kind", "ingest,nope"], "--kind: 'nope' is not one of ingest, backfill, aggregate, validate"],
        [["list", "--limit", "0"], "--limit: 0 is not a number of jobs; use 1 or more"],
        [["show", "99"], "ID: no job with id 99"],
        [["cancel", "99"], "ID: no job with id 99"],
        [["fail", "99"], "ID: no job with id 99"],
        [["retry", "99"], "ID: no job with id 99"],
        [["cleanup", "--state", "failed"], "--older-than: missing"],
        [["cleanup", "--older-than", "2w", "--state", "failed"], "--older-than: '2w' is not an age"],
        [["cleanup", "--older-than", "30d"], "--state: give the states"],
        [["cleanup", "--older-than", "30d", "--state", "running"], "--state: running jobs are never removed"]
      ]
      for (const [argv, message] of cases) {
        const r = await cli("jobs", ...argv)
        expect([argv.join(" "), r.code]).toEqual([argv.join(" "), 2])
        expect(r.errors).toContain(message)
      }
      if (backend === "SQLite") expect(existsSync(join(data(), "marketpipe.db"))).toBe(false)
      expect(await json("jobs", "list")).toEqual([])
      const finished = await repo(
        Effect.gen(function* () {
          const jobs = yield* Jobs
          const job = yield* jobs.create(spec("AAPL"), [])
          return yield* jobs.finish(job.id, { partitionsDone: 0, partitionsFailed: 0, barsWritten: 0, barsRejected: 0 })
        })
      )
      const cancel = await cli("jobs", "cancel", String(finished.id))
      expect([cancel.code, cancel.errors]).toEqual([2, `error: ID: job ${finished.id} already finished (succeeded)`])
      expect((await repo(Jobs.use((j) => j.get(finished.id))))?.cancelRequestedAt).toBeUndefined()
    })
  })
}

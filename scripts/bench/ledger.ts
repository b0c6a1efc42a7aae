/**
 * Benchmark (on demand: `npm run bench:ledger`; BENCH_PARTITIONS): records N partitions of one job on a fresh SQLite
 * file the way runs do — created, marked running, then done — once in calls of 20 (one symbol-month, as a unit
 * writes them) and once in a single call, plus failed partitions. Appends a row to BENCHMARKS.md.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { cpus, tmpdir, totalmem } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { Jobs } from "../../src/repository/jobs.ts"
import { sqliteLayer } from "../../src/repository/layer.ts"
import { Ledger } from "../../src/repository/ledger.ts"
import type { PartitionRef, PartitionResult } from "../../src/repository/model.ts"
import { recordRow } from "./lib/record.ts"

const total = Number(process.env.BENCH_PARTITIONS ?? 10_000)
const perCall = 20
const source = { provider: "fake", feed: "synthetic", session: "regular" }
const days = Array.from({ length: 250 }, (_, i) => new Date(Date.UTC(2024, 0, 1 + i)).toISOString().slice(0, 10))
const refsOf = (prefix: string): Array<PartitionRef> =>
  Array.from({ length: total }, (_, i) => ({
    frame: "1m",
    symbol: `${prefix}${Math.floor(i / days.length)}`,
    day: days[i % days.length] as string
  }))
const done = (r: PartitionRef): PartitionResult => ({
  ...r,
  rows: 390,
  rejected: 0,
  expected: 390,
  status: "complete",
  hash: "h",
  contentHash: "h",
  file: `ohlcv/frame=1m/symbol=${r.symbol}/${r.day.slice(0, 7)}.parquet`
})
const spec = (refs: ReadonlyArray<PartitionRef>) => ({
  kind: "backfill" as const,
  ...source,
  session: "regular" as const,
  frame: "1m",
  symbols: [...new Set(refs.map((r) => r.symbol))],
  startDay: days[0] as string,
  endDay: days.at(-1) as string
})
const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const started = performance.now()
    yield* effect
    return (performance.now() - started) / 1000
  })

const dir = mkdtempSync(join(tmpdir(), "mp-bench-ledger-"))
const seconds = await Effect.runPromise(
  Effect.gen(function* () {
    const jobs = yield* Jobs
    const ledger = yield* Ledger
    const inCalls = refsOf("C")
    const job = yield* jobs.create(spec(inCalls), inCalls)
    const calls = Array.from({ length: Math.ceil(total / perCall) }, (_, i) =>
      inCalls.slice(i * perCall, (i + 1) * perCall)
    )
    yield* jobs.markRunning(job.id, inCalls)
    const small = yield* timed(Effect.forEach(calls, (c) => ledger.recordDone(job.id, source, c.map(done))))
    const once = refsOf("O")
    const big = yield* jobs.create(spec(once), once)
    yield* jobs.markRunning(big.id, once)
    const single = yield* timed(ledger.recordDone(big.id, source, once.map(done)))
    const failing = refsOf("F")
    const bad = yield* jobs.create(spec(failing), failing)
    const failed = yield* timed(
      Effect.forEach(calls, (_, i) =>
        ledger.recordFailed(bad.id, source, failing.slice(i * perCall, (i + 1) * perCall), "provider fake: boom")
      )
    )
    return { small, single, failed }
  }).pipe(Effect.provide(sqliteLayer(join(dir, "marketpipe.db"))))
)
rmSync(dir, { recursive: true, force: true })

const rate = (s: number) => `${s.toFixed(2)} s (${Math.round(total / s).toLocaleString("en-US")}/s)`
const machine = `${cpus().length} x ${cpus()[0]?.model ?? "?"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Bun ${Bun.version}`
const label = process.env.BENCH_LABEL === undefined ? "" : ` (${process.env.BENCH_LABEL})`
const cells = [
  new Date().toISOString().slice(0, 10),
  `SQLite, ${total.toLocaleString("en-US")} partitions${label}`,
  rate(seconds.small),
  rate(seconds.single),
  rate(seconds.failed),
  machine
]
console.log(cells.join(" | "))
recordRow("ledger", cells)

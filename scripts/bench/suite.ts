/**
 * The benchmark suite: `npm run bench` runs every case in order, `npm run bench:<case>` (or `bun
 * scripts/bench/suite.ts <case>...`) the ones named. Each case runs its baseline in the same run, reports medians of
 * BENCH_RUNS runs, prints every number and appends a row to its table in BENCHMARKS.md with the machine, versions
 * and commit; the summary at the end gives each ratio next to its target, met or not met.
 *
 * BENCH_QUICK=1 shrinks every case to a smoke test (and records nothing unless BENCH_RECORD=1); BENCH_RECORD=0 only
 * prints; BENCH_LABEL adds a note to every row; BENCH_BINARY times another binary; BENCH_LAKE_DIR moves the lake the
 * load and aggregate cases share.
 */
import { aggregateCase } from "./aggregate.ts"
import { backfillCase } from "./backfill.ts"
import { httpCase } from "./http-ingest.ts"
import { ingestCase } from "./ingest.ts"
import { ensureBinary } from "./lib/binary.ts"
import { type BenchCase, makeContext, type Verdict } from "./lib/case.ts"
import { describeMachine, machineCell } from "./lib/machine.ts"
import { quick } from "./lib/sizes.ts"
import { seconds } from "./lib/stats.ts"
import { loadCase } from "./load-ohlcv.ts"
import { rssCase } from "./rss.ts"
import { startCase } from "./start.ts"

const cases: ReadonlyArray<BenchCase> = [
  ingestCase,
  httpCase,
  backfillCase,
  loadCase,
  aggregateCase,
  rssCase,
  startCase
]

const asked = process.argv.slice(2)
const unknown = asked.filter((name) => !cases.some((c) => c.name === name))
if (unknown.length > 0) {
  console.error(`unknown case(s) ${unknown.join(", ")}; the cases are ${cases.map((c) => c.name).join(", ")}`)
  process.exit(2)
}
const chosen = asked.length === 0 ? cases : cases.filter((c) => asked.includes(c.name))

const binary = ensureBinary()
const machine = describeMachine()
const ctx = makeContext(binary, machine)
console.log(`${machineCell(machine)}, ${machine.kernel}; commit ${machine.commit}; binary ${binary}`)
if (quick) console.log("BENCH_QUICK=1: every case shrunk to a smoke test")

const results: Array<{ name: string; verdicts: ReadonlyArray<Verdict>; ms: number }> = []
let failed = false
for (const c of chosen) {
  console.log(`\n== ${c.name}: ${c.title}`)
  const started = performance.now()
  try {
    const verdicts = await c.run(ctx)
    results.push({ name: c.name, verdicts, ms: performance.now() - started })
  } catch (e) {
    failed = true
    console.error(`  ${c.name} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`)
  }
  console.log(`  (${c.name} took ${seconds(performance.now() - started)})`)
}

console.log("\n== summary")
const rows = results.flatMap((r) =>
  r.verdicts.map((v) => [
    r.name,
    v.what,
    v.shown,
    v.target,
    v.met === undefined ? "-" : v.met ? "met" : "NOT MET",
    seconds(r.ms)
  ])
)
const header = ["case", "measure", "value", "target", "", "case took"]
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
for (const r of [header, ...rows]) console.log(r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join("  "))
if (failed) process.exit(1)

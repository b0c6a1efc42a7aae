/**
 * Benchmark (on demand: `npm run bench:start`; BENCH_RUNS, BENCH_BINARY, BENCH_SOURCE, BENCH_LABEL): how long the CLI
 * takes to start and answer small commands — the compiled binary's `--version`, `--help`, `jobs list` and `providers
 * list` (in an empty temp dir, so no config or database is found) and `bun src/cli/main.ts --version` from source —
 * against `node -e 0` in the same run. Each case runs BENCH_RUNS times (default 15), interleaved so a noisy neighbour
 * hits every case alike; the row holds medians. Build the binary first (`npm run build`). Appends a row to
 * BENCHMARKS.md.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { cpus, tmpdir, totalmem } from "node:os"
import { join, resolve } from "node:path"
import { recordRow } from "./record.ts"

const runs = Number(process.env.BENCH_RUNS ?? 15)
const binary = resolve(process.env.BENCH_BINARY ?? "dist/marketpipe")
const bun = resolve("node_modules/.bin/bun")
// Another checkout's binary and entry point can be timed too (a before/after pair in one session).
const main = resolve(process.env.BENCH_SOURCE ?? "src/cli/main.ts")

interface Case {
  readonly name: string
  readonly argv: ReadonlyArray<string>
}

const cases: ReadonlyArray<Case> = [
  { name: "node -e 0", argv: ["node", "-e", "0"] },
  { name: "--version", argv: [binary, "--version"] },
  { name: "--help", argv: [binary, "--help"] },
  { name: "jobs list", argv: [binary, "jobs", "list"] },
  { name: "providers list", argv: [binary, "providers", "list"] },
  { name: "source --version", argv: [bun, main, "--version"] }
]

// An empty working directory with no MarketPipe variables: what a first `--version` after install sees.
const cwd = mkdtempSync(join(tmpdir(), "mp-bench-start-"))
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("MARKETPIPE_")))

const timeOnce = (c: Case): number => {
  const started = performance.now()
  const result = Bun.spawnSync([...c.argv], { cwd, env, stdout: "pipe", stderr: "pipe" })
  const ms = performance.now() - started
  if (result.exitCode !== 0) throw new Error(`${c.argv.join(" ")} exited ${result.exitCode}: ${result.stderr}`)
  return ms
}

const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

// One warm-up of each, so the page cache holds the binary (190 MB with DuckDB) before anything is timed.
for (const c of cases) timeOnce(c)
const samples: Array<Array<number>> = cases.map(() => [])
for (let i = 0; i < runs; i++) for (const [j, c] of cases.entries()) samples[j]?.push(timeOnce(c))
rmSync(cwd, { recursive: true, force: true })

const medians = samples.map(median)
const nodeMs = medians[0] as number
const ms = (x: number) => `${x.toFixed(1)} ms`
const machine = `${cpus().length} x ${cpus()[0]?.model.trim() ?? "?"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Bun ${Bun.version}, Node ${Bun.spawnSync(["node", "--version"]).stdout.toString().trim()}`
const label = process.env.BENCH_LABEL === undefined ? "" : ` (${process.env.BENCH_LABEL})`
const cells = [
  new Date().toISOString().slice(0, 10),
  `median of ${runs}${label}`,
  ...medians.map(ms),
  `${((medians[1] as number) / nodeMs).toFixed(2)} x`,
  machine
]
for (const [i, c] of cases.entries()) console.log(`${c.name.padEnd(18)} ${ms(medians[i] as number)}`)
console.log(cells.join(" | "))
recordRow("start", cells)

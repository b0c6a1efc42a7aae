/**
 * Benchmark (on demand: `npm run bench:http`): ingest over HTTP from the emulator in Alpaca's format, 100 symbols x
 * 20 trading days of 1m bars, with the emulator enforcing Alpaca's 200 requests/minute per key. Reports bars/s,
 * requests, page fill and wall time against the quota floor, and appends a row to BENCHMARKS.md.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { cpus, tmpdir, totalmem } from "node:os"
import { join } from "node:path"
import alpaca from "../../plugins/alpaca/mod.ts"
import { startEmulator } from "../../test/emulators/server.ts"
import { ingestThrough } from "../../test/support/provider-run.ts"
import { recordRow } from "./record.ts"

const symbols = Array.from(
  { length: Number(process.env.BENCH_SYMBOLS ?? 100) },
  (_, i) => `S${String(i).padStart(3, "0")}`
)
const quota = { requests: 200, perSeconds: 60 }
const emulator = await startEmulator({ rateLimits: { alpaca: quota } })
const dir = mkdtempSync(join(tmpdir(), "mp-bench-http-"))
const started = performance.now()
const summary = await ingestThrough(
  {
    plugin: alpaca,
    baseUrl: emulator.url,
    env: { ALPACA_KEY: emulator.keys.alpaca.id, ALPACA_SECRET: emulator.keys.alpaca.secret },
    feed: "sip",
    options: { retry_base_ms: 250 }
  },
  dir,
  symbols,
  "2024-03-01",
  "2024-03-28"
)
const seconds = (performance.now() - started) / 1000
const stats = emulator.stats()
await emulator.stop()
rmSync(dir, { recursive: true, force: true })

const requests = stats.byPath["/v2/stocks/bars"] ?? 0
// Bars the pages carried (extended hours included) over what full pages could carry.
const served = summary.job.barsWritten * (960 / 390)
// A burst of `requests` at once, then one request every perSeconds/requests: the fastest any client may go.
const floorSeconds = Math.max(0, requests - quota.requests) * (quota.perSeconds / quota.requests)
const row = {
  date: new Date().toISOString().slice(0, 10),
  bars: summary.job.barsWritten,
  seconds: seconds.toFixed(1),
  barsPerSecond: Math.round(summary.job.barsWritten / seconds),
  requests,
  rateLimited: stats.rateLimited,
  pageFill: `${Math.round((served / (requests * 10_000)) * 100)}%`,
  floorSeconds,
  machine: `${cpus().length} x ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Bun ${Bun.version}`
}
console.log(JSON.stringify(row))
recordRow("http", [
  row.date,
  `alpaca over HTTP, ${symbols.length} sym x 20 days, 200 req/min enforced`,
  row.bars,
  `${row.seconds} s`,
  row.barsPerSecond.toLocaleString("en"),
  `${row.requests} (${row.rateLimited} answered 429)`,
  row.pageFill,
  `${row.floorSeconds.toFixed(1)} s`,
  row.machine
])

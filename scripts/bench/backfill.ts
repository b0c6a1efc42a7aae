/**
 * Benchmark (on demand: `npm run bench:backfill`; BENCH_MONTHS=1..12, BENCH_SYMBOLS): backfill N symbols over M months
 * of 1m bars from the emulator in Alpaca's format, with the emulator (a separate process) enforcing 200
 * requests/minute. Reports wall time against the quota floor, requests against the fewest possible, and the peak
 * RSS of the backfill process; appends a row to BENCHMARKS.md.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { cpus, tmpdir, totalmem } from "node:os"
import { join } from "node:path"
import { Effect, Option } from "effect"
import { backfillMain } from "../../src/cli/commands/backfill.ts"
import { makeCalendar } from "../../src/domain/calendar.ts"
import { makeDataset } from "../../test/emulators/dataset.ts"
import { defaultKeys } from "../../test/emulators/server.ts"
import { runServices } from "../../test/support/run-services.ts"
import { recordRow } from "./record.ts"

const months = Number(process.env.BENCH_MONTHS ?? 12)
const symbols = Array.from(
  { length: Number(process.env.BENCH_SYMBOLS ?? 100) },
  (_, i) => `S${String(i).padStart(3, "0")}`
)
const from = "2024-01-01"
const to = new Date(Date.UTC(2024, months, 0)).toISOString().slice(0, 10)
const port = 18000 + Math.floor(Math.random() * 1000)

const emulator = spawn(
  process.execPath,
  ["test/emulators/main.ts", "--port", String(port), "--rate-limit", "alpaca=200/60"],
  {
    stdio: ["ignore", "pipe", "inherit"]
  }
)
await new Promise<void>((ok) => emulator.stdout?.once("data", () => ok()))
const url = `http://127.0.0.1:${port}`
const cwd = mkdtempSync(join(tmpdir(), "mp-bench-backfill-"))
const stats = () =>
  fetch(`${url}/_emulator/stats`).then((r) => r.json() as Promise<{ requests: number; rateLimited: number }>)

const started = performance.now()
const summary = await Effect.runPromise(
  backfillMain(
    {
      symbols: Option.some(symbols.join(",")),
      universe: Option.none(),
      from: Option.some(from),
      to: Option.some(to),
      lookback: Option.none(),
      refetch: Option.none(),
      dryRun: false,
      yes: true,
      enqueue: false,
      metricsPort: Option.none(),
      provider: Option.some("alpaca"),
      frame: Option.none(),
      feed: Option.some("sip"),
      session: Option.none(),
      concurrency: Option.some(4),
      config: Option.none(),
      dataDir: Option.none(),
      json: true
    },
    {
      env: {
        MARKETPIPE_ALPACA_BASE_URL: url,
        ALPACA_KEY: defaultKeys.alpaca.id,
        ALPACA_SECRET: defaultKeys.alpaca.secret
      },
      cwd
    }
  ).pipe(Effect.provide(runServices()))
)
const seconds = (performance.now() - started) / 1000
const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024)
const { requests, rateLimited } = await stats()
emulator.kill()
rmSync(cwd, { recursive: true, force: true })

// Fewest possible requests: every bar the windows hold, packed into full 10,000-bar pages.
const calendar = makeCalendar()
const dataset = makeDataset()
let served = 0
for (let m = 0; m < months; m++) {
  const days = calendar.tradingDays(
    new Date(Date.UTC(2024, m, 1)).toISOString().slice(0, 10),
    new Date(Date.UTC(2024, m + 1, 0)).toISOString().slice(0, 10)
  )
  const open = calendar.session(days[0] as string, "regular")?.open ?? 0
  const close = calendar.session(days[days.length - 1] as string, "regular")?.close ?? 0
  served += dataset.bars(symbols[0] as string, open, close, true).length * symbols.length
}
const minimum = Math.ceil(served / 10_000)
const floor = Math.max(0, requests - 200) * 0.3
const bars = summary?.job.barsWritten ?? 0
const row = { months, symbols: symbols.length, bars, seconds, requests, rateLimited, minimum, floor, peakRssMb }
console.log(JSON.stringify(row))
recordRow("backfill", [
  new Date().toISOString().slice(0, 10),
  `${symbols.length} sym x ${months} month(s)`,
  bars.toLocaleString("en"),
  `${seconds.toFixed(1)} s`,
  `${floor.toFixed(1)} s (${floor > 0 ? `+${(((seconds - floor) / floor) * 100).toFixed(1)}%` : "burst"})`,
  `${requests} (${rateLimited} answered 429)`,
  minimum,
  `${peakRssMb} MB`,
  `${cpus().length} x ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Bun ${Bun.version}`
])

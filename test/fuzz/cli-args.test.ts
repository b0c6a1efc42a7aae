/**
 * CLI arguments: generated command lines over the real command tree — known commands and flags with hostile values,
 * unknown ones, stray tokens — run in-process in a fresh working directory each. Every run ends with one of the CLI's
 * exit codes and a typed error (never a defect), and one that ends in a usage error (exit 2) leaves the directory as it
 * was: nothing written. Commands that never end by themselves (`metrics serve`, `worker --follow`) are left out, and
 * so are `--yes`, `--metrics-port` and data dirs outside the working directory, which would only make cases slow or
 * reach outside their sandbox.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { Arbitrary, Cause, Effect, Exit } from "effect"
import { exitCodeOf, runCli } from "../../src/cli/main.ts"
import { capture } from "../support/capture.ts"
import { listFiles, removeDir, tempDir } from "../support/temp.ts"
import { hostileStrings } from "./mutate.ts"
import { checkProperty, FUZZ_SEED, label, ON_DEMAND, oneOf, runsOf, union } from "./runs.ts"

const commands = [
  ["ohlcv", "ingest"],
  ["ohlcv", "backfill"],
  ["ohlcv", "aggregate"],
  ["ohlcv", "validate"],
  ["ledger"],
  ["ledger", "verify"],
  ["jobs", "list"],
  ["jobs", "show"],
  ["providers", "list"],
  ["providers", "matrix"],
  ["metrics", "show"],
  ["query"],
  ["worker"],
  [],
  ["ohlcv"],
  ["nope"]
] as const

const days = ["2024-03-04", "2024-03-08", "2024-02-30", "1989-12-29", "2101-01-03", "0000-01-01", "20240304", "today"]
const values: Readonly<Record<string, ReadonlyArray<string>>> = {
  "--symbols": ["AAPL", "AAPL,MSFT", "A A", "../x", "brk/b", "", ",,", "X".repeat(300)],
  "--start": days,
  "--end": days,
  "--from": days,
  "--to": days,
  "--lookback": ["5d", "2w", "1m", "0d", "-3d", "99999y", "50y", "5 days", "d"],
  "--provider": ["fake", "alpaca", "polygon", "iex", "nope", "FAKE", ""],
  "--feed": ["synthetic", "sip", "iex", "", "x"],
  "--frame": ["1m", "5m", "1d", "2m", ""],
  "--frames": ["5m,1h", "1m", "7m", "", "5m,,5m"],
  "--session": ["regular", "extended", "overnight"],
  "--concurrency": ["1", "4", "0", "65", "-1", "1.5", "x"],
  "--refetch": ["partial", "all", "everything", "partial,,empty"],
  "--universe": ["u.txt", "missing.txt", "/dev/zero", "."],
  "--config": ["c.yaml", "missing.yaml", "/dev/zero", "."],
  "--data-dir": ["data", "other", "a/b"],
  "--limit": ["0", "5", "-1", "x"],
  "--memory-limit": ["512MB", "1KB", "lots", "4GiB"],
  "--threads": ["1", "0", "999", "x"],
  "--since": ["2024-03-01", "yesterday", ""],
  "--metric": ["marketpipe_bars_ingested_total", "nope", ""],
  "--lease-seconds": ["1", "0", "-5"],
  "--poll-seconds": ["1", "0"]
}
const booleans = [
  "--json",
  "--dry-run",
  "--enqueue",
  "--force",
  "--days",
  "--repair",
  "--csv",
  "--markdown",
  "--skip-bad-files"
]
const sql = ["SELECT 1", "SELECT count(*) FROM bars_1m", "DROP TABLE x", "SUMMARIZE bars_1m", "SELECT", "'"]

/** Flags whose value is a path: only the listed ones, so no case reads or writes outside its directory. */
const paths = new Set(["--universe", "--config", "--data-dir"])

/** One token or flag group of a command line. */
const piece: Arbitrary.Arbitrary<ReadonlyArray<string>> = union<ReadonlyArray<string>>([
  Arbitrary.flatMap(oneOf(Object.keys(values)), (flag) =>
    Arbitrary.map(
      paths.has(flag) ? oneOf(values[flag] ?? []) : union([oneOf(values[flag] ?? []), oneOf(hostileStrings)]),
      (v) => [flag, v]
    )
  ),
  Arbitrary.flatMap(oneOf(Object.keys(values)), (flag) =>
    Arbitrary.map(oneOf(values[flag] ?? []), (v) => [`${flag}=${v}`])
  ),
  Arbitrary.map(oneOf(booleans), (flag) => [flag]),
  Arbitrary.map(oneOf(sql), (s) => [s]),
  Arbitrary.map(oneOf(["--help", "--version", "-h", "--", "-x", "--nope", "1", "999"]), (t) => [t]),
  Arbitrary.map(oneOf(hostileStrings), (t) => [t])
])

const configs = [
  "config_version: 1\n",
  "config_version: 1\ningest: { provider: fake }\n",
  "config_version: 9\nfuture: yes\n",
  "database_url: mysql://db/x\n",
  "plugins: [./nope.ts]\n",
  "providers: { fake: { empty_days: [2024-03-05] } }\n",
  ": : :\n",
  "data_dir: ${NOT_SET}\n"
]

/** Command lines that would run, for the generated pieces to bend: so cases also reach the runs themselves. */
const templates: ReadonlyArray<ReadonlyArray<string>> = [
  ["ohlcv", "ingest", "--symbols", "AAPL", "--start", "2024-03-04", "--end", "2024-03-05"],
  ["ohlcv", "backfill", "--symbols", "AAPL,MSFT", "--from", "2024-03-04", "--to", "2024-03-05"],
  ["ohlcv", "backfill", "--universe", "u.txt", "--lookback", "5d", "--to", "2024-03-08", "--dry-run"],
  ["ohlcv", "aggregate", "--frames", "5m,1h"],
  ["ledger", "--days"],
  ["ledger", "verify"],
  ["query", "SELECT count(*) FROM bars_1m"],
  ["jobs", "list"]
]

const commandLine = Arbitrary.all({
  command: union<ReadonlyArray<string>>([oneOf(commands), oneOf(templates), oneOf(templates)]),
  pieces: Arbitrary.array(piece, { minLength: 0, maxLength: 7 }),
  config: oneOf(configs),
  universe: oneOf(["AAPL\nMSFT\n", "symbol\nAAPL\n", "not a symbol\n", ""]),
  // Mostly command first, as people type it; sometimes the flags first.
  flagsFirst: oneOf([false, false, false, false, false, false, false, false, false, true])
})

/** Runs `f` with the console silenced: the CLI's parser prints help and errors through it, a flood over 100k cases. */
async function quietly<A>(f: () => Promise<A>): Promise<A> {
  const saved = { log: console.log, error: console.error, info: console.info, warn: console.warn }
  const mute = () => {}
  Object.assign(console, { log: mute, error: mute, info: mute, warn: mute })
  try {
    return await f()
  } finally {
    Object.assign(console, saved)
  }
}

const dirs: Array<string> = []
afterAll(() => {
  for (const d of dirs) removeDir(d)
})

/** Cases one process runs: effect's CLI keeps some memory per run (about 20 KB), so a long run is split up. */
const CHUNK = 5000

/**
 * An on-demand run of more than one chunk: each chunk in a fresh process with its own seed (the run's seed plus
 * the chunk's number), together as many cases as asked for.
 */
async function inChunks(runs: number): Promise<number> {
  let done = 0
  for (let k = 0; done < runs; k++) {
    const n = Math.min(CHUNK, runs - done)
    const child = Bun.spawnSync([process.execPath, "test", import.meta.path, "--timeout", "0", "--config=/dev/null"], {
      env: {
        ...process.env,
        MARKETPIPE_FUZZ_RUNS: String(n),
        MARKETPIPE_FUZZ_SEED: String(FUZZ_SEED + k),
        MARKETPIPE_FUZZ_CHUNK: "1"
      },
      stdout: "inherit",
      stderr: "inherit"
    })
    if (child.exitCode !== 0) throw new Error(`chunk ${k} (seed ${FUZZ_SEED + k}, ${n} cases) failed`)
    done += n
  }
  return done
}

const chunked = ON_DEMAND && runsOf(0) > CHUNK && process.env.MARKETPIPE_FUZZ_CHUNK !== "1"

describe("fuzz: CLI arguments", () => {
  test(
    "every command line ends in an exit code and a typed error; a usage error writes nothing",
    async () => {
      if (chunked) return void expect(await inChunks(runsOf(0))).toBe(runsOf(0))
      const home = process.cwd()
      const runs = await checkProperty(
        "cli arguments",
        commandLine,
        (input) =>
          Effect.gen(function* () {
            const cwd = tempDir("mp-fuzz-cli-")
            dirs.push(cwd)
            writeFileSync(join(cwd, "c.yaml"), input.config)
            writeFileSync(join(cwd, "u.txt"), input.universe)
            const before = listFiles(cwd)
            const flags = input.pieces.flat()
            const argv = input.flagsFirst ? [...flags, ...input.command] : [...input.command, ...flags]
            // The commands read the working directory from the process, as the CLI does.
            process.chdir(cwd)
            const ran = yield* Effect.promise(() =>
              capture(() => quietly(() => Effect.runPromiseExit(runCli(argv)))).finally(() => process.chdir(home))
            )
            const exit = ran.value
            const after = listFiles(cwd)
            removeDir(cwd)
            if (Exit.isFailure(exit) && Cause.hasDies(exit.cause)) {
              return yield* Effect.fail(`a defect for ${JSON.stringify(argv)}:\n${Cause.pretty(exit.cause)}`)
            }
            const code = exitCodeOf(exit, () => {})
            label(`exit ${code}`)
            if (![0, 1, 2, 3].includes(code)) return yield* Effect.fail(`exit ${code} for ${JSON.stringify(argv)}`)
            if (code === 2 && JSON.stringify(after) !== JSON.stringify(before)) {
              const made = after.filter((f) => !before.includes(f))
              return yield* Effect.fail(`exit 2 for ${JSON.stringify(argv)} but it wrote ${made.join(", ")}`)
            }
          }),
        { ciRuns: 150, timeoutMs: 60_000 }
      )
      expect(runs).toBeGreaterThan(0)
    },
    ON_DEMAND ? 24 * 3_600_000 : 600_000
  )
})

/**
 * The binary as a user runs it: one command in a fresh working directory with a fresh data dir
 * (`MARKETPIPE_DATA_DIR`), no settings from this shell, a config file only when a case names one.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type ChildRun, cleanEnv, runChild } from "./child.ts"
import { type Span, symbolsOf } from "./sizes.ts"

export interface JobRun extends ChildRun {
  /** 1m bars the job wrote (`job.barsWritten` of `--json`). */
  readonly bars: number
}

/** A temp directory for `f`, removed afterwards whatever happens. */
export async function inTempDir<A>(prefix: string, f: (dir: string) => Promise<A>): Promise<A> {
  const dir = mkdtempSync(join(tmpdir(), `mp-bench-${prefix}-`))
  try {
    return await f(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Writes a config file into `dir` and returns its path. */
export function writeConfig(dir: string, name: string, yaml: string): string {
  const path = join(dir, name)
  writeFileSync(path, `config_version: 1\n${yaml}`)
  return path
}

export const noAggregation = "aggregation:\n  after_ingest: false\n"

export interface JobOptions {
  readonly command: "ingest" | "backfill"
  readonly provider: string
  readonly span: Span
  readonly config?: string
  readonly env?: Readonly<Record<string, string>>
  /** Keep the data here instead of a fresh dir that is removed afterwards. */
  readonly dataDir?: string
}

const jobArgs = (o: JobOptions): Array<string> => {
  const symbols = symbolsOf(o.span.symbols).join(",")
  const range =
    o.command === "ingest" ? ["--start", o.span.from, "--end", o.span.to] : ["--from", o.span.from, "--to", o.span.to]
  return [
    "ohlcv",
    o.command,
    "--provider",
    o.provider,
    "--symbols",
    symbols,
    ...range,
    "--yes",
    "--json",
    ...(o.config === undefined ? [] : ["--config", o.config])
  ]
}

const barsOf = (stdout: string): number => {
  const summary = JSON.parse(stdout) as { job?: { barsWritten?: unknown; state?: unknown } }
  if (summary.job?.state !== "succeeded" || typeof summary.job.barsWritten !== "number") {
    throw new Error(`the job did not succeed: ${stdout.slice(0, 2000)}`)
  }
  return summary.job.barsWritten
}

/** `marketpipe ohlcv <command> --json` over `span`; throws unless the job succeeded. */
export async function runJob(binary: string, o: JobOptions): Promise<JobRun> {
  const go = async (cwd: string, dataDir: string) => {
    const run = await runChild([binary, ...jobArgs(o)], {
      cwd,
      env: cleanEnv({ ...o.env, MARKETPIPE_DATA_DIR: dataDir })
    })
    return { ...run, bars: barsOf(run.stdout) }
  }
  if (o.dataDir !== undefined) return go(join(o.dataDir, ".."), o.dataDir)
  return inTempDir("job", (dir) => go(dir, join(dir, "data")))
}

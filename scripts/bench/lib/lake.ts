/**
 * The lake the `load` and `aggregate` cases read: `sizes.lake` (100 symbols × 2024 of 1m bars, plus the frames
 * aggregation builds from them) ingested once by the binary with the default config, then reused from a temp dir
 * (`BENCH_LAKE_DIR` picks another place; delete it to rebuild), so repeated runs and before/after pairs read the
 * same files. `aggregate --force` rewrites only the aggregated frames, never the 1m files `load` reads.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { runJob } from "./marketpipe.ts"
import { sizes } from "./sizes.ts"
import { seconds } from "./stats.ts"

export interface Lake {
  readonly dataDir: string
  readonly bars: number
}

export async function ensureLake(binary: string): Promise<Lake> {
  const span = sizes.lake
  const root = process.env.BENCH_LAKE_DIR ?? join(tmpdir(), `mp-bench-lake-${span.symbols}x${span.from}_${span.to}`)
  const dataDir = join(root, "data")
  const ready = join(root, "lake-ready.json")
  if (existsSync(ready)) {
    const { bars } = JSON.parse(readFileSync(ready, "utf8")) as { bars: number }
    console.log(`  reusing the lake in ${root} (${bars.toLocaleString("en-US")} 1m bars)`)
    return { dataDir, bars }
  }
  mkdirSync(root, { recursive: true })
  console.log(`  building the lake in ${root} (once; later runs reuse it)...`)
  const run = await runJob(binary, { command: "ingest", provider: "fake", span, dataDir })
  writeFileSync(ready, JSON.stringify({ bars: run.bars, seconds: run.ms / 1000, span }))
  console.log(`  built: ${run.bars.toLocaleString("en-US")} bars in ${seconds(run.ms)}`)
  return { dataDir, bars: run.bars }
}

/**
 * Case `start`: how long the binary takes to start and answer small commands (`--version`, `--help`, `jobs list`,
 * `providers list`, in an empty temp dir, so no config or database is found) and `bun src/cli/main.ts --version`
 * from source, against `node -e 0` in the same run. One warm-up of each (the page cache then holds the binary), then
 * BENCH_RUNS rounds (default 7) with the cases interleaved. Target: binary `--version` ≤ 1.0× `node -e 0`.
 */
import { resolve } from "node:path"
import { atMost, type BenchCase, verdictCell } from "./lib/case.ts"
import { cleanEnv, runChild } from "./lib/child.ts"
import { inTempDir } from "./lib/marketpipe.ts"
import { runsOr } from "./lib/sizes.ts"
import { median, millis } from "./lib/stats.ts"

export const startCase: BenchCase = {
  name: "start",
  title: "binary start vs node -e 0",
  run: (ctx) =>
    inTempDir("start", async (cwd) => {
      const runs = runsOr(7)
      // Another checkout's entry point can be timed too (a before/after pair in one session).
      const main = resolve(process.env.BENCH_SOURCE ?? "src/cli/main.ts")
      const cases: ReadonlyArray<ReadonlyArray<string>> = [
        ["node", "-e", "0"],
        [ctx.binary, "--version"],
        [ctx.binary, "--help"],
        [ctx.binary, "jobs", "list"],
        [ctx.binary, "providers", "list"],
        [resolve("node_modules/.bin/bun"), main, "--version"]
      ]
      const env = cleanEnv()
      const once = async (argv: ReadonlyArray<string>) => (await runChild(argv, { cwd, env })).ms
      for (const argv of cases) await once(argv)
      const samples: Array<Array<number>> = cases.map(() => [])
      for (let i = 0; i < runs; i++) for (const [j, argv] of cases.entries()) samples[j]?.push(await once(argv))
      const medians = samples.map(median)
      const verdict = atMost("binary --version / node -e 0", (medians[1] as number) / (medians[0] as number), 1.0)
      console.log(`  medians: ${medians.map(millis).join(", ")}`)
      ctx.record("start", [ctx.label("empty temp dir"), runs, ...medians.map(millis), verdictCell(verdict)])
      return [verdict]
    })
}

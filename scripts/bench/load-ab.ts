/**
 * An interleaved A/B of `loadOhlcv()` between two checkouts, in one process over one lake:
 *   bun scripts/bench/load-ab.ts <checkout A> <checkout B> [rounds]
 * Each round loads one symbol-year with A then B, then B then A (so neither always goes first), and every 4th round
 * also all symbols; prints the medians and the median of the per-round B/A ratios. The lake is the one the `load`
 * case builds (`npm run bench:load` first), or BENCH_LAKE_DIR. Not part of the suite: a tool for finding regressions.
 */
import { existsSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { sizes, symbolsOf } from "./lib/sizes.ts"
import { median } from "./lib/stats.ts"

type Load = (o: { symbols: ReadonlyArray<string>; start: string; end: string; dataDir: string }) => Promise<{
  length: number
}>

const [a, b, roundsArg] = process.argv.slice(2)
if (a === undefined || b === undefined) {
  console.error("usage: bun scripts/bench/load-ab.ts <checkout A> <checkout B> [rounds]")
  process.exit(2)
}
const span = sizes.lake
const root = process.env.BENCH_LAKE_DIR ?? join(tmpdir(), `mp-bench-lake-${span.symbols}x${span.from}_${span.to}`)
const dataDir = join(root, "data")
if (!existsSync(join(root, "lake-ready.json"))) throw new Error(`no lake in ${root}: run npm run bench:load first`)
const loads: ReadonlyArray<Load> = await Promise.all(
  [a, b].map(async (dir) => (await import(resolve(dir, "mod.ts"))).loadOhlcv as Load)
)
const start = span.from
const end = new Date(Date.parse(`${span.to}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10)
const all = symbolsOf(span.symbols)
const one = [all[42 % all.length] as string]

const timed = async (load: Load, symbols: ReadonlyArray<string>) => {
  Bun.gc(true)
  const t0 = performance.now()
  const frame = await load({ symbols, start, end, dataDir })
  return { ms: performance.now() - t0, rows: frame.length }
}

const rounds = Number(roundsArg ?? 20)
const samples = { one: [[], []] as Array<Array<number>>, all: [[], []] as Array<Array<number>> }
for (const load of loads) for (let i = 0; i < 3; i++) await timed(load, one)
for (const load of loads) await timed(load, all)
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? [0, 1] : [1, 0]
  const cases: Array<[keyof typeof samples, ReadonlyArray<string>]> = [["one", one]]
  if (round % 4 === 0) cases.push(["all", all])
  for (const [name, symbols] of cases) {
    const rows: Array<number> = []
    for (const i of order) {
      const r = await timed(loads[i] as Load, symbols)
      samples[name][i]?.push(r.ms)
      rows.push(r.rows)
    }
    if (rows[0] !== rows[1]) throw new Error(`A and B disagree: ${rows.join(" vs ")} rows`)
  }
}
for (const [name, [sa, sb]] of Object.entries(samples) as Array<[string, Array<Array<number>>]>) {
  const ratios = (sa ?? []).map((x, i) => ((sb ?? [])[i] ?? Number.NaN) / x)
  console.log(
    `${name === "one" ? `1 symbol` : `${all.length} symbols`} × ${start}..${span.to}, ${sa?.length} pairs: ` +
      `A ${median(sa ?? []).toFixed(1)} ms, B ${median(sb ?? []).toFixed(1)} ms, B/A ${median(ratios).toFixed(3)}`
  )
}

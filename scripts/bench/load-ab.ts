/**
 * An interleaved A/B (or A/B/C…) of `loadOhlcv()` between checkouts, in one process over one lake:
 *   bun scripts/bench/load-ab.ts <checkout A> <checkout B> [<checkout C> …] [--rounds 40]
 * Each round loads one symbol-year with every checkout, in an order that rotates from round to round (so none always
 * goes first), and every 4th round also all symbols; prints each checkout's medians and the median of its per-round
 * ratios to A. The lake is the one the `load` case builds (`npm run bench:load` first), or BENCH_LAKE_DIR. Not part
 * of the suite: a tool for finding regressions.
 */
import { existsSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { parseArgs } from "node:util"
import { sizes, symbolsOf } from "./lib/sizes.ts"
import { median } from "./lib/stats.ts"

type Load = (o: { symbols: ReadonlyArray<string>; start: string; end: string; dataDir: string }) => Promise<{
  length: number
}>

const { values, positionals } = parseArgs({
  options: { rounds: { type: "string", default: "40" } },
  allowPositionals: true
})
if (positionals.length < 2) {
  console.error("usage: bun scripts/bench/load-ab.ts <checkout A> <checkout B> [<checkout C> …] [--rounds 40]")
  process.exit(2)
}
const span = sizes.lake
const root = process.env.BENCH_LAKE_DIR ?? join(tmpdir(), `mp-bench-lake-${span.symbols}x${span.from}_${span.to}`)
const dataDir = join(root, "data")
if (!existsSync(join(root, "lake-ready.json"))) throw new Error(`no lake in ${root}: run npm run bench:load first`)
const loads: ReadonlyArray<Load> = await Promise.all(
  positionals.map(async (dir) => (await import(resolve(dir, "mod.ts"))).loadOhlcv as Load)
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

const rounds = Number(values.rounds)
const samples = { one: loads.map(() => [] as Array<number>), all: loads.map(() => [] as Array<number>) }
for (const load of loads) for (let i = 0; i < 3; i++) await timed(load, one)
for (const load of loads) await timed(load, all)
for (let round = 0; round < rounds; round++) {
  const order = loads.map((_, i) => (i + round) % loads.length)
  const cases: Array<[keyof typeof samples, ReadonlyArray<string>]> = [["one", one]]
  if (round % 4 === 0) cases.push(["all", all])
  for (const [name, symbols] of cases) {
    const rows = new Set<number>()
    for (const i of order) {
      const r = await timed(loads[i] as Load, symbols)
      samples[name][i]?.push(r.ms)
      rows.add(r.rows)
    }
    if (rows.size !== 1) throw new Error(`the checkouts disagree: ${[...rows].join(" vs ")} rows`)
  }
}
for (const [name, perCheckout] of Object.entries(samples)) {
  const base = perCheckout[0] ?? []
  console.log(`${name === "one" ? "1 symbol" : `${all.length} symbols`} × ${start}..${span.to}, ${base.length} rounds:`)
  for (const [i, xs] of perCheckout.entries()) {
    const ratio = median(xs.map((x, k) => x / (base[k] ?? Number.NaN)))
    console.log(
      `  ${positionals[i]}: median ${median(xs).toFixed(1)} ms, ${ratio.toFixed(3)}× A (median of per-round ratios)`
    )
  }
}

/**
 * Deterministic synthetic minute bars: the same seed, symbol and day give the same bars in any process, so tests and
 * benchmarks can compare lakes row for row. Prices follow a random walk with realistic OHLC invariants.
 */
import type { BarBatch, Session, Symbol } from "../../mod.ts"

/** FNV-1a, 32-bit. */
export function hash32(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** mulberry32: a small, fast PRNG with a 32-bit state. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const round4 = (x: number) => Math.round(x * 10_000) / 10_000

export interface GenerateOptions {
  readonly seed: string
  /** Fraction of minutes with no bar (a thinly traded symbol). */
  readonly missingRate: number
  /** Every n-th bar is broken (high below low) so validation has something to catch; 0 = never. */
  readonly invalidEvery: number
}

/** One session of 1-minute bars for a symbol, written into `alloc(n)` columns. */
export function generateSession(
  symbol: Symbol,
  session: Session,
  options: GenerateOptions,
  alloc: (symbol: Symbol, length: number) => BarBatch
): BarBatch {
  const minutes = Math.round((session.close - session.open) / 60_000)
  const rand = prng(hash32(`${options.seed}|${symbol}|${session.day}`))
  const base = 20 + (hash32(`${options.seed}|${symbol}`) % 48_000) / 100
  let price = base * Math.exp((rand() - 0.5) * 0.2)
  const out = alloc(symbol, minutes)
  let n = 0
  for (let m = 0; m < minutes; m++) {
    // Box-Muller from two uniforms; always draw the same count per minute so skipping bars keeps the walk stable.
    const g = Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand())
    const wick = rand()
    const volumeDraw = rand()
    const missing = rand() < options.missingRate
    const open = round4(price)
    const close = round4(price * Math.exp(g * 0.0008))
    price = close
    if (missing) continue
    const high = round4(Math.max(open, close) * (1 + wick * 0.0004))
    const low = round4(Math.min(open, close) * (1 - (1 - wick) * 0.0004))
    const volume = Math.floor(200 + volumeDraw * 20_000)
    out.ts[n] = session.open + m * 60_000
    out.open[n] = open
    out.high[n] = Math.max(high, open, close)
    out.low[n] = Math.min(low, open, close)
    out.close[n] = close
    out.volume[n] = volume
    out.tradeCount[n] = 1 + Math.floor(volume / 90)
    out.vwap[n] = round4((out.high[n]! + out.low[n]! + close) / 3)
    if (options.invalidEvery > 0 && (m + 1) % options.invalidEvery === 0) out.high[n] = out.low[n]! - 0.01
    n++
  }
  return n === minutes ? out : sliceBatch(out, n, alloc)
}

function sliceBatch(b: BarBatch, n: number, alloc: (symbol: Symbol, length: number) => BarBatch): BarBatch {
  const out = alloc(b.symbol, n)
  out.ts.set(b.ts.subarray(0, n))
  out.open.set(b.open.subarray(0, n))
  out.high.set(b.high.subarray(0, n))
  out.low.set(b.low.subarray(0, n))
  out.close.set(b.close.subarray(0, n))
  out.volume.set(b.volume.subarray(0, n))
  out.tradeCount.set(b.tradeCount.subarray(0, n))
  out.vwap.set(b.vwap.subarray(0, n))
  return out
}

/**
 * The emulator's market: the `fake` plugin's deterministic bars for any symbol, over the extended session
 * (04:00–20:00 ET, as real intraday APIs return), so an ingest through any wire format can be compared row for row
 * with an ingest from the fake provider itself. That series is the split-adjusted (continuous) one; the raw basis
 * (`basis: "raw"`) undoes the register's later splits on the days before their ex-dates (`corporate-actions.ts`),
 * so raw bars jump on an ex-date. Only the register's symbols (SPLT, RVRS) differ between the two.
 */
import { emptyBatch, makeCalendar, type Symbol } from "../../mod.ts"
import { generateSession } from "../../plugins/fake/generate.ts"
import { tradingDayOf } from "../../src/domain/partition.ts"
import { rawFactors, toRaw } from "./corporate-actions.ts"

export interface EmulatedBar {
  readonly t: number
  readonly o: number
  readonly h: number
  readonly l: number
  readonly c: number
  readonly v: number
  readonly n: number
  readonly vw: number
}

/**
 * Which prices a route serves: `continuous` (split-adjusted, the generated series) or `raw` (as traded: splits with a
 * later ex-date undone). Dividends are applied to neither.
 */
export type PriceBasis = "continuous" | "raw"

export interface Dataset {
  /** Bars of `symbol` with start in [startMs, endMs), regular session only unless `extended`; continuous by default. */
  readonly bars: (
    symbol: string,
    startMs: number,
    endMs: number,
    extended: boolean,
    basis?: PriceBasis
  ) => ReadonlyArray<EmulatedBar>
}

/**
 * Changes one trading day's minute bars of a symbol (04:00–20:00 ET, sorted by `t`) before any route sees them: a test
 * plants differences in what one provider answers (bars dropped, prices moved, a bar shifted). It sees whole days,
 * so every page, range and frame of that provider agrees; what it returns is sorted again. It sees the bars on the
 * basis served (raw ones after the raw rule); a day whose raw and continuous bars differ is altered once per basis.
 */
export type AlterDay = (symbol: string, bars: ReadonlyArray<EmulatedBar>) => ReadonlyArray<EmulatedBar>

export function makeDataset(
  options: { readonly seed?: string; readonly missingRate?: number; readonly alter?: AlterDay } = {}
): Dataset {
  const calendar = makeCalendar()
  const cache = new Map<string, ReadonlyArray<EmulatedBar>>()
  const gen = { seed: options.seed ?? "marketpipe", missingRate: options.missingRate ?? 0, invalidEvery: 0 }
  const day = (symbol: string, d: string, basis: PriceBasis): ReadonlyArray<EmulatedBar> => {
    // Days whose raw bars are the continuous ones share one cache entry (and one `alter` call).
    const raw = basis === "raw" ? rawFactors(symbol, d) : undefined
    const key = raw === undefined ? `${symbol}|${d}` : `${symbol}|${d}|raw`
    const hit = cache.get(key)
    if (hit !== undefined) return hit
    const extended = calendar.session(d, "extended")
    const regular = calendar.session(d, "regular")
    const rows: Array<EmulatedBar> = []
    if (extended !== undefined && regular !== undefined) {
      // Regular-session bars are exactly the fake provider's; pre/post-market bars come from a second walk.
      const inside = generateSession(symbol as Symbol, regular, gen, emptyBatch)
      const outside = generateSession(
        symbol as Symbol,
        extended,
        { ...gen, seed: `${gen.seed}|extended-hours` },
        emptyBatch
      )
      for (const b of [outside, inside]) {
        for (let i = 0; i < b.ts.length; i++) {
          const t = b.ts[i]!
          if ((b === inside) !== (t >= regular.open && t < regular.close)) continue
          rows.push({
            t,
            o: b.open[i]!,
            h: b.high[i]!,
            l: b.low[i]!,
            c: b.close[i]!,
            v: b.volume[i]!,
            n: b.tradeCount[i]!,
            vw: b.vwap[i]!
          })
        }
      }
      rows.sort((a, b) => a.t - b.t)
    }
    const based = raw === undefined ? rows : toRaw(rows, raw)
    const kept = options.alter === undefined ? based : [...options.alter(symbol, based)].sort((a, b) => a.t - b.t)
    if (cache.size > 50_000) cache.clear()
    cache.set(key, kept)
    return kept
  }
  return {
    bars: (symbol, startMs, endMs, extended, basis = "continuous") => {
      if (endMs <= startMs) return []
      const out: Array<EmulatedBar> = []
      for (const d of calendar.tradingDays(tradingDayOf(startMs), tradingDayOf(endMs - 1))) {
        const regular = calendar.session(d, "regular")
        for (const bar of day(symbol, d, basis)) {
          if (bar.t < startMs || bar.t >= endMs) continue
          if (!extended && (regular === undefined || bar.t < regular.open || bar.t >= regular.close)) continue
          out.push(bar)
        }
      }
      return out
    }
  }
}

/**
 * Minute bars merged into the buckets `bucketOf` names (open first, close last, high max, low min, volume and trade
 * count summed, volume-weighted vwap rounded to `vwapDecimals`), for providers' higher timeframes.
 */
export function rollUp(
  bars: ReadonlyArray<EmulatedBar>,
  bucketOf: (t: number) => number,
  vwapDecimals = 6
): Array<EmulatedBar> {
  const scale = 10 ** vwapDecimals
  const out: Array<EmulatedBar> = []
  for (const b of bars) {
    const t = bucketOf(b.t)
    const last = out[out.length - 1]
    if (last === undefined || last.t !== t) {
      out.push({ ...b, t })
      continue
    }
    const v = last.v + b.v
    out[out.length - 1] = {
      t,
      o: last.o,
      h: Math.max(last.h, b.h),
      l: Math.min(last.l, b.l),
      c: b.c,
      v,
      n: last.n + b.n,
      vw: v === 0 ? last.vw : Math.round(((last.vw * last.v + b.vw * b.v) / v) * scale) / scale
    }
  }
  return out
}

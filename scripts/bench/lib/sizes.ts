/**
 * How big each case is and how often it runs. `BENCH_QUICK=1` shrinks every case to a smoke test of the whole suite
 * (under two minutes); `BENCH_RUNS` sets the runs of every case, whose median is reported.
 */

export const quick = process.env.BENCH_QUICK === "1"

/** Runs per case: BENCH_RUNS, or the case's own default (at most 3 when quick). */
export const runsOr = (fallback: number): number => {
  const n = Number(process.env.BENCH_RUNS ?? (quick ? Math.min(fallback, 3) : fallback))
  if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_RUNS=${process.env.BENCH_RUNS}: a whole number >= 1`)
  return n
}

/** Symbols S000, S001, …: the fake provider and the emulator make bars for any ticker. */
export const symbolsOf = (n: number): ReadonlyArray<string> =>
  Array.from({ length: n }, (_, i) => `S${String(i).padStart(3, "0")}`)

/** `symbols` tickers over trading days `from..to` (inclusive, New York). */
export interface Span {
  readonly symbols: number
  readonly from: string
  readonly to: string
}

export const spanLabel = (s: Span): string => `${s.symbols} sym × ${s.from}..${s.to}`

export interface Quota {
  readonly requests: number
  readonly perSeconds: number
}

export const sizes = quick
  ? {
      ingest: { symbols: 10, from: "2024-01-02", to: "2024-01-05" },
      http: { symbols: 10, from: "2024-03-04", to: "2024-03-08" },
      backfill: { symbols: 10, from: "2024-01-01", to: "2024-01-31" },
      backfillQuota: { requests: 10, perSeconds: 2 },
      lake: { symbols: 10, from: "2024-01-01", to: "2024-02-29" },
      rssShort: { symbols: 10, from: "2024-01-02", to: "2024-01-05" },
      rssLong: { symbols: 10, from: "2024-01-01", to: "2024-01-31" }
    }
  : {
      ingest: { symbols: 100, from: "2024-01-02", to: "2024-03-28" },
      http: { symbols: 100, from: "2024-03-01", to: "2024-03-28" },
      // About 300 requests: 200 at once, then one every 0.3 s, so a run takes a little over 30 s.
      backfill: { symbols: 100, from: "2024-01-01", to: "2024-02-15" },
      backfillQuota: { requests: 200, perSeconds: 60 },
      lake: { symbols: 100, from: "2024-01-01", to: "2024-12-31" },
      rssShort: { symbols: 100, from: "2024-01-01", to: "2024-02-29" },
      rssLong: { symbols: 100, from: "2023-01-01", to: "2024-12-31" }
    }

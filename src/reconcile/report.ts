/**
 * What a `reconcile` run reports: the summary (per symbol and class, and where each side's bars came from), printed as
 * a table or as JSON, and the details files `reconcile-<time>.csv`, `.json` and `.html` under `<data_dir>/reports/`
 * (or `--out`), beside the validation reports. One row per difference: symbol, bar start, class, A's and B's
 * open/high/low/close/volume, and their relative differences. Each file is written to a temp file beside it and
 * renamed over it, so a reader never sees half a report.
 */
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { stringify } from "csv-stringify/sync"
import { Effect } from "effect"
import { StorageError } from "../domain/errors.ts"
import { commitTempFile, tempPathFor, writeTempFile } from "../lake/atomic-file.ts"
import type { ClassCounts, Difference } from "./compare.ts"
import { reconcileHtml } from "./html.ts"

/** One side as the summary tells it. */
export interface SideSummary {
  readonly provider: string
  readonly feed: string
  /** Symbol-days read from the lake, and fetched from the provider. */
  readonly lake_days: number
  readonly fetched_days: number
  readonly bars: number
}

export interface SymbolSummary extends ClassCounts {
  readonly symbol: string
  readonly bars_a: number
  readonly bars_b: number
}

export interface ReconcileSummary {
  readonly a: SideSummary
  readonly b: SideSummary
  readonly frame: string
  readonly session: string
  readonly from: string
  readonly to: string
  /** Trading days compared (those whose session had closed). */
  readonly days: number
  readonly tolerances: {
    readonly price: number
    readonly volume: number
    readonly iex_volume: number
    /** The volume tolerance this comparison used: `iex_volume` when exactly one side's feed is `iex`. */
    readonly volume_applied: number
  }
  readonly totals: ClassCounts
  readonly symbols: ReadonlyArray<SymbolSummary>
  readonly reports: { readonly csv: string; readonly json: string; readonly html: string }
}

/** The columns of a details row, in file order. */
export const detailColumns = [
  "symbol",
  "ts",
  "class",
  "b_ts",
  "a_open",
  "a_high",
  "a_low",
  "a_close",
  "a_volume",
  "b_open",
  "b_high",
  "b_low",
  "b_close",
  "b_volume",
  "rel_open",
  "rel_high",
  "rel_low",
  "rel_close",
  "rel_volume"
] as const

export type DetailRow = Readonly<Record<(typeof detailColumns)[number], string | number | null>>

const iso = (ms: number) => new Date(ms).toISOString()

/** A difference as a details row; what a side lacks is `null` (an empty CSV cell). */
export function detailRow(d: Difference): DetailRow {
  return {
    symbol: d.symbol,
    ts: iso(d.ts),
    class: d.class,
    b_ts: d.b === undefined ? null : iso(d.b.ts),
    a_open: d.a?.open ?? null,
    a_high: d.a?.high ?? null,
    a_low: d.a?.low ?? null,
    a_close: d.a?.close ?? null,
    a_volume: d.a?.volume ?? null,
    b_open: d.b?.open ?? null,
    b_high: d.b?.high ?? null,
    b_low: d.b?.low ?? null,
    b_close: d.b?.close ?? null,
    b_volume: d.b?.volume ?? null,
    rel_open: d.relative?.open ?? null,
    rel_high: d.relative?.high ?? null,
    rel_low: d.relative?.low ?? null,
    rel_close: d.relative?.close ?? null,
    rel_volume: d.relative?.volume ?? null
  }
}

/** Where a run's details files go: `reconcile-<UTC time, ms, colons as dashes>.{csv,json,html}` in `dir`. */
export function reportPaths(dir: string, at: number): ReconcileSummary["reports"] {
  const base = join(dir, `reconcile-${iso(at).replaceAll(":", "-")}`)
  return { csv: `${base}.csv`, json: `${base}.json`, html: `${base}.html` }
}

/** Writes `text` to `path` through a temp file beside it, fsynced and renamed over it. */
const writeAtomically = (path: string, text: string) =>
  Effect.tryPromise({
    try: async () => {
      const temp = tempPathFor(path)
      writeTempFile(temp, new TextEncoder().encode(text))
      await commitTempFile(temp, path)
    },
    catch: (e) => new StorageError({ path, reason: e instanceof Error ? e.message : String(e) })
  })

/** Writes the CSV, JSON (`{ summary, differences }`) and HTML details of a run to `summary.reports`. */
export const writeReconcileReport = (dir: string, summary: ReconcileSummary, differences: ReadonlyArray<Difference>) =>
  Effect.gen(function* () {
    yield* Effect.try({
      try: () => mkdirSync(dir, { recursive: true }),
      catch: (e) => new StorageError({ path: dir, reason: e instanceof Error ? e.message : String(e) })
    })
    const rows = differences.map(detailRow)
    yield* writeAtomically(summary.reports.csv, stringify(rows, { header: true, columns: [...detailColumns] }))
    yield* writeAtomically(summary.reports.json, `${JSON.stringify({ summary, differences: rows }, null, 1)}\n`)
    yield* writeAtomically(summary.reports.html, reconcileHtml(summary, rows))
  })

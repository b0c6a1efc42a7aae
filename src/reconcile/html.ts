/**
 * The HTML page of a `reconcile` run: the summary per symbol and class, and the differences one row each (the first
 * `HTML_ROWS`; the CSV and JSON files have them all). One self-contained file, no scripts, no downloads; every value
 * from outside (provider and feed names, symbols) is escaped.
 */
import { type DifferenceClass, differenceClasses } from "./compare.ts"
import type { DetailRow, ReconcileSummary, SideSummary } from "./report.ts"

/** The page lists at most this many differences. */
export const HTML_ROWS = 10_000

const escape = (s: string) => s.replace(/[&<>"']/gu, (c) => `&#${c.charCodeAt(0)};`)

const colour: Record<DifferenceClass, string> = {
  missing_a: "#f0ad4e",
  missing_b: "#f0ad4e",
  price: "#d9534f",
  volume: "#5b9bd5",
  shift: "#9b59b6"
}

const cell = (v: string | number | null) => `<td>${v === null ? "" : escape(String(v))}</td>`

const sideLine = (label: string, s: SideSummary) =>
  `<li>${label}: <b>${escape(s.provider)}/${escape(s.feed)}</b>, ${s.bars} bars (${s.lake_days} symbol-day(s) from the lake, ${s.fetched_days} fetched)</li>`

export function reconcileHtml(summary: ReconcileSummary, rows: ReadonlyArray<DetailRow>): string {
  const title = `Reconcile ${summary.a.provider}/${summary.a.feed} vs ${summary.b.provider}/${summary.b.feed}, ${summary.frame} ${summary.session}, ${summary.from}..${summary.to}`
  const head = differenceClasses.map((c) => `<th><i style="background:${colour[c]}"></i>${c}</th>`).join("")
  const counts = (c: Readonly<Record<DifferenceClass, number>>) =>
    differenceClasses.map((k) => `<td class="n">${c[k]}</td>`).join("")
  const symbols = summary.symbols
    .map(
      (s) =>
        `<tr><th>${escape(s.symbol)}</th><td class="n">${s.bars_a}</td><td class="n">${s.bars_b}</td>${counts(s)}</tr>`
    )
    .join("\n")
  const shown = rows.slice(0, HTML_ROWS)
  const details = shown
    .map((r) => {
      const c = r.class as DifferenceClass
      return `<tr class="diff ${escape(String(r.class))}" style="border-left:4px solid ${colour[c] ?? "#999"}">${Object.values(r).map(cell).join("")}</tr>`
    })
    .join("\n")
  const columns = rows.length === 0 ? [] : Object.keys(rows[0] as DetailRow)
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse}td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left}
td.n{text-align:right}th i{display:inline-block;width:10px;height:10px;margin-right:4px}
table.diffs td{font:12px ui-monospace,monospace}
</style></head><body>
<h1>${escape(title)}</h1>
<ul>
${sideLine("A", summary.a)}
${sideLine("B", summary.b)}
<li>${summary.days} trading day(s); tolerances: price ${summary.tolerances.price}, volume ${summary.tolerances.volume_applied}</li>
</ul>
<h2>Differences per symbol and class</h2>
<table class="summary"><tr><th>symbol</th><th>bars A</th><th>bars B</th>${head}</tr>
${symbols}
<tr><th>total</th><td class="n">${summary.a.bars}</td><td class="n">${summary.b.bars}</td>${counts(summary.totals)}</tr>
</table>
<h2>Differences${rows.length > shown.length ? ` (the first ${shown.length} of ${rows.length}; all are in the CSV and JSON files)` : ` (${rows.length})`}</h2>
${
  rows.length === 0
    ? "<p>None: the two sources agree within the tolerances.</p>"
    : `<table class="diffs"><tr>${columns.map((c) => `<th>${escape(c)}</th>`).join("")}</tr>\n${details}\n</table>`
}
</body></html>
`
}

/**
 * The HTML validation report: a coverage heatmap (symbols × trading days, coloured by ledger status) and the
 * counts per rule — one self-contained file to open in a browser, no scripts, no downloads.
 */
import type { CoverageRecord, ValidationRun } from "../repository/model.ts"

const colour: Record<string, string> = {
  complete: "#2e9e5b",
  partial: "#a5d46a",
  empty: "#c9c9c9",
  invalid: "#d9534f",
  missing: "#f0ad4e"
}

const escape = (s: string) => s.replace(/[&<>"']/gu, (c) => `&#${c.charCodeAt(0)};`)

export function htmlReport(input: {
  readonly title: string
  readonly days: ReadonlyArray<string>
  readonly symbols: ReadonlyArray<string>
  readonly coverage: ReadonlyArray<CoverageRecord>
  readonly run: ValidationRun | undefined
}): string {
  const cell = new Map(input.coverage.map((r) => [`${r.symbol}|${r.day}`, r]))
  const header = input.days.map((d) => `<th title="${d}">${d.slice(5)}</th>`).join("")
  const rows = input.symbols
    .map((symbol) => {
      const cells = input.days
        .map((day) => {
          const r = cell.get(`${symbol}|${day}`)
          const status = r?.status ?? "missing"
          const tip = `${symbol} ${day}: ${status}${r ? ` ${r.observed}/${r.expected} bars` : ""}${r?.error ? ` — ${r.error}` : ""}`
          return `<td style="background:${colour[status]}" title="${escape(tip)}"></td>`
        })
        .join("")
      return `<tr><th class="sym">${escape(symbol)}</th>${cells}</tr>`
    })
    .join("\n")
  const totals = (input.run?.totals ?? [])
    .map(
      (t) =>
        `<tr><td>${escape(t.rule)}</td><td class="${t.severity}">${t.severity}</td><td class="n">${t.count}</td></tr>`
    )
    .join("\n")
  const legend = Object.entries(colour)
    .map(([k, c]) => `<span><i style="background:${c}"></i>${k}</span>`)
    .join(" ")
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(input.title)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table.heat{border-collapse:collapse}table.heat td{width:14px;height:14px;border:1px solid #fff}
table.heat th{font-weight:normal;font-size:10px;color:#666;writing-mode:vertical-rl;transform:rotate(180deg);padding:2px}
table.heat th.sym{writing-mode:horizontal-tb;transform:none;text-align:right;font-size:12px;color:#222;padding-right:6px}
.legend span{margin-right:12px}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}
table.rules{border-collapse:collapse}table.rules td,table.rules th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}
td.n{text-align:right}td.error{color:#c0392b}td.warning{color:#b7791f}
</style></head><body>
<h1>${escape(input.title)}</h1>
<h2>Coverage (${input.symbols.length} symbols × ${input.days.length} trading days)</h2>
<p class="legend">${legend}</p>
<table class="heat"><tr><th class="sym"></th>${header}</tr>
${rows}
</table>
<h2>Findings by rule${input.run ? ` (job ${input.run.jobId}: ${input.run.errors} quarantined, ${input.run.warnings} warnings)` : ""}</h2>
${totals === "" ? "<p>No rule fired.</p>" : `<table class="rules"><tr><th>rule</th><th>severity</th><th>bars</th></tr>\n${totals}\n</table>`}
</body></html>
`
}

/** The capability matrix, generated from what each plugin declares (never written by hand). */
import type { ProviderPlugin } from "./contract.ts"

export const matrixHeader = [
  "provider",
  "feeds",
  "timeframes",
  "max bars/request",
  "max symbols/request",
  "history",
  "rate limit",
  "adjustments",
  "credentials",
  "reference data",
  "corporate actions"
] as const

/** What a plugin's reference part can do, in a few words. */
function referenceCell(p: ProviderPlugin): string {
  const r = p.capabilities.reference
  if (r === undefined) return "none"
  const parts = [
    r.pointInTime ? "past days" : "today only",
    ...(r.delisted ? ["delisted"] : []),
    ...(r.detailFields.length > 0 ? [`details (${r.detailFields.join(", ")})`] : []),
    ...(r.marketDay ? ["market daily bars"] : [])
  ]
  return parts.join("; ")
}

/** Which corporate actions a plugin lists (contract v3). */
function actionsCell(p: ProviderPlugin): string {
  const a = p.capabilities.corporateActions
  if (a === undefined) return "none"
  const kinds = [...(a.splits ? ["splits"] : []), ...(a.dividends ? ["dividends"] : [])]
  return kinds.length === 0 ? "none" : kinds.join(", ")
}

export function matrixRows(plugins: ReadonlyArray<ProviderPlugin>): Array<Array<string>> {
  return plugins.map((p) => {
    const c = p.capabilities
    return [
      p.name,
      c.feeds.map((f) => (f === c.defaultFeed ? `${f} (default)` : f)).join(", "),
      c.timeframes.join(" "),
      c.maxBarsPerRequest.toLocaleString("en"),
      String(c.maxSymbolsPerRequest),
      c.historyDays === null ? "unlimited" : `${c.historyDays} days`,
      c.rateLimit === null ? "none" : `${c.rateLimit.requests}/${c.rateLimit.perSeconds}s`,
      c.adjustments.join(", "),
      c.credentials.length === 0 ? "none" : c.credentials.join(", "),
      referenceCell(p),
      actionsCell(p)
    ]
  })
}

const cell = (s: string) => s.replaceAll("|", "\\\\|")

export function matrixMarkdown(plugins: ReadonlyArray<ProviderPlugin>): string {
  const lines = [
    "# Providers",
    "",
    "Generated from the plugins' declared capabilities by `npm run docs` (`marketpipe providers matrix --markdown`);",
    "a test fails when this file is out of date. Rate limits are the documented defaults; override them per key",
    "with `providers.<name>.rate_limit` in the config. IEX Cloud shut down on 2024-08-31: use `alpaca` with `--feed iex`.",
    "Reference data (plugin contract v2) is what `universe refresh --provider` and `universe build --provider` read;",
    "corporate actions (contract v3) are what `actions refresh --provider` reads for adjusted reads of the raw lake.",
    "",
    `| ${matrixHeader.join(" | ")} |`,
    `| ${matrixHeader.map(() => "---").join(" | ")} |`,
    ...matrixRows(plugins).map((r) => `| ${r.map(cell).join(" | ")} |`),
    "",
    ...plugins.flatMap((p) => [`- **${p.name}**: ${p.description}`]),
    ""
  ]
  return lines.join("\n")
}

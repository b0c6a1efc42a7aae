/**
 * Universe files: one symbol per line (`#` comments, blank lines allowed) or a CSV with a `symbol` column. Every
 * entry is validated; a bad one is reported with its line so the user can fix the file.
 */
/** Ten thousand tickers with names take well under a megabyte; a bigger "universe" is a wrong path. */
export const UNIVERSE_MAX_BYTES = 16 * 1024 * 1024

import { parse } from "csv-parse/sync"
import { shown, UsageError } from "../domain/errors.ts"
import { isSymbol, normaliseSymbol, type Symbol } from "../domain/symbol.ts"

/** Whether the file is a CSV with a `symbol` column (its first line that is not blank or a comment names one). */
export function hasSymbolHeader(text: string): boolean {
  const lines = text.replace(/^\uFEFF/u, "").split(/\r?\n/u)
  const header = lines.find((l) => l.trim() !== "" && !l.trim().startsWith("#")) ?? ""
  return /(^|,)\s*"?symbol"?\s*(,|$)/iu.test(header)
}

export function parseUniverse(text: string, source: string): ReadonlyArray<Symbol> {
  const lines = text.replace(/^\uFEFF/u, "").split(/\r?\n/u)
  const entries: Array<{ line: number; raw: string }> = []
  if (hasSymbolHeader(text)) {
    let records: Array<{ record: Record<string, string>; info: { lines: number } }>
    try {
      records = parse(text, {
        columns: (h: Array<string>) => h.map((c) => c.trim().toLowerCase()),
        comment: "#",
        skip_empty_lines: true,
        bom: true,
        info: true
      })
    } catch (e) {
      const why = String((e as Error).message ?? e).split("\n")[0] ?? ""
      throw new UsageError({ field: "--universe", reason: `${source} is not a valid CSV: ${shown(why, 160)}` })
    }
    for (const { record, info } of records) entries.push({ line: info.lines, raw: record.symbol ?? "" })
  } else {
    lines.forEach((l, i) => {
      const raw = l.replace(/#.*$/u, "").trim()
      if (raw !== "") entries.push({ line: i + 1, raw })
    })
  }
  const out: Array<Symbol> = []
  for (const { line, raw } of entries) {
    const symbol = normaliseSymbol(raw)
    if (!isSymbol(symbol)) {
      throw new UsageError({
        field: "--universe",
        reason: `${source} line ${line}: ${shown(raw)} is not a valid symbol (1-15 of A-Z 0-9 . -)`
      })
    }
    if (!out.includes(symbol)) out.push(symbol)
  }
  if (out.length === 0) throw new UsageError({ field: "--universe", reason: `${source} lists no symbols` })
  return out
}

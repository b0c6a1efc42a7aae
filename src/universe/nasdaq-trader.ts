/**
 * The Nasdaq Trader symbol directory (`nasdaqlisted.txt`, `otherlisted.txt`): every US-listed security with its
 * exchange, ETF flag and test-issue flag, free and without a key. Pipe-delimited with a header naming the columns
 * (their order differs between the two files, so columns are found by name), LF or CRLF, and a footer
 * `File Creation Time: mmddyyyyhh:mm|||…` that dates the file; a file without it was cut short and is refused.
 */

import { parseSymbol } from "../domain/symbol.ts"
import type { SecurityType, SymbolMeta } from "../domain/symbol-meta.ts"

export interface SymbolDirectory {
  readonly file: "nasdaqlisted" | "otherlisted"
  /** The footer's creation time, `YYYY-MM-DDTHH:MM` (New York, as Nasdaq writes it). */
  readonly createdAt: string
  readonly symbols: ReadonlyArray<SymbolMeta>
  /** Test issues, left out. */
  readonly testIssues: number
  /** Rows whose symbol is not a ticker we can store (line numbers, 1-based). */
  readonly unreadable: ReadonlyArray<number>
}

/** `otherlisted.txt`'s exchange codes as MICs. */
const otherExchanges: Readonly<Record<string, string>> = {
  A: "XASE",
  N: "XNYS",
  P: "ARCX",
  Z: "BATS",
  V: "IEXG"
}

/** What the security name says the issue is, where the ETF flag does not: warrants, rights, units and preferreds. */
function typeOf(name: string, etf: boolean, symbol: string): SecurityType {
  if (etf) return "ETF"
  const n = name.toLowerCase()
  if (/\bwarrants?\b/u.test(n)) return "WARRANT"
  if (/\brights?\b/u.test(n)) return "RIGHT"
  if (/\bunits?\b/u.test(n)) return "UNIT"
  if (symbol.includes("$") || /\bpreferred\b|\bdepositary shares\b/u.test(n)) return "PFD"
  if (/\bcommon (stock|shares)\b|\bordinary shares\b/u.test(n)) return "CS"
  return "OTHER"
}

const FOOTER = "File Creation Time:"

/** The footer's `mmddyyyyhh:mm` as `YYYY-MM-DDTHH:MM`, or `undefined` when it is not that. */
function footerTime(line: string): string | undefined {
  const m = /^File Creation Time:\s*(\d{2})(\d{2})(\d{4})(\d{2}):(\d{2})/u.exec(line)
  return m === null ? undefined : `${m[3]}-${m[1]}-${m[2]}T${m[4]}:${m[5]}`
}

/** One directory file's text; a string says why it is not one (the caller names the file). */
export function parseSymbolDirectory(text: string): SymbolDirectory | string {
  const lines = text.split(/\r?\n/u).filter((l) => l.trim() !== "")
  const header = (lines[0] ?? "").split("|")
  const file = header[0] === "Symbol" ? "nasdaqlisted" : header[0] === "ACT Symbol" ? "otherlisted" : undefined
  if (file === undefined)
    return `not a Nasdaq Trader symbol directory: the header starts ${JSON.stringify(header[0] ?? "")}`
  const footerAt = lines.findIndex((l) => l.startsWith(FOOTER))
  const createdAt = footerAt < 0 ? undefined : footerTime(lines[footerAt] as string)
  if (createdAt === undefined || footerAt !== lines.length - 1) {
    return `the file has no "${FOOTER}" footer as its last line: it was cut short`
  }
  const column = (name: string) => header.indexOf(name)
  const at = {
    symbol: column(file === "nasdaqlisted" ? "Symbol" : "ACT Symbol"),
    name: column("Security Name"),
    etf: column("ETF"),
    test: column("Test Issue"),
    exchange: column("Exchange"),
    nasdaqSymbol: column("NASDAQ Symbol")
  }
  if (at.symbol < 0 || at.name < 0 || at.etf < 0 || at.test < 0 || (file === "otherlisted" && at.exchange < 0)) {
    return `the header lacks a column it must have: ${header.join("|")}`
  }
  const asOf = createdAt.slice(0, 10)
  const symbols: Array<SymbolMeta> = []
  const unreadable: Array<number> = []
  let testIssues = 0
  for (let i = 1; i < footerAt; i++) {
    const cells = (lines[i] as string).split("|")
    if (cells[at.test] === "Y") {
      testIssues++
      continue
    }
    const raw = cells[at.symbol] ?? ""
    // Preferreds are `JPM$C` in the ACT convention; the Nasdaq one (`JPM-C`) is a ticker we can store.
    const symbol = parseSymbol(raw) ?? (at.nasdaqSymbol < 0 ? undefined : parseSymbol(cells[at.nasdaqSymbol] ?? ""))
    if (symbol === undefined) {
      unreadable.push(i + 1)
      continue
    }
    const name = (cells[at.name] ?? "").trim()
    const exchange = file === "nasdaqlisted" ? "XNAS" : otherExchanges[cells[at.exchange] ?? ""]
    symbols.push({
      symbol,
      ...(name === "" ? {} : { name }),
      ...(exchange === undefined ? {} : { exchange }),
      type: typeOf(name, cells[at.etf] === "Y", raw),
      active: true,
      source: "nasdaqtrader",
      asOf
    })
  }
  return { file, createdAt, symbols, testIssues, unreadable }
}

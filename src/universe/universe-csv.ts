/**
 * A universe as CSV, one symbol a row with every `SymbolMeta` field a column: what `universe export` writes and
 * `universe import` reads, so a universe survives the round trip field for field (numbers as JavaScript prints them,
 * which reads back to the same double). The file also works as `--universe FILE`, which reads its `symbol` column.
 */
import { parse } from "csv-parse/sync"
import { shown, UsageError } from "../domain/errors.ts"
import { parseSymbol } from "../domain/symbol.ts"
import { type SecurityType, type SymbolMeta, securityTypes } from "../domain/symbol-meta.ts"

type Kind = "text" | "number" | "boolean" | "date" | "type" | "sources"

/** Column, field, what it holds; in this order in every file written. */
const columns = [
  ["symbol", "symbol", "text"],
  ["name", "name", "text"],
  ["exchange", "exchange", "text"],
  ["type", "type", "type"],
  ["sector", "sector", "text"],
  ["industry", "industry", "text"],
  ["sic", "sic", "text"],
  ["market_cap", "marketCap", "number"],
  ["shares_outstanding", "sharesOutstanding", "number"],
  ["avg_volume", "avgVolume", "number"],
  ["last_close", "lastClose", "number"],
  ["currency", "currency", "text"],
  ["active", "active", "boolean"],
  ["list_date", "listDate", "date"],
  ["delist_date", "delistDate", "date"],
  ["source", "source", "text"],
  ["as_of", "asOf", "date"],
  // Per field, the source it came from (`name=polygon;sector=finnhub`); written when any member has one.
  ["sources", "sources", "sources"]
] as const satisfies ReadonlyArray<readonly [string, keyof SymbolMeta, Kind]>

export const universeCsvColumns: ReadonlyArray<string> = columns.map(([c]) => c)

/** The metadata fields by column name, for the `sources` cell, which names fields as the header does. */
const fieldOfColumn = new Map<string, string>(
  columns.filter(([c]) => !["symbol", "source", "as_of", "sources"].includes(c)).map(([c, f]) => [c, f])
)
const columnOfField = new Map<string, string>([...fieldOfColumn].map(([c, f]) => [f, c]))

const sourcesCell = (sources: Readonly<Record<string, string | undefined>>) =>
  Object.entries(sources)
    .flatMap(([field, source]) => {
      const column = columnOfField.get(field)
      return column === undefined || source === undefined ? [] : [`${column}=${source}`]
    })
    .join(";")

const hasSources = (m: SymbolMeta) => m.sources !== undefined && Object.keys(m.sources).length > 0

const quoted = (s: string) => (/[",\r\n]/u.test(s) || s !== s.trim() ? `"${s.replaceAll('"', '""')}"` : s)

/** The CSV of `members`, header first, `\n` line ends. */
export function universeToCsv(members: ReadonlyArray<SymbolMeta>): string {
  const written = members.some(hasSources) ? columns : columns.filter(([c]) => c !== "sources")
  const lines = [written.map(([c]) => c).join(",")]
  for (const m of members) {
    lines.push(
      written
        .map(([, field]) => {
          const v = m[field]
          if (v === undefined) return ""
          return quoted(typeof v === "object" ? sourcesCell(v) : String(v))
        })
        .join(",")
    )
  }
  return `${lines.join("\n")}\n`
}

const isDate = (s: string) => /^\d{4}-\d{2}-\d{2}$/u.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`))

/** One cell as its field's value; a string names what is wrong. */
function cellValue(kind: Kind, cell: string): unknown {
  switch (kind) {
    case "number": {
      const n = Number(cell)
      return /^[0-9.eE+-]+$/u.test(cell) && Number.isFinite(n) && n >= 0 ? n : new Error("a number of 0 or more")
    }
    case "boolean":
      return cell === "true" ? true : cell === "false" ? false : new Error("true or false")
    case "date":
      return isDate(cell) ? cell : new Error("a date as YYYY-MM-DD")
    case "type":
      return (securityTypes as ReadonlyArray<string>).includes(cell)
        ? (cell as SecurityType)
        : new Error(`one of ${securityTypes.join(", ")}`)
    case "sources":
      return sourcesOf(cell)
    default:
      return cell
  }
}

/** A `sources` cell as the per-field map; an `Error` says what a part should look like. */
function sourcesOf(cell: string): Record<string, string> | Error {
  const out: Record<string, string> = {}
  for (const part of cell.split(";")) {
    const m = /^([a-z_]+)=([a-z0-9][a-z0-9_-]{0,31})$/u.exec(part.trim())
    const field = m === null ? undefined : fieldOfColumn.get(m[1] as string)
    if (m === null || field === undefined) {
      return new Error(`column=source pairs separated by ';' (name=polygon;sector=finnhub), columns from the header`)
    }
    out[field] = m[2] as string
  }
  return out
}

/** A universe CSV (`file` names it in errors): every row a symbol, every cell what its column holds. */
export function universeFromCsv(text: string, file: string): Array<SymbolMeta> {
  const refuse = (reason: string) => new UsageError({ field: "universe import", reason: `${file}: ${reason}` })
  let rows: Array<{ record: Record<string, string>; info: { lines: number } }>
  let header: Array<string> = []
  try {
    rows = parse(text, {
      columns: (h: Array<string>) => {
        header = h.map((c) => c.trim().toLowerCase())
        return header
      },
      skip_empty_lines: true,
      bom: true,
      info: true,
      relax_column_count: false
    })
  } catch (e) {
    throw refuse(`not a valid CSV: ${shown(String((e as Error).message ?? e).split("\n")[0] ?? "", 160)}`)
  }
  if (!header.includes("symbol")) throw refuse(`no symbol column (columns: ${universeCsvColumns.join(", ")})`)
  const unknown = header.find((c) => !universeCsvColumns.includes(c))
  if (unknown !== undefined) {
    throw refuse(`unknown column ${shown(unknown, 40)}; the columns are ${universeCsvColumns.join(", ")}`)
  }
  const seen = new Set<string>()
  return rows.map(({ record, info }) => {
    const symbol = parseSymbol(record.symbol ?? "")
    if (symbol === undefined) throw refuse(`line ${info.lines}: ${shown(record.symbol ?? "")} is not a valid symbol`)
    if (seen.has(symbol)) throw refuse(`line ${info.lines}: ${symbol} is listed twice`)
    seen.add(symbol)
    const meta: Record<string, unknown> = { symbol }
    for (const [column, field, kind] of columns) {
      const cell = record[column]
      if (field === "symbol" || cell === undefined || cell === "") continue
      const value = cellValue(kind, cell)
      if (value instanceof Error) {
        throw refuse(`line ${info.lines} column ${column}: ${shown(cell, 40)} is not ${value.message}`)
      }
      meta[field] = value
    }
    return meta as unknown as SymbolMeta
  })
}

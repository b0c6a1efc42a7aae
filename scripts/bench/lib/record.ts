/**
 * Appends a result row to the table that follows `<!-- bench:NAME -->` in BENCHMARKS.md; the row must have as many
 * cells as the table's header, so a case and its table cannot drift apart unnoticed.
 */
import { readFileSync, writeFileSync } from "node:fs"

const FILE = "BENCHMARKS.md"

const cellsOf = (line: string): number => line.split("|").length - 2

export function recordRow(name: string, cells: ReadonlyArray<string | number>): void {
  const lines = readFileSync(FILE, "utf8").split("\n")
  const marker = lines.indexOf(`<!-- bench:${name} -->`)
  if (marker < 0) throw new Error(`${FILE} has no <!-- bench:${name} --> marker`)
  let end = marker + 1
  while (end < lines.length && !(lines[end] ?? "").startsWith("|")) end++
  const header = lines[end]
  if (header === undefined) throw new Error(`${FILE}: no table after <!-- bench:${name} -->`)
  if (cellsOf(header) !== cells.length) {
    throw new Error(`${FILE} bench:${name} has ${cellsOf(header)} columns, the row ${cells.length}`)
  }
  while (end < lines.length && (lines[end] ?? "").startsWith("|")) end++
  lines.splice(end, 0, `| ${cells.map((c) => String(c).replaceAll("|", "\\|")).join(" | ")} |`)
  writeFileSync(FILE, lines.join("\n"))
}

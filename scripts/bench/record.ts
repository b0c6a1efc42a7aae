/** Appends a result row to the table that follows `<!-- bench:NAME -->` in BENCHMARKS.md. */
import { readFileSync, writeFileSync } from "node:fs"

export function recordRow(name: string, cells: ReadonlyArray<string | number>): void {
  const lines = readFileSync("BENCHMARKS.md", "utf8").split("\n")
  const marker = lines.indexOf(`<!-- bench:${name} -->`)
  if (marker < 0) throw new Error(`BENCHMARKS.md has no <!-- bench:${name} --> marker`)
  let end = marker + 1
  while (end < lines.length && !(lines[end] ?? "").startsWith("|")) end++
  while (end < lines.length && (lines[end] ?? "").startsWith("|")) end++
  lines.splice(end, 0, `| ${cells.join(" | ")} |`)
  writeFileSync("BENCHMARKS.md", lines.join("\n"))
}

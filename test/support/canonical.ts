/** The canonical bar set every provider fixture encodes (`test/fixtures/providers/canonical/bars_1min.csv`). */
import { readFileSync } from "node:fs"
import { resolve } from "node:path"

export interface CanonicalBar {
  readonly symbol: string
  readonly ts: number
  readonly open: number
  readonly high: number
  readonly low: number
  readonly close: number
  readonly volume: number
  readonly vwap: number
  readonly trade_count: number
}

export const fixturesDir = resolve(import.meta.dir, "../fixtures/providers")

export function canonicalBars(): Array<CanonicalBar> {
  const [header, ...lines] = readFileSync(resolve(fixturesDir, "canonical/bars_1min.csv"), "utf8").trim().split("\n")
  const cols = (header ?? "").split(",")
  return lines.map((line) => {
    const cells = line.split(",")
    const get = (name: string) => cells[cols.indexOf(name)] ?? ""
    return {
      symbol: get("symbol"),
      ts: Date.parse(get("ts_utc")),
      open: Number(get("open")),
      high: Number(get("high")),
      low: Number(get("low")),
      close: Number(get("close")),
      volume: Number(get("volume")),
      vwap: Number(get("vwap")),
      trade_count: Number(get("trade_count"))
    }
  })
}

export const readFixture = (path: string): unknown => JSON.parse(readFileSync(resolve(fixturesDir, path), "utf8"))

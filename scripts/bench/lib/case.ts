/** What a benchmark case is, what it gets from the suite, and the verdicts it hands back. */
import { type Machine, machineCell } from "./machine.ts"
import { recordRow } from "./record.ts"
import { quick } from "./sizes.ts"

/** One measured ratio against its target. */
export interface Verdict {
  readonly what: string
  readonly value: number
  readonly shown: string
  readonly target: string
  /** `undefined` for a figure the issue sets no target for. */
  readonly met: boolean | undefined
}

export interface CaseContext {
  readonly binary: string
  readonly machine: Machine
  /** Appends `[date, commit, ...cells, machine]` to the case's table (unless recording is off). */
  readonly record: (table: string, cells: ReadonlyArray<string | number>) => void
  /** A note for the `case` column: the size, with `BENCH_LABEL` and `quick` when set. */
  readonly label: (what: string) => string
}

export interface BenchCase {
  readonly name: string
  readonly title: string
  readonly run: (ctx: CaseContext) => Promise<ReadonlyArray<Verdict>>
}

/** Ratios show two decimals and their targets one (`0.62×`, `≥ 0.5×`), milliseconds one, megabytes none. */
const shown = (x: number, unit: string) => `${x.toFixed(unit === "×" ? 2 : unit === " ms" ? 1 : 0)}${unit}`
const shownTarget = (x: number, unit: string) => `${x.toFixed(unit === "×" ? 1 : 0)}${unit}`

export const atLeast = (what: string, value: number, target: number, unit = "×"): Verdict => ({
  what,
  value,
  shown: shown(value, unit),
  target: `≥ ${shownTarget(target, unit)}`,
  met: value >= target
})

export const atMost = (what: string, value: number, target: number, unit = "×"): Verdict => ({
  what,
  value,
  shown: shown(value, unit),
  target: `≤ ${shownTarget(target, unit)}`,
  met: value <= target
})

export const reported = (what: string, value: number, shown: string): Verdict => ({
  what,
  value,
  shown,
  target: "none set",
  met: undefined
})

/** A verdict as a table cell: `0.62× (≥ 0.5×: met)`. */
export const verdictCell = (v: Verdict): string =>
  v.met === undefined ? v.shown : `${v.shown} (${v.target}: ${v.met ? "met" : "not met"})`

/** Quick runs print but do not record, unless BENCH_RECORD=1; BENCH_RECORD=0 never records. */
const recording = process.env.BENCH_RECORD === undefined ? !quick : process.env.BENCH_RECORD === "1"

export function makeContext(binary: string, machine: Machine): CaseContext {
  const date = new Date().toISOString().slice(0, 10)
  const extra = [process.env.BENCH_LABEL, quick ? "BENCH_QUICK" : undefined].filter((x) => x !== undefined)
  return {
    binary,
    machine,
    record: (table, cells) => {
      const row = [date, machine.commit, ...cells, machineCell(machine)]
      console.log(`  row: ${row.join(" | ")}`)
      if (recording) recordRow(table, row)
    },
    label: (what) => (extra.length === 0 ? what : `${what} (${extra.join(", ")})`)
  }
}

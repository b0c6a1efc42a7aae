/**
 * Decoding the planned files: each file's row groups go straight into its reserved place in the output through the
 * lake's one column reader (`read/row-group.ts`); the exact range boundaries, and the sessions when asked, are then
 * cut by binary search on the sorted `ts`. A file is one Effect step (`onLakeFile`): the reads inside it are plain
 * awaits, since every suspension of a fiber costs more than the await it wraps.
 */
import type { Effect } from "effect"
import { dayFromNumber, makeCalendar, newYorkDayOf } from "../../domain/calendar.ts"
import type { StorageError } from "../../domain/errors.ts"
import { splitByDay } from "../../domain/partition.ts"
import { footerOf, NotALakeFile } from "../read/lake-file.ts"
import { readGroup, type Target } from "../read/row-group.ts"
import type { Output } from "./frame.ts"
import type { OhlcvColumn, Resolved } from "./options.ts"
import { columnsOf, type FilePlan, LakeChanged, onLakeFile, selectGroups } from "./plan.ts"

const calendar = makeCalendar()

/** First index in `[lo, hi)` whose value is ≥ `x` (`hi` when none). */
function lowerBound(a: Float64Array, x: number, lo: number, hi: number): number {
  let l = lo
  let h = hi
  while (l < h) {
    const m = (l + h) >>> 1
    if ((a[m] as number) < x) l = m + 1
    else h = m
  }
  return l
}

/**
 * The ranges of sorted `ts[from, to)` inside `[start, end)`, of the given days only when `days` is set, and, when
 * asked, inside the sessions of their days.
 */
function keep(
  r: Resolved<OhlcvColumn>,
  ts: Float64Array,
  from: number,
  to: number,
  days?: ReadonlySet<string>
): Array<readonly [number, number]> {
  const lo = lowerBound(ts, r.start, from, to)
  const hi = lowerBound(ts, r.end, lo, to)
  if (hi <= lo) return []
  if (days !== undefined) return keepDays(r, ts, lo, hi, days)
  if (r.session === "all") return [[lo, hi]]
  const out: Array<readonly [number, number]> = []
  for (let d = newYorkDayOf(ts[lo] as number), last = newYorkDayOf(ts[hi - 1] as number); d <= last; d++) {
    const s = calendar.session(dayFromNumber(d), r.session)
    if (s === undefined) continue
    const a = lowerBound(ts, s.open, lo, hi)
    const b = lowerBound(ts, s.close, a, hi)
    if (b > a) out.push([a, b])
  }
  return out
}

/** `keep` restricted to the rows of `days` (their New York trading day), each day's range cut as `keep` cuts it. */
function keepDays(
  r: Resolved<OhlcvColumn>,
  ts: Float64Array,
  lo: number,
  hi: number,
  days: ReadonlySet<string>
): Array<readonly [number, number]> {
  const out: Array<readonly [number, number]> = []
  for (const part of splitByDay(ts.subarray(lo, hi))) {
    if (days.has(part.day)) out.push(...keep(r, ts, lo + part.from, lo + part.to))
  }
  return out
}

/**
 * Decodes the planned row groups of a file into `out` from `offset` (at most `plan.rows` rows) and returns the output
 * ranges `[from, to)` to keep: inside `[start, end)` and, when asked, inside the sessions.
 */
export const decodeFile = (
  r: Resolved<OhlcvColumn>,
  plan: FilePlan,
  out: Output,
  offset: number
): Effect.Effect<Array<readonly [number, number]> | undefined, StorageError | LakeChanged> =>
  onLakeFile(plan.path, async ({ file, identity }) => {
    let { metadata, groups, rows } = plan
    if (identity !== plan.identity) {
      // Replaced since it was planned (a writer renamed a new version in): plan it again; it must still fit.
      metadata = await footerOf(file)
      ;({ groups, rows } = selectGroups(r, metadata))
      if (rows > plan.rows) throw new LakeChanged()
    }
    const elements = columnsOf(metadata)
    if (!elements.has("ts") || (elements.get("ts")?.children.length ?? 0) > 0) {
      throw new NotALakeFile({ reason: "it has no ts column" })
    }
    const targets: Array<Target> = [{ name: "ts", dest: out.ts }]
    for (const [c, dest] of out.columns) {
      // Lake columns are flat: a group in their place is not one (and its leaves would go unchecked to hyparquet).
      if ((elements.get(c)?.children.length ?? 0) > 0) {
        throw new NotALakeFile({ reason: `its ${c} column is not a flat column` })
      }
      if (elements.has(c)) targets.push({ name: c, dest })
      // A column this file does not have: "not reported" (NaN), or not partial (0, as allocated).
      else if (dest instanceof Float64Array) dest.fill(Number.NaN, offset, offset + rows)
    }
    const starts: Array<number> = []
    metadata.row_groups.reduce((at, g) => (starts.push(at), at + Number(g.num_rows)), 0)
    let at = offset
    for (const index of groups) {
      const group = metadata.row_groups[index]
      if (group === undefined) continue
      const n = Number(group.num_rows)
      await readGroup(file, metadata, group, elements, targets, at, starts[index] ?? 0, n)
      at += n
    }
    return keep(r, out.ts, offset, at, plan.days)
  })

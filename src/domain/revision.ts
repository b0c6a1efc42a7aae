/**
 * What changed in a day a provider rewrote: the bars it added, removed and changed (matched by start time), with a
 * few examples of each for the audit record. Pure: the caller reads both versions of the day.
 */
import type { BarBatch } from "./bar.ts"

/** One example of a change, as the `revisions` table keeps it. */
export interface RevisionSample {
  readonly ts: string
  readonly change: "added" | "removed" | "changed"
  /** For `changed`: each field that differs, old and new. */
  readonly fields?: Readonly<Record<string, { readonly old: number | null; readonly new: number | null }>>
}

export interface DayRevision {
  readonly added: number
  readonly removed: number
  readonly changed: number
  readonly sample: ReadonlyArray<RevisionSample>
}

const SAMPLE_SIZE = 5

const FIELDS = ["open", "high", "low", "close", "volume", "tradeCount", "vwap"] as const

/** NaN (not reported) as null, so the sample is JSON. */
const value = (n: number): number | null => (Number.isNaN(n) ? null : n)

/** Bar-by-bar differences between the day the lake held and the day the provider sent now. */
export function diffDay(before: BarBatch, after: BarBatch): DayRevision {
  const old = new Map<number, number>()
  for (let i = 0; i < before.ts.length; i++) old.set(before.ts[i] as number, i)
  const sample: Array<RevisionSample> = []
  const note = (s: RevisionSample) => {
    if (sample.length < SAMPLE_SIZE) sample.push(s)
  }
  let [added, changed] = [0, 0]
  for (let j = 0; j < after.ts.length; j++) {
    const ts = after.ts[j] as number
    const i = old.get(ts)
    if (i === undefined) {
      added++
      note({ ts: new Date(ts).toISOString(), change: "added" })
      continue
    }
    old.delete(ts)
    const fields: Record<string, { old: number | null; new: number | null }> = {}
    for (const f of FIELDS) {
      const [a, b] = [before[f][i] as number, after[f][j] as number]
      if (!(a === b || (Number.isNaN(a) && Number.isNaN(b)))) fields[f] = { old: value(a), new: value(b) }
    }
    if (Object.keys(fields).length > 0) {
      changed++
      note({ ts: new Date(ts).toISOString(), change: "changed", fields })
    }
  }
  for (const ts of old.keys()) note({ ts: new Date(ts).toISOString(), change: "removed" })
  return { added, removed: old.size, changed, sample }
}

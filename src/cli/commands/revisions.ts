/**
 * `marketpipe revisions list`: the days a revalidating backfill found rewritten by their provider, newest first, with
 * what changed (bars added, removed, changed) and a sample of the changes.
 */
import { Clock, Effect, Option } from "effect"
import { ageCutoff, parseAge } from "../../domain/age.ts"
import { shown, UsageError } from "../../domain/errors.ts"
import { tradingDayOf } from "../../domain/partition.ts"
import { readStorageLayer } from "../../pipeline/context.ts"
import { type RevisionRecord, Revisions } from "../../repository/revisions.ts"
import { type CommonFlags, checkInput, currentEnvironment, type Environment, loadApp } from "../app.ts"
import { parseSymbols } from "../inputs.ts"
import { makeOutput, table } from "../output.ts"

export interface RevisionsListFlags extends CommonFlags {
  readonly symbols: Option.Option<string>
  readonly since: Option.Option<string>
  readonly limit: number
}

/** `--since`: a day (New York midnight), an ISO instant, or an age back from today (7d, 3m). */
export function sinceInstant(raw: string, now: number): string {
  const s = raw.trim()
  if (/^\d{4}-\d{2}-\d{2}$/u.test(s) && Number.isFinite(Date.parse(`${s}T00:00:00Z`))) return `${s}T00:00:00.000Z`
  if (/^\d{4}-\d{2}-\d{2}T/u.test(s) && Number.isFinite(Date.parse(s))) return new Date(Date.parse(s)).toISOString()
  const age = parseAge(s)
  const cutoff = age === undefined || age === "never" ? undefined : ageCutoff(age, tradingDayOf(now))
  if (cutoff === undefined) {
    throw new UsageError({
      field: "--since",
      reason: `${shown(s)} is not a time; use YYYY-MM-DD, an ISO date-time, or an age such as 7d, 3m or 1y`
    })
  }
  return `${cutoff}T00:00:00.000Z`
}

const sampleText = (r: RevisionRecord): string => {
  const first = r.sample[0]
  if (first === undefined) return ""
  const fields = Object.entries(first.fields ?? {})
    .map(([f, v]) => `${f} ${v.old ?? "null"} → ${v.new ?? "null"}`)
    .join(", ")
  return `${first.ts.slice(11, 16)}Z ${first.change}${fields === "" ? "" : `: ${fields}`}`
}

export const revisionsListMain = (flags: RevisionsListFlags, environment: Environment = currentEnvironment()) =>
  Effect.gen(function* () {
    const app = yield* loadApp(flags, environment)
    const out = makeOutput({ json: flags.json, tty: process.stderr.isTTY === true })
    const now = yield* Clock.currentTimeMillis
    const symbols = yield* checkInput(() =>
      Option.match(flags.symbols, { onNone: () => [], onSome: (s) => parseSymbols("--symbols", s) })
    )
    const since = yield* checkInput(() =>
      Option.match(flags.since, { onNone: () => undefined, onSome: (s) => sinceInstant(s, now) })
    )
    if (!Number.isInteger(flags.limit) || flags.limit < 0) {
      return yield* new UsageError({ field: "--limit", reason: "a whole number of rows, 0 for all" })
    }
    const rows = yield* Revisions.use((r) => r.list({ symbols, since, limit: flags.limit })).pipe(
      Effect.provide(readStorageLayer(app))
    )
    if (flags.json) {
      out.result(JSON.stringify({ revisions: rows }))
      return
    }
    if (rows.length === 0) {
      out.result("no revisions recorded (a backfill with --revalidate, or config revalidate, looks for them)")
      return
    }
    out.result(
      table(
        ["detected", "symbol", "day", "frame", "provider", "added", "removed", "changed", "job", "e.g."],
        rows.map((r) => [
          r.detectedAt.slice(0, 19).replace("T", " "),
          r.symbol,
          r.day,
          r.frame,
          `${r.provider}/${r.feed}`,
          String(r.barsAdded),
          String(r.barsRemoved),
          String(r.barsChanged),
          String(r.jobId),
          sampleText(r)
        ])
      )
    )
  })

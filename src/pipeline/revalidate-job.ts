/**
 * `ohlcv validate` as a run: the rule set over bars already in the lake, recorded as a `validate` job with its
 * report (and, when asked, the HTML page with the coverage heatmap).
 */
import { readFileSync } from "node:fs"
import { Effect } from "effect"
import type { SessionKind } from "../domain/calendar.ts"
import type { Symbol } from "../domain/symbol.ts"
import { CorporateActions, splitsBySymbol } from "../repository/corporate-actions.ts"
import { Jobs } from "../repository/jobs.ts"
import { Ledger } from "../repository/ledger.ts"
import type { ValidationRun } from "../repository/model.ts"
import { ValidationRuns } from "../repository/validation-runs.ts"
import { findingsSpool } from "../validation/findings-spool.ts"
import { htmlReport } from "../validation/html.ts"
import { writeValidationReport } from "../validation/report.ts"
import { revalidateLake } from "../validation/revalidate.ts"
import { ruleSettings } from "../validation/settings.ts"
import type { RunContext } from "./context.ts"
import { processOwner } from "./recovery.ts"

export interface RevalidateJob {
  /** Empty: every symbol the 1m ledger has in the range. */
  readonly symbols: ReadonlyArray<Symbol>
  readonly from: string
  readonly to: string
  /** Absent: config `ingest.session`, else regular. */
  readonly session: SessionKind | undefined
  /** Also render the HTML page. */
  readonly html: boolean
}

export interface RevalidateOutcome {
  readonly run: ValidationRun
  readonly bars: number
  readonly symbols: ReadonlyArray<Symbol>
  /** The first findings, times as ISO-8601. */
  readonly sample: ReadonlyArray<Record<string, unknown>>
  readonly page: string | undefined
}

const SAMPLE = 20

const countBy = (findings: ReadonlyArray<{ severity: string; rule: string }>, severity: string) => {
  const counts: Record<string, number> = {}
  for (const f of findings) if (f.severity === severity) counts[f.rule] = (counts[f.rule] ?? 0) + 1
  return counts
}

/** Needs the repository and the sink (`storageLayer`): the caller decides whether a database may be created. */
export const revalidateRange = (ctx: RunContext, job: RevalidateJob) =>
  Effect.gen(function* () {
    const jobs = yield* Jobs
    const ledger = yield* Ledger
    const reports = yield* ValidationRuns
    const { from, to } = job
    const symbols = (
      job.symbols.length > 0
        ? job.symbols
        : [...new Set((yield* ledger.coverage({ frame: "1m", symbols: [], from, to })).map((r) => r.symbol))].sort()
    ) as ReadonlyArray<Symbol>
    const session = job.session ?? ctx.loaded.config.ingest?.session ?? "regular"
    const splits = splitsBySymbol(yield* CorporateActions.use((c) => c.list(symbols)))
    const { bars, findings } = yield* revalidateLake({
      calendar: ctx.calendar,
      symbols,
      from,
      to,
      session,
      rules: ruleSettings(ctx.loaded.config),
      splits
    })
    const record = yield* jobs.create(
      {
        kind: "validate",
        provider: "marketpipe",
        feed: "lake",
        frame: "1m",
        session,
        symbols,
        startDay: from,
        endDay: to,
        owner: processOwner()
      },
      []
    )
    const spool = yield* findingsSpool(ctx.loaded.dataDir, processOwner())
    yield* spool.add(findings)
    yield* writeValidationReport(ctx.loaded.dataDir, {
      jobId: record.id,
      kind: "validate",
      findings: spool,
      errorsByRule: countBy(findings, "error"),
      warningsByRule: countBy(findings, "warning")
    })
    yield* jobs.finish(record.id, { partitionsDone: 0, partitionsFailed: 0, barsWritten: 0, barsRejected: 0 })
    const run = (yield* reports.get(record.id)) as ValidationRun
    const page = job.html
      ? htmlReport({
          title: `MarketPipe validation — ${from}..${to}`,
          days: ctx.calendar.tradingDays(from, to),
          symbols,
          coverage: yield* ledger.coverage({ frame: "1m", symbols, from, to }),
          run
        })
      : undefined
    return {
      run,
      bars,
      symbols,
      sample: findings.slice(0, SAMPLE).map((f) => ({ ...f, ts: new Date(f.ts).toISOString() })),
      page
    } satisfies RevalidateOutcome
  }).pipe(Effect.scoped)

/** The first findings a stored report holds (none when its file is gone or unreadable). */
export const reportSample = (run: ValidationRun): ReadonlyArray<Record<string, unknown>> => {
  try {
    const parsed = JSON.parse(readFileSync(run.reportJson, "utf8")) as { findings?: Array<Record<string, unknown>> }
    return (parsed.findings ?? []).slice(0, SAMPLE)
  } catch {
    return []
  }
}

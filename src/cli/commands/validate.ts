/**
 * `marketpipe ohlcv validate`: run the rule set over bars already in the lake (a job's symbols and range, or
 * `--symbols --from --to`) and write a report; `--list` and `--show ID` read reports back; `--html FILE` writes a
 * page with the coverage heatmap and the counts per rule.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { resolve } from "node:path"
import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { UsageError } from "../../domain/errors.ts"
import type { Symbol } from "../../domain/symbol.ts"
import { processOwner } from "../../pipeline/recovery.ts"
import { JobRepository } from "../../repository/job-repository.ts"
import type { ValidationRun } from "../../repository/model.ts"
import { htmlReport } from "../../validation/html.ts"
import { writeValidationReport } from "../../validation/report.ts"
import { revalidateLake } from "../../validation/revalidate.ts"
import { ruleSettings } from "../../validation/settings.ts"
import {
  type App,
  type CommonFlags,
  checkInput,
  currentEnvironment,
  type Environment,
  loadApp,
  readStorageLayer,
  storageLayer
} from "../app.ts"
import { parseDay, parseSymbols } from "../inputs.ts"
import { makeOutput, type Output, table } from "../output.ts"
import { commonFlags } from "./common.ts"

export interface ValidateFlags extends CommonFlags {
  readonly jobId: Option.Option<number>
  readonly symbols: Option.Option<string>
  readonly from: Option.Option<string>
  readonly to: Option.Option<string>
  readonly session: Option.Option<"regular" | "extended">
  readonly list: boolean
  readonly show: Option.Option<number>
  readonly html: Option.Option<string>
}

const showRun = (
  out: Output,
  run: ValidationRun,
  json: boolean,
  sample: ReadonlyArray<Record<string, unknown>>
): void => {
  if (json) {
    out.result(JSON.stringify({ ...run, sample }))
    return
  }
  out.result(
    [
      `report for job ${run.jobId} (${run.kind}, ${run.createdAt}): ${run.errors} bar(s) quarantined, ${run.warnings} warning(s)`,
      `  files: ${run.reportCsv}, ${run.reportJson}`,
      run.totals.length === 0
        ? "  no rule fired"
        : table(
            ["rule", "severity", "bars"],
            run.totals.map((t) => [t.rule, t.severity, t.count])
          ).replace(/^/gmu, "  "),
      ...(sample.length === 0
        ? []
        : [
            "  first findings:",
            table(
              ["symbol", "ts", "rule", "severity", "detail"],
              sample.map((f) => [String(f.symbol), String(f.ts), String(f.rule), String(f.severity), String(f.detail)])
            ).replace(/^/gmu, "    ")
          ])
    ].join("\n")
  )
}

export const validateMain = (flags: ValidateFlags, environment: Environment = currentEnvironment()) =>
  Effect.gen(function* () {
    const app = yield* loadApp(flags, environment)
    // Checks that need no database come first, so a bad flag creates none.
    if (!flags.list && Option.isNone(flags.show) && Option.isNone(flags.jobId)) {
      yield* checkInput(() => {
        const from = Option.map(flags.from, (d) => parseDay("--from", d))
        const to = Option.map(flags.to, (d) => parseDay("--to", d))
        if (Option.isNone(from) || Option.isNone(to)) {
          throw new UsageError({
            field: "--from",
            reason: "give a JOB_ID, or --from and --to (with --symbols, or all symbols in the ledger)"
          })
        }
        Option.map(flags.symbols, (s) => parseSymbols("--symbols", s))
      })
    }
    // Listing, showing or naming a job only reads until it finds one, which means a database exists.
    const storage =
      flags.list || Option.isSome(flags.show) || Option.isSome(flags.jobId) ? readStorageLayer : storageLayer
    return yield* validateWith(app, flags, environment).pipe(Effect.provide(storage(app)))
  })

const validateWith = (app: App, flags: ValidateFlags, environment: Environment) =>
  Effect.gen(function* () {
    const out = makeOutput({ json: flags.json, tty: false })
    const repo = yield* JobRepository
    if (flags.list) {
      const runs = yield* repo.listValidations(50)
      if (flags.json) return out.result(JSON.stringify(runs))
      return out.result(
        runs.length === 0
          ? "no validation reports yet"
          : table(
              ["job", "kind", "created", "quarantined", "warnings", "report"],
              runs.map((r) => [r.jobId, r.kind, r.createdAt, r.errors, r.warnings, r.reportCsv])
            )
      )
    }
    if (Option.isSome(flags.show)) {
      const run = yield* repo.getValidation(flags.show.value)
      if (run === undefined)
        return yield* new UsageError({
          field: "--show",
          reason: `no report for job ${flags.show.value}; see ohlcv validate --list`
        })
      const text = yield* Effect.try({ try: () => readFileSync(run.reportJson, "utf8"), catch: () => "{}" }).pipe(
        Effect.orElseSucceed(() => "{}")
      )
      const sample = ((JSON.parse(text) as { findings?: Array<Record<string, unknown>> }).findings ?? []).slice(0, 20)
      return showRun(out, run, flags.json, sample)
    }
    // What to validate: a job's symbols and range, or --symbols/--from/--to.
    const job = Option.isSome(flags.jobId) ? yield* repo.getJob(flags.jobId.value) : undefined
    if (Option.isSome(flags.jobId) && job === undefined) {
      return yield* new UsageError({ field: "JOB_ID", reason: `no job ${flags.jobId.value}; see jobs list` })
    }
    const from = yield* checkInput(() =>
      Option.match(flags.from, { onNone: () => job?.startDay ?? "", onSome: (d) => parseDay("--from", d) })
    )
    const to = yield* checkInput(() =>
      Option.match(flags.to, { onNone: () => job?.endDay ?? "", onSome: (d) => parseDay("--to", d) })
    )
    if (from === "" || to === "")
      return yield* new UsageError({
        field: "--from",
        reason: "give a JOB_ID, or --from and --to (with --symbols, or all symbols in the ledger)"
      })
    const listed = yield* checkInput(() =>
      Option.match(flags.symbols, { onNone: () => job?.symbols ?? [], onSome: (s) => parseSymbols("--symbols", s) })
    )
    const symbols = (
      listed.length > 0
        ? listed
        : [...new Set((yield* repo.coverage({ frame: "1m", symbols: [], from, to })).map((r) => r.symbol))].sort()
    ) as ReadonlyArray<Symbol>
    const session = Option.getOrUndefined(flags.session) ?? app.loaded.config.ingest?.session ?? "regular"
    const { bars, findings } = yield* revalidateLake({
      calendar: app.calendar,
      symbols,
      from,
      to,
      session,
      rules: ruleSettings(app.loaded.config)
    })
    const countBy = (severity: string) => {
      const counts: Record<string, number> = {}
      for (const f of findings) if (f.severity === severity) counts[f.rule] = (counts[f.rule] ?? 0) + 1
      return counts
    }
    const record = yield* repo.createJob(
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
    yield* writeValidationReport(app.loaded.dataDir, {
      jobId: record.id,
      kind: "validate",
      findings,
      errorsByRule: countBy("error"),
      warningsByRule: countBy("warning")
    })
    yield* repo.finishJob(record.id, { partitionsDone: 0, partitionsFailed: 0, barsWritten: 0, barsRejected: 0 })
    const run = (yield* repo.getValidation(record.id)) as ValidationRun
    if (Option.isSome(flags.html)) {
      const path = resolve(environment.cwd, flags.html.value)
      const coverage = yield* repo.coverage({ frame: "1m", symbols, from, to })
      const page = htmlReport({
        title: `MarketPipe validation — ${from}..${to}`,
        days: app.calendar.tradingDays(from, to),
        symbols,
        coverage,
        run
      })
      yield* Effect.try({
        try: () => writeFileSync(path, page),
        catch: (e) => new UsageError({ field: "--html", reason: `cannot write ${path}: ${String(e)}` })
      })
      out.notice(`wrote ${path}`)
    }
    out.notice(`validated ${bars} bar(s) of ${symbols.length} symbol(s), ${from}..${to}`)
    showRun(
      out,
      run,
      flags.json,
      findings.slice(0, 20).map((f) => ({ ...f, ts: new Date(f.ts).toISOString() }))
    )
  })

export const validateCommand = Command.make(
  "validate",
  {
    jobId: Argument.Int("JOB_ID").pipe(Argument.withDescription("validate what this job covered"), Argument.optional),
    symbols: Flag.String("symbols").pipe(
      Flag.withDescription("tickers (default: the job's, or all in the ledger)"),
      Flag.optional
    ),
    from: Flag.String("from").pipe(Flag.withDescription("first day"), Flag.optional),
    to: Flag.String("to").pipe(Flag.withDescription("last day, inclusive"), Flag.optional),
    session: Flag.Literals("session", ["regular", "extended"]).pipe(
      Flag.withDescription("session bars must fall in"),
      Flag.optional
    ),
    list: Flag.Boolean("list").pipe(Flag.withDescription("list validation reports"), Flag.withDefault(false)),
    show: Flag.Int("show").pipe(Flag.withDescription("show the report of job ID"), Flag.optional),
    html: Flag.String("html").pipe(
      Flag.withDescription("also write an HTML report (coverage heatmap, counts per rule)"),
      Flag.optional
    ),
    ...commonFlags
  },
  (flags) => Effect.asVoid(validateMain(flags))
).pipe(
  Command.withDescription("Check bars in the lake against the rule set and report; --list and --show read reports back")
)

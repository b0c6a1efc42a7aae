/**
 * `marketpipe ohlcv validate`: run the rule set over bars already in the lake (a job's symbols and range, or
 * `--symbols --from --to`) and write a report; `--list` and `--show ID` read reports back; `--html FILE` writes a
 * page with the coverage heatmap and the counts per rule.
 */
import { writeFileSync } from "node:fs"
import { resolve } from "node:path"
import { Effect, Option } from "effect"
import { UsageError } from "../../domain/errors.ts"
import type { Symbol } from "../../domain/symbol.ts"
import { readStorageLayer, storageLayer } from "../../pipeline/context.ts"
import { reportSample, revalidateRange } from "../../pipeline/revalidate-job.ts"
import { Jobs } from "../../repository/jobs.ts"
import type { ValidationRun } from "../../repository/model.ts"
import { ValidationRuns } from "../../repository/validation-runs.ts"
import { type App, type CommonFlags, checkInput, currentEnvironment, type Environment, loadApp } from "../app.ts"
import { parseDay, parseSymbols } from "../inputs.ts"
import { makeOutput, type Output, table } from "../output.ts"

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
    const jobs = yield* Jobs
    const reports = yield* ValidationRuns
    if (flags.list) {
      const runs = yield* reports.list(50)
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
      const run = yield* reports.get(flags.show.value)
      if (run === undefined)
        return yield* new UsageError({
          field: "--show",
          reason: `no report for job ${flags.show.value}; see ohlcv validate --list`
        })
      return showRun(out, run, flags.json, reportSample(run))
    }
    // What to validate: a job's symbols and range, or --symbols/--from/--to.
    const job = Option.isSome(flags.jobId) ? yield* jobs.get(flags.jobId.value) : undefined
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
    const outcome = yield* revalidateRange(app, {
      symbols: listed as ReadonlyArray<Symbol>,
      from,
      to,
      session: Option.getOrUndefined(flags.session),
      html: Option.isSome(flags.html)
    })
    if (Option.isSome(flags.html) && outcome.page !== undefined) {
      const path = resolve(environment.cwd, flags.html.value)
      const page = outcome.page
      yield* Effect.try({
        try: () => writeFileSync(path, page),
        catch: (e) => new UsageError({ field: "--html", reason: `cannot write ${path}: ${String(e)}` })
      })
      out.notice(`wrote ${path}`)
    }
    out.notice(`validated ${outcome.bars} bar(s) of ${outcome.symbols.length} symbol(s), ${from}..${to}`)
    showRun(out, outcome.run, flags.json, outcome.sample)
  })

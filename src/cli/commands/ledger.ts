/** `marketpipe ledger`: what the lake holds per symbol and range — complete, partial, empty, missing, invalid. */
import { Clock, Effect, Option } from "effect"
import { tradingDayOf } from "../../domain/partition.ts"
import type { Timeframe } from "../../domain/timeframe.ts"
import { timeframeMinutes } from "../../domain/timeframe.ts"
import { readStorageLayer } from "../../pipeline/context.ts"
import { verifyLedger } from "../../pipeline/verify-ledger.ts"
import { coverageReport } from "../../repository/coverage-report.ts"
import { Ledger } from "../../repository/ledger.ts"
import { type CommonFlags, checkInput, currentEnvironment, type Environment, loadApp } from "../app.ts"
import { UnbackedClaims } from "../exit-codes.ts"
import { ALL_DAYS, parseDay, parseScope, parseSymbols } from "../inputs.ts"
import { makeOutput, table } from "../output.ts"

export interface LedgerFlags extends CommonFlags {
  readonly symbols: Option.Option<string>
  readonly from: Option.Option<string>
  readonly to: Option.Option<string>
  readonly frame: Option.Option<Timeframe>
  readonly session: Option.Option<"regular" | "extended">
  readonly days: boolean
}

const pct = (a: number, b: number) => (b === 0 ? "-" : `${((100 * a) / b).toFixed(1)}%`)

export const ledgerMain = (flags: LedgerFlags, environment: Environment = currentEnvironment()) =>
  Effect.gen(function* () {
    const app = yield* loadApp(flags, environment)
    const out = makeOutput({ json: flags.json, tty: false })
    const symbols = yield* checkInput(() =>
      Option.match(flags.symbols, { onNone: () => [], onSome: (s) => parseSymbols("--symbols", s) })
    )
    const frame = Option.getOrUndefined(flags.frame) ?? app.loaded.config.ingest?.frame ?? "1m"
    const session = Option.getOrUndefined(flags.session) ?? app.loaded.config.ingest?.session ?? "regular"
    const records = yield* Ledger.use((r) =>
      r.coverage({
        frame,
        symbols,
        from: Option.getOrElse(flags.from, () => ALL_DAYS.from),
        to: Option.getOrElse(flags.to, () => ALL_DAYS.to)
      })
    ).pipe(Effect.provide(readStorageLayer(app)))
    const today = tradingDayOf(yield* Clock.currentTimeMillis)
    const known = records.map((r) => r.day).sort()
    const from = yield* checkInput(() =>
      Option.match(flags.from, { onNone: () => known[0] ?? today, onSome: (d) => parseDay("--from", d) })
    )
    const to = yield* checkInput(() =>
      Option.match(flags.to, { onNone: () => known[known.length - 1] ?? today, onSome: (d) => parseDay("--to", d) })
    )
    const report = coverageReport({
      calendar: app.calendar,
      records,
      symbols,
      frame,
      minutes: timeframeMinutes(frame),
      session,
      from,
      to
    })
    if (flags.json) {
      out.result(JSON.stringify(flags.days ? { ...report, days: records } : report))
      return
    }
    if (report.symbols.length === 0) {
      out.result(`the ledger has nothing for frame ${frame} in ${from}..${to}`)
      return
    }
    const row = (name: string, r: (typeof report)["totals"]) => [
      name,
      r.tradingDays,
      r.counts.complete,
      r.counts.partial,
      r.counts.empty,
      r.counts.missing,
      r.counts.invalid,
      `${r.observedBars}/${r.expectedBars}`,
      pct(r.observedBars, r.expectedBars)
    ]
    const lines = [
      `ledger ${frame} ${session} ${from}..${to}`,
      table(
        ["symbol", "days", "complete", "partial", "empty", "missing", "invalid", "bars", "coverage"],
        [...report.symbols.map((s) => row(s.symbol, s)), row("total", report.totals)]
      )
    ]
    if (flags.days) {
      lines.push(
        "",
        table(
          ["symbol", "day", "status", "bars", "provider", "file", "note"],
          records.map((r) => [
            r.symbol,
            r.day,
            r.status,
            `${r.observed}/${r.expected}`,
            `${r.provider}/${r.feed}`,
            r.file ?? "",
            r.error ?? (r.filledFor === null ? "" : `filled: ${r.filledFor}`)
          ])
        )
      )
    }
    out.result(lines.join("\n"))
  })

export interface LedgerVerifyFlags extends CommonFlags {
  readonly symbols: Option.Option<string>
  readonly from: Option.Option<string>
  readonly to: Option.Option<string>
  readonly frame: Option.Option<Timeframe>
  readonly repair: boolean
}

/** Shown in full with `--json`; the table stops here so a badly damaged lake still prints a readable report. */
const PROBLEMS_SHOWN = 50

export const ledgerVerifyMain = (flags: LedgerVerifyFlags, environment: Environment = currentEnvironment()) =>
  Effect.gen(function* () {
    const app = yield* loadApp(flags, environment)
    const out = makeOutput({ json: flags.json, tty: false })
    const { symbols, from, to } = yield* checkInput(() => parseScope(flags))
    const summary = yield* verifyLedger({
      ...(Option.isSome(flags.frame) ? { frames: [flags.frame.value] } : {}),
      symbols,
      from,
      to,
      repair: flags.repair
    }).pipe(Effect.provide(readStorageLayer(app)))
    const unbacked = summary.problems.length
    if (flags.json) out.result(JSON.stringify(summary))
    else {
      const lines = [
        `ledger verify: ${summary.claims} claim(s) in ${summary.files} file(s): ${summary.backed} backed by the lake, ${unbacked} not`
      ]
      if (unbacked > 0) {
        lines.push(
          table(
            ["frame", "symbol", "day", "status", "ledger", "file", "problem", "detail"],
            summary.problems
              .slice(0, PROBLEMS_SHOWN)
              .map((p) => [p.frame, p.symbol, p.day, p.status, p.claimed, p.found ?? "-", p.problem, p.detail])
          )
        )
        if (unbacked > PROBLEMS_SHOWN) lines.push(`… and ${unbacked - PROBLEMS_SHOWN} more (--json lists all)`)
      }
      for (const path of summary.setAside) lines.push(`moved an unreadable file out of the lake: ${path}`)
      if (summary.repaired > 0) {
        lines.push(
          `repaired: ${summary.repaired} day(s) marked missing; the next \`ohlcv backfill\` over them fetches them again`
        )
      }
      out.result(lines.join("\n"))
    }
    if (unbacked > 0 && !flags.repair) return yield* new UnbackedClaims({ count: unbacked })
    return summary
  })

/**
 * `marketpipe ohlcv backfill`: fetch what the ledger does not have yet. Plan = calendar × symbols × range − ledger,
 * batched to the provider's request limits; a second run over the same range makes no provider request. `--dry-run`
 * prints the plan and the time it needs under the rate limit without writing anything.
 */
import { existsSync } from "node:fs"
import { resolve } from "node:path"
import { Clock, Effect, Option } from "effect"
import { readInputFile } from "../../config/input-file.ts"
import type { TradingDay } from "../../domain/calendar.ts"
import { UsageError } from "../../domain/errors.ts"
import { tradingDayOf } from "../../domain/partition.ts"
import type { Symbol } from "../../domain/symbol.ts"
import type { SymbolMeta } from "../../domain/symbol-meta.ts"
import { enqueueJob, ledgerCovers, quotaSeconds, sizedPlan } from "../../pipeline/backfill-plan.ts"
import { readStorageLayer } from "../../pipeline/context.ts"
import type { Plan } from "../../pipeline/plan.ts"
import {
  connectProvider,
  type ProviderChoice,
  type ResolvedProvider,
  requestFor,
  resolveProvider
} from "../../pipeline/provider-choice.ts"
import type { CoverageStatus } from "../../repository/model.ts"
import { SymbolSnapshots } from "../../repository/symbol-snapshots.ts"
import { Universes } from "../../repository/universes.ts"
import { parseUniverse, UNIVERSE_MAX_BYTES } from "../../universe/file.ts"
import { withLaterDelistings } from "../../universe/merge-meta.ts"
import { type App, type CommonFlags, checkInput, currentEnvironment, type Environment, loadApp } from "../app.ts"
import { chainOf } from "../chain-of.ts"
import { runChain } from "../chain-run.ts"
import { lookbackStart, parseDay, parseSymbols } from "../inputs.ts"
import { finishRun } from "../job-summary.ts"
import { makeOutput, type Output } from "../output.ts"
import { withMetricsPort } from "./metrics.ts"

export interface BackfillFlags extends CommonFlags, ProviderChoice {
  readonly symbols: Option.Option<string>
  readonly universe: Option.Option<string>
  readonly from: Option.Option<string>
  readonly to: Option.Option<string>
  readonly lookback: Option.Option<string>
  readonly refetch: Option.Option<string>
  /** Trailing window fetched again and compared with the ledger (absent: config `revalidate`, else none). */
  readonly revalidate?: Option.Option<string>
  readonly dryRun: boolean
  readonly enqueue: boolean
  readonly yes: boolean
  /** Serve Prometheus metrics on this loopback port while the backfill fetches (absent: none). */
  readonly metricsPort?: Option.Option<number>
}

const refetchable: ReadonlyArray<CoverageStatus> = ["partial", "empty", "invalid", "complete"]

/** Symbols from `--symbols` or `--universe FILE` (exactly one). */
export function resolveSymbols(flags: Pick<BackfillFlags, "symbols" | "universe">, cwd: string): ReadonlyArray<Symbol> {
  const list = Option.getOrUndefined(flags.symbols)
  const file = Option.getOrUndefined(flags.universe)
  if ((list === undefined) === (file === undefined)) {
    throw new UsageError({ field: "--symbols", reason: "give either --symbols A,B,C or --universe FILE (one of them)" })
  }
  if (list !== undefined) return parseSymbols("--symbols", list)
  const path = resolve(cwd, file as string)
  if (!existsSync(path)) throw new UsageError({ field: "--universe", reason: `${path} does not exist` })
  return parseUniverse(readInputFile(path, UNIVERSE_MAX_BYTES, "--universe", "universe file"), path)
}

/** Later than any snapshot: the newest of each source. */
const LATEST = "9999-12-31"

/** A saved universe's members as the days each was listed (list date on, delist date off); `undefined`: every day. */
const listedOf = (members: ReadonlyArray<SymbolMeta>): ((symbol: string, day: string) => boolean) | undefined => {
  const dated = members.filter((m) => m.listDate !== undefined || m.delistDate !== undefined)
  if (dated.length === 0) return undefined
  const bounds = new Map(dated.map((m) => [m.symbol as string, m]))
  return (symbol, day) => {
    const m = bounds.get(symbol)
    return !(m?.listDate !== undefined && day < m.listDate) && !(m?.delistDate !== undefined && day >= m.delistDate)
  }
}

/**
 * `resolveSymbols`, where `--universe` may also name a saved universe (`marketpipe universe list`): a file of that
 * name wins, as it always has. A saved universe also says the days each member was listed, so a delisted symbol is
 * fetched only up to its last trading day (`listed`), by its record or by any snapshot taken since.
 */
export const symbolsFor = (flags: Pick<BackfillFlags, "symbols" | "universe">, app: App, cwd: string) =>
  Effect.gen(function* () {
    const given = Option.getOrUndefined(flags.universe)
    if (given === undefined || Option.isSome(flags.symbols) || existsSync(resolve(cwd, given))) {
      return { symbols: yield* checkInput(() => resolveSymbols(flags, cwd)), listed: undefined }
    }
    const saved = yield* Universes.use((u) => u.get(given)).pipe(Effect.provide(readStorageLayer(app)))
    if (saved === undefined) {
      return yield* new UsageError({
        field: "--universe",
        reason: `${resolve(cwd, given)} does not exist, and no universe is named ${given.slice(0, 40)} (see \`marketpipe universe list\`)`
      })
    }
    if (saved.memberList.length === 0) {
      return yield* new UsageError({ field: "--universe", reason: `universe ${saved.name} has no members` })
    }
    const rows = yield* SymbolSnapshots.use((s) => s.newestUpTo(LATEST)).pipe(Effect.provide(readStorageLayer(app)))
    const members = withLaterDelistings(saved.memberList, rows)
    return { symbols: members.map((m) => m.symbol), listed: listedOf(members) }
  })

/** The range from `--from/--to` or `--lookback` (ending `--to`, default today in New York). */
export function resolveRange(flags: Pick<BackfillFlags, "from" | "to" | "lookback">, today: string) {
  const to = Option.match(flags.to, { onNone: () => today as TradingDay, onSome: (t) => parseDay("--to", t) })
  const from = Option.getOrUndefined(flags.from)
  const lookback = Option.getOrUndefined(flags.lookback)
  if ((from === undefined) === (lookback === undefined)) {
    throw new UsageError({
      field: "--from",
      reason: "give either --from YYYY-MM-DD or --lookback SPAN (e.g. 30d, 6m, 1y)"
    })
  }
  const start = from !== undefined ? parseDay("--from", from) : lookbackStart(lookback as string, to)
  if (start > to) throw new UsageError({ field: "--from", reason: `${start} is after --to ${to}` })
  return { from: start, to }
}

/**
 * The window `--revalidate` (or config `revalidate`) asks to fetch again: its span ends on the range's last day and
 * is cut to the range; `off` (or neither given) means none.
 */
export function revalidateWindow(
  flag: string | undefined,
  configured: string | undefined,
  range: { readonly from: TradingDay; readonly to: TradingDay }
): { readonly from: TradingDay; readonly to: TradingDay } | undefined {
  const span = (flag ?? configured)?.trim()
  if (span === undefined || span === "off") return undefined
  const m = /^([1-9][0-9]{0,2})([dwm])$/u.exec(span)
  if (m === null) {
    throw new UsageError({
      field: flag === undefined ? "revalidate" : "--revalidate",
      reason: `${JSON.stringify(span).slice(0, 40)} is not a window; use e.g. 5d, 2w or 1m (calendar days, weeks, months ending --to), or off`
    })
  }
  const start = lookbackStart(span, range.to)
  return { from: start.localeCompare(range.from) > 0 ? start : range.from, to: range.to }
}

/** `--refetch partial,empty|secondary|all`: the ledger statuses to fetch again, and whether days a secondary filled. */
export function parseRefetch(raw: string | undefined): {
  readonly statuses: ReadonlySet<CoverageStatus>
  readonly filled: boolean
} {
  const statuses = new Set<CoverageStatus>()
  let filled = false
  if (raw === undefined) return { statuses, filled }
  for (const part of raw
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "")) {
    if (part === "all") for (const status of refetchable) statuses.add(status)
    else if (part === "secondary") filled = true
    else if ((refetchable as ReadonlyArray<string>).includes(part)) statuses.add(part as CoverageStatus)
    else
      throw new UsageError({
        field: "--refetch",
        reason: `'${part}' is not a ledger status to refetch; use ${refetchable.join(", ")}, secondary (days a provider further down providers_chain filled) or all`
      })
  }
  return { statuses, filled }
}

function printPlan(
  out: Output,
  plan: Plan,
  resolved: ResolvedProvider,
  symbols: number,
  range: { from: string; to: string },
  json: boolean
) {
  const caps = resolved.plugin.capabilities
  const seconds = quotaSeconds(plan.requests, resolved.rateLimit)
  const { units, ...rest } = plan
  if (json) {
    out.result(
      JSON.stringify({
        dry_run: true,
        ...rest,
        units: units.length,
        estimated_seconds: seconds ?? null,
        rate_limit: resolved.rateLimit
      })
    )
    return
  }
  const lines = [
    `plan (dry run, nothing written): backfill ${resolved.plugin.name}/${resolved.feed} ${resolved.frame} ${resolved.session}, ${symbols} symbol(s), ${range.from}..${range.to}`,
    `  trading days: ${plan.tradingDays}${plan.notClosed.length > 0 ? ` (+${plan.notClosed.length} not closed yet: ${plan.notClosed.join(", ")})` : ""}`,
    `  partitions: ${plan.partitions + plan.covered} in range, ${plan.covered} already in the ledger, ${plan.partitions} to fetch`,
    `  requests: at least ${plan.requests} in ${units.length} unit(s) (${caps.maxSymbolsPerRequest} symbol(s), ${caps.maxBarsPerRequest.toLocaleString("en")} bars a request)`,
    `  bars expected: ${plan.expectedBars.toLocaleString("en")}`,
    resolved.rateLimit === null
      ? "  time: no rate limit declared; bounded by the provider and this machine"
      : `  time at ${resolved.rateLimit.requests} requests per ${resolved.rateLimit.perSeconds} s: at least ${Math.ceil(seconds ?? 0)} s`
  ]
  out.result(lines.join("\n"))
}

export const backfillMain = (flags: BackfillFlags, environment: Environment = currentEnvironment()) =>
  Effect.gen(function* () {
    const app = yield* loadApp(flags, environment)
    const out = makeOutput({ json: flags.json, tty: process.stderr.isTTY === true })
    for (const n of app.loaded.notices) out.notice(`notice: ${n}`)
    const now = yield* Clock.currentTimeMillis
    const { symbols, listed } = yield* symbolsFor(flags, app, environment.cwd)
    const range = yield* checkInput(() => resolveRange(flags, tradingDayOf(now)))
    const refetch = yield* checkInput(() => parseRefetch(Option.getOrUndefined(flags.refetch)))
    const chain = chainOf(flags, app)
    const resolved = yield* resolveProvider(
      chain === undefined ? flags : { ...flags, provider: Option.some(chain[0] as string) },
      app
    )
    const revalidate = yield* checkInput(() =>
      revalidateWindow(Option.getOrUndefined(flags.revalidate ?? Option.none()), app.loaded.config.revalidate, range)
    )
    const ledgerHas = yield* ledgerCovers(app, {
      frame: resolved.frame,
      session: resolved.session,
      symbols,
      from: range.from,
      to: range.to,
      refetch: refetch.statuses,
      refetchFilled: refetch.filled
    })
    // The window is planned whatever the ledger says; each unit then compares what it fetched with it.
    const covered =
      revalidate === undefined
        ? ledgerHas
        : (symbol: string, day: string) => !(day >= revalidate.from && day <= revalidate.to) && ledgerHas(symbol, day)
    const request = {
      ...requestFor(resolved, app),
      symbols,
      from: range.from,
      to: range.to,
      covered,
      now,
      ...(listed === undefined ? {} : { listed }),
      ...(revalidate === undefined ? {} : { revalidate })
    }
    // A dry run shows any plan; a real one of years needs --yes, refused before anything is written.
    const plan = yield* sizedPlan(request, flags.yes || flags.dryRun)
    if (flags.dryRun) {
      printPlan(out, plan, resolved, symbols.length, range, flags.json)
      return undefined
    }
    if (flags.enqueue) {
      if (revalidate !== undefined) {
        out.notice("notice: queued work does not revalidate; a backfill without --enqueue does")
      }
      if (chain !== undefined && chain.length > 1) {
        out.notice(
          `notice: queued work is fetched by ${chain[0]} alone (providers_chain applies to local runs); a backfill without --enqueue fills what it leaves`
        )
      }
      // Plan into the shared queue; `marketpipe worker` processes fetch. Nothing is fetched here.
      const { revalidate: _window, ...plain } = request
      const queued = yield* enqueueJob(app, { ...plain, covered: ledgerHas, kind: "backfill" })
      out.result(
        flags.json
          ? JSON.stringify({ queued: true, job: queued.job, units: queued.units, plan: queued.plan })
          : `job ${queued.job.id} queued: ${queued.units} unit(s), ${queued.plan.partitions} partition(s) (${queued.plan.covered} already in the ledger); run \`marketpipe worker\` to process it`
      )
      return undefined
    }
    if (chain !== undefined) {
      return yield* runChain(chain, flags, { ...request, kind: "backfill" }, app, out, flags.json).pipe(
        withMetricsPort(flags.metricsPort, app, out)
      )
    }
    const client = yield* connectProvider(resolved, app)
    return yield* finishRun({ ...request, kind: "backfill", client }, app, out, flags.json).pipe(
      withMetricsPort(flags.metricsPort, app, out)
    )
  })

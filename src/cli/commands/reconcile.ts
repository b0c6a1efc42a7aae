/**
 * `marketpipe reconcile`: compare two sources of the same bars over a window and classify every difference (a bar
 * missing on one side, prices or volume apart beyond a tolerance, a bar stamped a frame step off). Each side comes
 * from the lake where it holds that provider and feed, else from the provider, in memory (`reconcile/sources.ts`);
 * the comparison is `reconcile/compare.ts`. Prints a summary per symbol and class (`--json`: the same as JSON), writes
 * the details (`reconcile/report.ts`), counts the differences in `marketpipe_reconcile_differences_total` and stores
 * the run's counters like every other run. `--fail-on` turns a class appearing into exit 1.
 */
import { statSync } from "node:fs"
import { join, resolve } from "node:path"
import { Clock, Data, Effect, Layer, Option } from "effect"
import { withDataset } from "../../config/dataset.ts"
import type { SessionKind, TradingDay } from "../../domain/calendar.ts"
import { shown, UsageError } from "../../domain/errors.ts"
import type { Symbol } from "../../domain/symbol.ts"
import { type Timeframe, timeframeMinutes } from "../../domain/timeframe.ts"
import { persistRun } from "../../observability/history.ts"
import { initialiseKnownSeries, Metrics } from "../../observability/metrics.ts"
import { noDatabaseYet, readStorageLayer, storageLayer } from "../../pipeline/context.ts"
import { connectProvider, type ResolvedProvider, resolveProvider } from "../../pipeline/provider-choice.ts"
import { processOwner } from "../../pipeline/recovery.ts"
import {
  type ClassCounts,
  classesOf,
  compareBars,
  countByClass,
  type Difference,
  type DifferenceClass,
  differenceClasses,
  type FailOnChoice,
  failOnChoices
} from "../../reconcile/compare.ts"
import {
  type ReconcileSummary,
  reportPaths,
  type SideSummary,
  type SymbolSummary,
  writeReconcileReport
} from "../../reconcile/report.ts"
import { ledgerClaims, type ReconcileWindow, sideBars } from "../../reconcile/sources.ts"
import { Ledger } from "../../repository/ledger.ts"
import { type App, type CommonFlags, checkInput, currentEnvironment, type Environment, loadApp } from "../app.ts"
import { parseDay, parseSymbols } from "../inputs.ts"
import { makeOutput, table } from "../output.ts"

export interface ReconcileFlags extends CommonFlags {
  readonly providers: string
  readonly symbols: string
  readonly from: string
  readonly to: string
  readonly frame: Option.Option<Timeframe>
  readonly feedA: Option.Option<string>
  readonly feedB: Option.Option<string>
  readonly session: Option.Option<SessionKind>
  readonly priceTolerance: Option.Option<string>
  readonly volumeTolerance: Option.Option<string>
  readonly iexVolumeTolerance: Option.Option<string>
  readonly failOn: Option.Option<string>
  readonly out: Option.Option<string>
  /** The dataset each side's lake part comes from (absent: `--dataset`, else the main lake). */
  readonly datasetA?: Option.Option<string>
  readonly datasetB?: Option.Option<string>
}

/** The tolerances when no flag sets them: 0.1% on prices, 2% on volume, 50% on volume between IEX and another feed. */
// IEX prints 2-3% of consolidated volume, a relative difference near 0.97: only an IEX volume of almost nothing stands out.
export const defaultTolerances = { price: 0.001, volume: 0.02, iexVolume: 0.99 } as const

/** Differences of a class `--fail-on` named were found: exit 1 (after the reports are written). */
export class DifferencesFound extends Data.TaggedError("DifferencesFound")<{
  readonly counts: Readonly<Partial<Record<DifferenceClass, number>>>
  readonly report: string
}> {
  override get message(): string {
    const found = Object.entries(this.counts)
      .map(([c, n]) => `${n} ${c}`)
      .join(", ")
    return `reconcile found differences --fail-on names: ${found}; see ${this.report}`
  }
}

/** `--providers A,B`: two provider names. */
function parseProviders(raw: string): readonly [string, string] {
  const names = raw.split(",").map((s) => s.trim())
  if (names.length !== 2 || names.some((n) => n === "")) {
    throw new UsageError({
      field: "--providers",
      reason: `${shown(raw)} is not two providers; give them as A,B, e.g. alpaca,polygon`
    })
  }
  return [names[0] as string, names[1] as string]
}

/** A tolerance flag: a finite number from 0 up. */
function parseTolerance(flag: string, raw: Option.Option<string>, fallback: number): number {
  if (Option.isNone(raw)) return fallback
  const text = raw.value.trim()
  const n = text === "" ? Number.NaN : Number(text)
  if (!Number.isFinite(n) || n < 0) {
    throw new UsageError({
      field: flag,
      reason: `${shown(raw.value)} is not a tolerance; give a relative difference from 0 up, e.g. 0.001 for 0.1%`
    })
  }
  return n
}

/** `--fail-on price,missing`: the classes whose appearance fails the run. */
function parseFailOn(raw: Option.Option<string>): ReadonlyArray<DifferenceClass> {
  if (Option.isNone(raw)) return []
  const out = new Set<DifferenceClass>()
  const known: ReadonlyArray<string> = failOnChoices
  for (const part of raw.value.split(",").map((s) => s.trim())) {
    if (!known.includes(part)) {
      throw new UsageError({
        field: "--fail-on",
        reason: `${shown(part)} is not a difference class; use a comma list of ${failOnChoices.join(", ")}`
      })
    }
    for (const c of classesOf(part as FailOnChoice)) out.add(c)
  }
  return [...out]
}

/** The checked flags: everything a run needs that no config, plugin or file tells. */
interface Input {
  readonly providers: readonly [string, string]
  readonly symbols: ReadonlyArray<Symbol>
  readonly from: TradingDay
  readonly to: TradingDay
  readonly price: number
  readonly volume: number
  readonly iexVolume: number
  readonly failOn: ReadonlyArray<DifferenceClass>
}

const parseInput = (flags: ReconcileFlags): Input => {
  const providers = parseProviders(flags.providers)
  const symbols = parseSymbols("--symbols", flags.symbols)
  const from = parseDay("--from", flags.from)
  const to = parseDay("--to", flags.to)
  if (from > to) throw new UsageError({ field: "--from", reason: `${from} is after --to ${to}; both are inclusive` })
  return {
    providers,
    symbols,
    from,
    to,
    price: parseTolerance("--price-tolerance", flags.priceTolerance, defaultTolerances.price),
    volume: parseTolerance("--volume-tolerance", flags.volumeTolerance, defaultTolerances.volume),
    iexVolume: parseTolerance("--iex-volume-tolerance", flags.iexVolumeTolerance, defaultTolerances.iexVolume),
    failOn: parseFailOn(flags.failOn)
  }
}

/** Renames the flags a shared check names (`--provider`, `--feed`) to this command's own. */
const asFlag = (side: "a" | "b") => (e: UsageError) =>
  e.field === "--provider" || e.field === "--feed"
    ? new UsageError({ field: e.field === "--provider" ? "--providers" : `--feed-${side}`, reason: e.reason })
    : e

/** One side's settings: the frame and session of the run, its feed from `--feed-<side>`, the provider's config or default. */
const resolveSide = (app: App, name: string, feed: Option.Option<string>, side: "a" | "b", flags: ReconcileFlags) =>
  Effect.gen(function* () {
    const plugin = yield* app.plugin(name)
    const configured = app.loaded.config.providers?.[plugin.name]?.feed as string | undefined
    return yield* resolveProvider(
      {
        provider: Option.some(plugin.name),
        frame: Option.some(Option.getOrElse(flags.frame, () => "1m" as const)),
        feed: Option.some(Option.getOrElse(feed, () => configured ?? plugin.capabilities.defaultFeed)),
        session: Option.some(Option.getOrElse(flags.session, () => "regular" as const)),
        concurrency: Option.none()
      },
      app
    )
  }).pipe(Effect.mapError(asFlag(side)))

const sideSummary = (r: ResolvedProvider, lakeDays: number, fetchedDays: number, bars: number): SideSummary => ({
  provider: r.plugin.name,
  feed: r.feed,
  lake_days: lakeDays,
  fetched_days: fetchedDays,
  bars
})

const summaryText = (s: ReconcileSummary): string => {
  const side = (x: SideSummary) =>
    `${x.provider}/${x.feed}, ${x.bars} bars (${x.lake_days} symbol-day(s) from the lake, ${x.fetched_days} fetched)`
  const counts = (c: ClassCounts) => differenceClasses.map((k) => c[k])
  return [
    `reconcile ${s.frame} ${s.session} ${s.from}..${s.to} (${s.days} trading day(s)), tolerances: price ${s.tolerances.price}, volume ${s.tolerances.volume_applied}`,
    `  A: ${side(s.a)}`,
    `  B: ${side(s.b)}`,
    table(
      ["symbol", "bars A", "bars B", ...differenceClasses],
      [
        ...s.symbols.map((x) => [x.symbol, x.bars_a, x.bars_b, ...counts(x)]),
        ["total", s.a.bars, s.b.bars, ...counts(s.totals)]
      ]
    ).replace(/^/gmu, "  "),
    `  details: ${s.reports.csv}, ${s.reports.json}, ${s.reports.html}`
  ].join("\n")
}

export const reconcileMain = (flags: ReconcileFlags, environment: Environment = currentEnvironment()) =>
  Effect.gen(function* () {
    const input = yield* checkInput(() => parseInput(flags))
    const app = yield* loadApp(flags, environment)
    const out = makeOutput({ json: flags.json, tty: false })
    for (const n of app.loaded.notices) out.notice(`notice: ${n}`)
    const a = yield* resolveSide(app, input.providers[0], flags.feedA, "a", flags)
    const b = yield* resolveSide(app, input.providers[1], flags.feedB, "b", flags)
    if (a.plugin.name === b.plugin.name && a.feed === b.feed) {
      return yield* new UsageError({
        field: "--providers",
        reason: `A and B are both ${a.plugin.name}/${a.feed}; compare two providers, or two feeds of one with --feed-a and --feed-b`
      })
    }
    const now = yield* Clock.currentTimeMillis
    const days = app.calendar
      .tradingDays(input.from, input.to)
      .filter((d) => (app.calendar.session(d, a.session)?.close ?? Number.POSITIVE_INFINITY) <= now)
    if (days.length === 0) {
      return yield* new UsageError({
        field: "--from",
        reason: `${input.from}..${input.to} holds no trading day whose session has closed`
      })
    }
    const dir = Option.match(flags.out, {
      onNone: () => join(app.loaded.dataDir, "reports"),
      onSome: (o) => resolve(environment.cwd, o)
    })
    yield* checkInput(() => {
      if (statSync(dir, { throwIfNoEntry: false })?.isDirectory() === false) {
        throw new UsageError({ field: "--out", reason: `${dir} exists and is not a directory` })
      }
    })
    const volumeTolerance = (a.feed === "iex") !== (b.feed === "iex") ? input.iexVolume : input.volume
    const window: ReconcileWindow = { calendar: app.calendar, frame: a.frame, session: a.session, days }
    const clientA = yield* Effect.cached(connectProvider(a, app))
    const clientB = yield* Effect.cached(connectProvider(b, app))
    // Each side's lake and ledger: the run's own, or a dataset's (`--dataset-a`, `--dataset-b`).
    const sideApp = (given: Option.Option<string> | undefined, field: string) =>
      checkInput(() =>
        Option.match(given ?? Option.none(), {
          onNone: () => app,
          onSome: (name) => ({ ...app, loaded: withDataset(app.loaded, name, field) })
        })
      )
    const [appA, appB] = [yield* sideApp(flags.datasetA, "--dataset-a"), yield* sideApp(flags.datasetB, "--dataset-b")]
    // With no database yet the ledger holds nothing, so that side is fetched: a missing key says so before one exists.
    if (noDatabaseYet(appA)) yield* clientA
    if (noDatabaseYet(appB)) yield* clientB
    return yield* Effect.gen(function* () {
      const storageA = yield* Layer.build(readStorageLayer(appA))
      const storageB = appB === appA ? storageA : yield* Layer.build(readStorageLayer(appB))
      const metrics = yield* Metrics
      const pair = { providerA: a.plugin.name, providerB: b.plugin.name }
      initialiseKnownSeries(metrics, { sources: [], framed: [], reconciled: [pair] })
      const coverageIn = (storage: typeof storageA) =>
        Ledger.use((l) =>
          l.coverage({ frame: window.frame, symbols: input.symbols, from: input.from, to: input.to })
        ).pipe(Effect.provide(storage))
      const claimsA = ledgerClaims(
        yield* coverageIn(storageA),
        { provider: a.plugin.name, feed: a.feed },
        window.session
      )
      const claimsB = ledgerClaims(
        yield* coverageIn(storageB),
        { provider: b.plugin.name, feed: b.feed },
        window.session
      )
      const sourceA = { resolved: a, client: clientA }
      const sourceB = { resolved: b, client: clientB }
      const differences: Array<Difference> = []
      const symbols: Array<SymbolSummary> = []
      const tally = { lakeA: 0, fetchedA: 0, barsA: 0, lakeB: 0, fetchedB: 0, barsB: 0 }
      for (const symbol of input.symbols) {
        const none = new Map()
        const barsA = yield* sideBars(symbol, sourceA, claimsA.get(symbol) ?? none, window).pipe(
          Effect.provide(storageA)
        )
        const barsB = yield* sideBars(symbol, sourceB, claimsB.get(symbol) ?? none, window).pipe(
          Effect.provide(storageB)
        )
        const found = compareBars(symbol, barsA.bars, barsB.bars, {
          priceTolerance: input.price,
          volumeTolerance,
          stepMs: timeframeMinutes(window.frame) * 60_000
        })
        for (const d of found) differences.push(d)
        symbols.push({ symbol, bars_a: barsA.bars.ts.length, bars_b: barsB.bars.ts.length, ...countByClass(found) })
        tally.lakeA += barsA.lakeDays.length
        tally.fetchedA += barsA.fetchedDays.length
        tally.barsA += barsA.bars.ts.length
        tally.lakeB += barsB.lakeDays.length
        tally.fetchedB += barsB.fetchedDays.length
        tally.barsB += barsB.bars.ts.length
      }
      const totals = countByClass(differences)
      for (const c of differenceClasses) {
        metrics.reconcileDifferences.inc(
          { class: c, provider_a: pair.providerA, provider_b: pair.providerB },
          totals[c]
        )
      }
      const summary: ReconcileSummary = {
        a: sideSummary(a, tally.lakeA, tally.fetchedA, tally.barsA),
        b: sideSummary(b, tally.lakeB, tally.fetchedB, tally.barsB),
        frame: window.frame,
        session: window.session,
        from: input.from,
        to: input.to,
        days: days.length,
        tolerances: {
          price: input.price,
          volume: input.volume,
          iex_volume: input.iexVolume,
          volume_applied: volumeTolerance
        },
        totals,
        symbols,
        reports: reportPaths(dir, now)
      }
      yield* writeReconcileReport(dir, summary, differences)
      yield* persistRun(metrics, `reconcile-${new Date(now).toISOString()}-${processOwner()}`)
      out.result(flags.json ? JSON.stringify(summary) : summaryText(summary))
      const failing = Object.fromEntries(input.failOn.filter((c) => totals[c] > 0).map((c) => [c, totals[c]]))
      if (Object.keys(failing).length > 0) {
        return yield* new DifferencesFound({ counts: failing, report: summary.reports.csv })
      }
      return summary
    }).pipe(Effect.scoped, Effect.provide(storageLayer(app)), Effect.withSpan("marketpipe.reconcile"))
  })

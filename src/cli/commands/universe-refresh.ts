/**
 * `marketpipe universe refresh`: dated snapshots of symbol metadata, from Nasdaq Trader directories (files or URLs)
 * and from providers' reference data (`--provider`). Every source is read and checked first and the snapshots are
 * stored after, each whole: a source failing part-way leaves no snapshot behind, not even the other sources'.
 */
import { Clock, Effect, Option } from "effect"
import { UsageError } from "../../domain/errors.ts"
import { tradingDayOf } from "../../domain/partition.ts"
import { parseSymbol, type Symbol } from "../../domain/symbol.ts"
import type { SymbolMeta } from "../../domain/symbol-meta.ts"
import { storageLayer } from "../../pipeline/context.ts"
import { connectProvider, resolveProvider } from "../../pipeline/provider-choice.ts"
import { SymbolSnapshots } from "../../repository/symbol-snapshots.ts"
import { readDirectory } from "../../universe/directory-source.ts"
import { type Gathered, gatherReference } from "../../universe/gather.ts"
import { parseSymbolDirectory } from "../../universe/nasdaq-trader.ts"
import { ownDailyBars } from "../../universe/own-daily-bars.ts"
import { type App, type CommonFlags, checkInput, currentEnvironment, type Environment, loadApp } from "../app.ts"
import { parseDay } from "../inputs.ts"
import { makeOutput, type Output } from "../output.ts"

export const DEFAULT_VOLUME_DAYS = 20

export interface ReferenceFlags {
  readonly provider: ReadonlyArray<string>
  readonly asOf: Option.Option<string>
  readonly details: Option.Option<string>
  readonly volumeDays: Option.Option<number>
}

/** `--details all|none|AAPL,MSFT`: whose per-symbol details to fetch (default all). */
export function parseDetails(raw: string | undefined): "all" | ReadonlyArray<Symbol> {
  if (raw === undefined || raw === "all") return "all"
  if (raw === "none") return []
  return raw.split(",").map((t) => {
    const symbol = parseSymbol(t)
    if (symbol === undefined) {
      throw new UsageError({
        field: "--details",
        reason: `${JSON.stringify(t)} is not a ticker; use all, none or AAPL,MSFT`
      })
    }
    return symbol
  })
}

export interface ReferenceOptions {
  readonly asOf: string
  readonly today: string
  readonly details: "all" | ReadonlyArray<Symbol>
  readonly volumeDays: number
}

/** The flags' day, detail choice and window, checked: `--as-of` defaults to today (New York). */
export const referenceOptions = (flags: Omit<ReferenceFlags, "provider">) =>
  Effect.gen(function* () {
    const today = tradingDayOf(yield* Clock.currentTimeMillis)
    const given = Option.getOrUndefined(flags.asOf)
    const asOf = given === undefined ? today : yield* checkInput(() => parseDay("--as-of", given))
    if (asOf > today) {
      return yield* new UsageError({ field: "--as-of", reason: `${asOf} is in the future (today is ${today})` })
    }
    const details = yield* checkInput(() => parseDetails(Option.getOrUndefined(flags.details)))
    const volumeDays = Option.getOrUndefined(flags.volumeDays) ?? DEFAULT_VOLUME_DAYS
    if (!Number.isInteger(volumeDays) || volumeDays < 1 || volumeDays > 260) {
      return yield* new UsageError({ field: "--volume-days", reason: `${volumeDays} is out of range; use 1 to 260` })
    }
    return { asOf, today, details, volumeDays } satisfies ReferenceOptions
  })

/** What one provider lists as of the day, gathered whole (nothing stored yet). */
export const providerSnapshot = (app: App, name: string, options: ReferenceOptions) =>
  Effect.gen(function* () {
    const none = Option.none()
    const resolved = yield* resolveProvider(
      { provider: Option.some(name), frame: none, feed: none, session: none, concurrency: none },
      app
    )
    const client = yield* connectProvider(resolved, app)
    const gathered = yield* gatherReference({
      plugin: resolved.plugin,
      client,
      ...options,
      calendar: app.calendar,
      ownDailyBars: ownDailyBars(app.loaded.dataDir)
    })
    return { source: resolved.plugin.name, ...gathered }
  })

export interface Snapshot {
  readonly source: string
  readonly asOf: string
  readonly members: ReadonlyArray<SymbolMeta>
  /** How it was gathered, for the notice. */
  readonly note: string
}

const volumeNote = (g: Gathered) =>
  g.volumeFrom === "none"
    ? "no daily bars for average volume and last close"
    : `average volume and last close over ${g.days.length} trading days to ${g.days.at(-1)} from ${g.volumeFrom === "provider" ? "the provider's daily bars" : "our own 1d bars"}`

/** Every provider's snapshot, one after another (each paced by its own rate limit). */
export const providerSnapshots = (app: App, names: ReadonlyArray<string>, options: ReferenceOptions) =>
  Effect.forEach(names, (name) =>
    Effect.map(
      providerSnapshot(app, name, options),
      (g): Snapshot => ({
        source: g.source,
        asOf: options.asOf,
        members: g.members,
        note: `${g.members.filter((m) => m.active === false).length} of them delisted; ${volumeNote(g)}`
      })
    )
  )

/** The Nasdaq Trader directories' snapshots, one per file date (its footer's). */
export const nasdaqSnapshots = (specs: ReadonlyArray<string>, cwd: string) =>
  Effect.gen(function* () {
    const read = yield* Effect.forEach(specs, (spec) =>
      Effect.flatMap(readDirectory(spec, cwd), ({ where, text }) => {
        const parsed = parseSymbolDirectory(text)
        return typeof parsed === "string"
          ? Effect.fail(new UsageError({ field: "--nasdaq", reason: `${where}: ${parsed}` }))
          : Effect.succeed({ where, parsed })
      })
    )
    const byDate = new Map<string, Array<SymbolMeta>>()
    for (const { parsed } of read) {
      const asOf = parsed.createdAt.slice(0, 10)
      byDate.set(asOf, [...(byDate.get(asOf) ?? []), ...parsed.symbols])
    }
    const notes = read.map(
      ({ where, parsed }) =>
        `${where}: ${parsed.symbols.length} symbols as of ${parsed.createdAt}, ${parsed.testIssues} test issues left out${parsed.unreadable.length > 0 ? `, ${parsed.unreadable.length} unreadable rows (lines ${parsed.unreadable.slice(0, 10).join(", ")})` : ""}`
    )
    const snapshots = [...byDate].map(
      ([asOf, members]): Snapshot => ({ source: "nasdaqtrader", asOf, members, note: "" })
    )
    return { snapshots, notes }
  })

/** Stores the snapshots (each one replaced whole) and says what was stored. */
export const storeSnapshots = (app: App, snapshots: ReadonlyArray<Snapshot>, out: Output, json: boolean) =>
  Effect.gen(function* () {
    const stored = yield* SymbolSnapshots.use((s) =>
      Effect.forEach(snapshots, (snap) =>
        Effect.map(s.record(snap.source, snap.asOf, snap.members), (n) => ({ source: snap.source, asOf: snap.asOf, n }))
      )
    ).pipe(Effect.provide(storageLayer(app)))
    if (!json)
      for (const snap of snapshots) if (snap.note !== "") out.notice(`${snap.source} ${snap.asOf}: ${snap.note}`)
    return stored
  })

export const universeRefreshMain = (
  flags: CommonFlags & ReferenceFlags & { readonly nasdaq: ReadonlyArray<string> },
  environment: Environment = currentEnvironment()
) =>
  Effect.gen(function* () {
    if (flags.nasdaq.length === 0 && flags.provider.length === 0) {
      return yield* new UsageError({
        field: "--provider",
        reason:
          "name a source: --provider polygon|finnhub|alpaca (reference data) or --nasdaq FILE|URL (nasdaqlisted.txt, otherlisted.txt); both repeat"
      })
    }
    const options = yield* referenceOptions(flags)
    const app = yield* loadApp(flags, environment)
    const out = makeOutput({ json: flags.json, tty: false })
    const nasdaq = yield* nasdaqSnapshots(flags.nasdaq, environment.cwd)
    const providers = yield* providerSnapshots(app, flags.provider, options)
    if (!flags.json) for (const note of nasdaq.notes) out.notice(note)
    const stored = yield* storeSnapshots(app, [...nasdaq.snapshots, ...providers], out, flags.json)
    if (flags.json) return out.result(JSON.stringify({ snapshots: stored }))
    out.result(stored.map((s) => `snapshot ${s.source} ${s.asOf}: ${s.n} symbols`).join("\n"))
  })

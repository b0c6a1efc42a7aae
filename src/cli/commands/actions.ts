/**
 * `marketpipe actions refresh|list`: corporate actions (splits, cash dividends) from a provider's `corporateActions`
 * part into the repository, each with the time it was first seen; and what is stored for a symbol, with the factors
 * adjusted reads apply.
 */
import { Clock, Effect, Option, Stream } from "effect"
import { addDays } from "../../domain/calendar.ts"
import { type CorporateAction, distinctActions, factorSegments, splitRatio } from "../../domain/corporate-action.ts"
import { UsageError } from "../../domain/errors.ts"
import { tradingDayOf } from "../../domain/partition.ts"
import { readStorageLayer, storageLayer } from "../../pipeline/context.ts"
import { connectProvider, resolveProvider } from "../../pipeline/provider-choice.ts"
import { CorporateActions, type StoredAction } from "../../repository/corporate-actions.ts"
import { type CommonFlags, checkInput, currentEnvironment, type Environment, loadApp } from "../app.ts"
import { parseDay, parseSymbols } from "../inputs.ts"
import { makeOutput, table } from "../output.ts"
import { symbolsFor } from "./backfill.ts"

export interface ActionsRefreshFlags extends CommonFlags {
  readonly symbols: Option.Option<string>
  readonly universe: Option.Option<string>
  readonly provider: Option.Option<string>
  readonly from: Option.Option<string>
  readonly to: Option.Option<string>
}

/** Actions are asked for from here unless `--from` says otherwise: older ones still adjust older bars. */
const DEFAULT_FROM = "1990-01-01"
/** Announced splits and dividends come ahead of their ex-date: look this far past today. */
const AHEAD_DAYS = 120

export const actionsRefreshMain = (flags: ActionsRefreshFlags, environment: Environment = currentEnvironment()) =>
  Effect.gen(function* () {
    const app = yield* loadApp(flags, environment)
    const out = makeOutput({ json: flags.json, tty: process.stderr.isTTY === true })
    const today = tradingDayOf(yield* Clock.currentTimeMillis)
    const { symbols } = yield* symbolsFor(flags, app, environment.cwd)
    const from = yield* checkInput(() =>
      Option.match(flags.from, { onNone: () => DEFAULT_FROM, onSome: (d) => parseDay("--from", d) })
    )
    const to = yield* checkInput(() =>
      Option.match(flags.to, { onNone: () => addDays(today, AHEAD_DAYS), onSome: (d) => parseDay("--to", d) })
    )
    if (from > to) return yield* new UsageError({ field: "--from", reason: `${from} is after --to ${to}` })
    const none = Option.none()
    const resolved = yield* resolveProvider(
      { provider: flags.provider, frame: none, feed: none, session: none, concurrency: none },
      app
    )
    const caps = resolved.plugin.capabilities.corporateActions
    const client = yield* connectProvider(resolved, app)
    if (caps === undefined || client.corporateActions === undefined) {
      return yield* new UsageError({
        field: "--provider",
        reason: `provider ${resolved.plugin.name} has no corporate actions; use polygon, alpaca or finnhub`
      })
    }
    const kinds = [...(caps.splits ? (["split"] as const) : []), ...(caps.dividends ? (["dividend"] as const) : [])]
    const listed = yield* Stream.runCollect(client.corporateActions.list({ symbols, from, to, kinds })).pipe(
      Effect.map((chunk) => Array.from(chunk).filter((a) => symbols.includes(a.symbol)))
    )
    const recorded = yield* CorporateActions.use((c) => c.record(resolved.plugin.name, listed)).pipe(
      Effect.provide(storageLayer(app))
    )
    const splits = listed.filter((a) => a.kind === "split").length
    const summary = {
      provider: resolved.plugin.name,
      symbols: symbols.length,
      from,
      to,
      splits,
      dividends: listed.length - splits,
      ...recorded
    }
    out.result(
      flags.json
        ? JSON.stringify(summary)
        : `actions from ${summary.provider} for ${summary.symbols} symbol(s), ex-dates ${from}..${to}: ${splits} split(s), ${summary.dividends} dividend(s); ${recorded.added} new, ${recorded.changed} changed, ${recorded.unchanged} already known`
    )
    return summary
  })

export interface ActionsListFlags extends CommonFlags {
  readonly symbol: string
}

const describe = (a: CorporateAction): string =>
  a.kind === "split"
    ? `${a.to}-for-${a.from} ${splitRatio(a) >= 1 ? "split" : "reverse split"}`
    : `${a.special ? "special " : ""}dividend ${a.amount} ${a.currency}${a.payDate === undefined ? "" : `, paid ${a.payDate}`}`

export const actionsListMain = (flags: ActionsListFlags, environment: Environment = currentEnvironment()) =>
  Effect.gen(function* () {
    const app = yield* loadApp(flags, environment)
    const out = makeOutput({ json: flags.json, tty: false })
    const [symbol] = yield* checkInput(() => parseSymbols("SYMBOL", flags.symbol))
    if (symbol === undefined) return yield* new UsageError({ field: "SYMBOL", reason: "give one ticker" })
    const stored: ReadonlyArray<StoredAction> = yield* CorporateActions.use((c) => c.list([symbol])).pipe(
      Effect.provide(readStorageLayer(app))
    )
    // The split factors adjusted reads apply before each ex-date (dividend factors need the lake's closes).
    const { segments } = factorSegments(symbol, distinctActions(stored), "split", () => undefined)
    if (flags.json) {
      out.result(JSON.stringify({ symbol, actions: stored, splitFactors: segments }))
      return
    }
    if (stored.length === 0) {
      out.result(`no corporate actions stored for ${symbol} (marketpipe actions refresh --symbols ${symbol})`)
      return
    }
    out.result(
      table(
        ["ex-date", "action", "source", "first seen", "split factor before"],
        stored.map((a) => [
          a.exDate,
          describe(a),
          a.source,
          a.firstSeenAt.slice(0, 19).replace("T", " "),
          a.kind === "split" ? String(segments.find((s) => s.until === a.exDate)?.split ?? 1) : ""
        ])
      )
    )
  })

/** `marketpipe ohlcv ingest`: fetch a range of trading days for some symbols into the lake, whatever the ledger says. */
import { Effect, Option } from "effect"
import { sizedPlan } from "../../pipeline/backfill-plan.ts"
import { connectProvider, type ProviderChoice, requestFor, resolveProvider } from "../../pipeline/provider-choice.ts"
import { type CommonFlags, checkInput, currentEnvironment, type Environment, loadApp } from "../app.ts"
import { chainOf } from "../chain-of.ts"
import { runChain } from "../chain-run.ts"
import { parseRange, parseSymbols } from "../inputs.ts"
import { finishRun } from "../job-summary.ts"
import { makeOutput } from "../output.ts"

export interface IngestFlags extends CommonFlags, ProviderChoice {
  readonly symbols: string
  readonly start: string
  readonly end: string
  readonly yes: boolean
}

export const ingestMain = (flags: IngestFlags, environment: Environment = currentEnvironment()) =>
  Effect.gen(function* () {
    const app = yield* loadApp(flags, environment)
    const out = makeOutput({ json: flags.json, tty: process.stderr.isTTY === true })
    for (const n of app.loaded.notices) out.notice(`notice: ${n}`)
    const symbols = yield* checkInput(() => parseSymbols("--symbols", flags.symbols))
    const { from, to } = yield* checkInput(() => parseRange(flags.start, flags.end))
    const chain = chainOf(flags, app)
    const resolved = yield* resolveProvider(
      chain === undefined ? flags : { ...flags, provider: Option.some(chain[0] as string) },
      app
    )
    yield* sizedPlan({ ...requestFor(resolved, app), symbols, from, to }, flags.yes)
    if (chain !== undefined)
      return yield* runChain(chain, flags, { kind: "ingest", symbols, from, to }, app, out, flags.json)
    const client = yield* connectProvider(resolved, app)
    return yield* finishRun(
      { ...requestFor(resolved, app), kind: "ingest", client, symbols, from, to },
      app,
      out,
      flags.json
    )
  })

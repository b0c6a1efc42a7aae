/** Runs `ohlcv ingest` in-process against a temp data dir, as the CLI would. */
import { Effect, Exit, Option } from "effect"
import type { AggregateFlags } from "../../src/cli/commands/aggregate.ts"
import { type IngestFlags, ingestMain } from "../../src/cli/commands/ingest.ts"
import { runServices } from "./run-services.ts"

/** Flags every run command shares, as the CLI leaves them when not given (fake provider, JSON output). */
export const runFlagDefaults = {
  provider: Option.some("fake"),
  frame: Option.none(),
  feed: Option.none(),
  session: Option.none(),
  concurrency: Option.none(),
  config: Option.none(),
  dataDir: Option.none(),
  json: true,
  yes: false
} satisfies Omit<IngestFlags, "symbols" | "start" | "end">

export const ingestFlags = (
  over: Partial<IngestFlags> & { symbols: string; start: string; end: string }
): IngestFlags => ({ ...runFlagDefaults, ...over })

/** `services` is the run's registry and limiters (fresh unless a test shares them between runs). */
export const ingestIn = (
  cwd: string,
  flags: IngestFlags,
  env: Record<string, string> = {},
  services: ReturnType<typeof runServices> = runServices()
) => Effect.runPromiseExit(ingestMain(flags, { env, cwd }).pipe(Effect.provide(services)))

export const failureTag = (exit: Exit.Exit<unknown, unknown>): string | undefined =>
  Exit.isFailure(exit)
    ? (exit.cause as unknown as { reasons: Array<{ error?: { _tag?: string } }> }).reasons[0]?.error?._tag
    : undefined

/** `ohlcv aggregate` flags as the parser gives them with none set (JSON output), with `over` on top. */
export const aggregateFlags = (over: Partial<AggregateFlags> = {}): AggregateFlags => ({
  symbols: Option.none(),
  from: Option.none(),
  to: Option.none(),
  frames: Option.none(),
  session: Option.none(),
  force: false,
  config: Option.none(),
  dataDir: Option.none(),
  json: true,
  ...over
})

/** Runs `ohlcv backfill` and `ledger` in-process, as the CLI would, against a temp working directory. */
import { Effect, Option } from "effect"
import { type BackfillFlags, backfillMain } from "../../src/cli/commands/backfill.ts"
import { type LedgerFlags, ledgerMain } from "../../src/cli/commands/ledger.ts"
import { capture } from "./capture.ts"
import { runFlagDefaults } from "./ingest.ts"
import { runServices } from "./run-services.ts"

export const backfillFlags = (over: Partial<BackfillFlags>): BackfillFlags => ({
  symbols: Option.none(),
  universe: Option.none(),
  from: Option.none(),
  to: Option.none(),
  lookback: Option.none(),
  refetch: Option.none(),
  dryRun: false,
  enqueue: false,
  metricsPort: Option.none(),
  ...runFlagDefaults,
  ...over
})

export const backfillIn = (
  cwd: string,
  flags: BackfillFlags,
  env: Record<string, string> = {},
  services: ReturnType<typeof runServices> = runServices()
) => capture(() => Effect.runPromiseExit(backfillMain(flags, { env, cwd }).pipe(Effect.provide(services))))

export const ledgerJson = async (cwd: string, over: Partial<LedgerFlags> = {}) => {
  const flags: LedgerFlags = {
    symbols: Option.none(),
    from: Option.none(),
    to: Option.none(),
    frame: Option.none(),
    session: Option.none(),
    days: false,
    config: Option.none(),
    dataDir: Option.none(),
    json: true,
    ...over
  }
  const r = await capture(() => Effect.runPromise(ledgerMain(flags, { env: {}, cwd })))
  return JSON.parse(r.stdout)
}

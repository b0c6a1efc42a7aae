/** Runs `ledger verify` in-process (JSON output, captured), as the CLI would. */
import { Effect, Option } from "effect"
import { type LedgerVerifyFlags, ledgerVerifyMain } from "../../src/cli/commands/ledger.ts"
import { capture } from "./capture.ts"

export const verifyIn = (cwd: string, over: Partial<LedgerVerifyFlags> = {}) =>
  capture(() =>
    Effect.runPromiseExit(
      ledgerVerifyMain(
        {
          symbols: Option.none(),
          from: Option.none(),
          to: Option.none(),
          frame: Option.none(),
          repair: false,
          config: Option.none(),
          dataDir: Option.none(),
          json: true,
          ...over
        },
        { env: {}, cwd }
      )
    )
  )

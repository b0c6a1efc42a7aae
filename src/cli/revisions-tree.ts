/** `marketpipe revisions`: the audit trail of history providers rewrote, as revalidating backfills found it. */
import { Command, Flag } from "effect/cli"
import { commonFlags } from "./commands/common.ts"
import { handle } from "./lazy-handler.ts"

const listCommand = Command.make(
  "list",
  {
    symbols: Flag.String("symbols").pipe(Flag.withDescription("only these tickers, A,B,C"), Flag.optional),
    since: Flag.String("since").pipe(
      Flag.withDescription("only those found since: YYYY-MM-DD, an ISO date-time, or an age such as 7d or 3m"),
      Flag.optional
    ),
    limit: Flag.Int("limit").pipe(Flag.withDescription("at most N, newest first (0 = all)"), Flag.withDefault(100)),
    ...commonFlags
  },
  (flags) =>
    handle(
      () => import("./commands/revisions.ts"),
      (c) => c.revisionsListMain(flags)
    )
).pipe(
  Command.withDescription(
    "Days a provider rewrote, found by backfill --revalidate: bars added, removed and changed, with a sample"
  )
)

export const revisionsCommand = Command.make("revisions").pipe(
  Command.withDescription("The audit trail of history providers rewrote (ohlcv backfill --revalidate)"),
  Command.withSubcommands([listCommand])
)

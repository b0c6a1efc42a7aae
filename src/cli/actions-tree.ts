/** `marketpipe actions`: corporate actions (splits and cash dividends) for adjusted reads of the raw lake. */
import { Argument, Command, Flag } from "effect/cli"
import { commonFlags } from "./commands/common.ts"
import { handle, handleCounted } from "./lazy-handler.ts"

const refreshCommand = Command.make(
  "refresh",
  {
    symbols: Flag.String("symbols").pipe(Flag.withDescription("comma-separated tickers"), Flag.optional),
    universe: Flag.String("universe").pipe(
      Flag.withDescription("a universe file, or the name of a saved universe (marketpipe universe list)"),
      Flag.optional
    ),
    provider: Flag.String("provider").pipe(
      Flag.withDescription("the source: polygon, alpaca or finnhub (default: config ingest.provider)"),
      Flag.optional
    ),
    from: Flag.String("from").pipe(
      Flag.withDescription("first ex-date, YYYY-MM-DD (default 1990-01-01)"),
      Flag.optional
    ),
    to: Flag.String("to").pipe(
      Flag.withDescription("last ex-date (default: 120 days from today, for those announced ahead)"),
      Flag.optional
    ),
    ...commonFlags
  },
  (flags) =>
    handleCounted(
      () => import("./commands/actions.ts"),
      (c) => c.actionsRefreshMain(flags)
    )
).pipe(
  Command.withDescription(
    "Fetch splits and cash dividends from a provider into the repository, each with the time it was first seen"
  )
)

const listCommand = Command.make(
  "list",
  {
    symbol: Argument.String("SYMBOL").pipe(Argument.withDescription("the ticker")),
    ...commonFlags
  },
  (flags) =>
    handle(
      () => import("./commands/actions.ts"),
      (c) => c.actionsListMain(flags)
    )
).pipe(
  Command.withDescription("A symbol's stored splits and dividends, with their source, first-seen time and factors")
)

export const actionsCommand = Command.make("actions").pipe(
  Command.withDescription("Corporate actions: splits and dividends, stored once, applied when reading adjusted prices"),
  Command.withSubcommands([refreshCommand, listCommand])
)

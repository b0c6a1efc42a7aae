/** `marketpipe universe …`: named universes, metadata snapshots and the filters that build them. */
import { Argument, Command, Flag } from "effect/cli"
import { commonFlags } from "./commands/common.ts"
import { handle, handleCounted } from "./lazy-handler.ts"

/** Where `universe refresh` and `universe build` take reference data from, and as of when. */
const referenceFlags = {
  provider: Flag.String("provider").pipe(
    Flag.withDescription("take a snapshot of this provider's reference data (polygon, finnhub, alpaca); repeatable"),
    Flag.atLeast(0)
  ),
  asOf: Flag.String("as-of").pipe(
    Flag.withDescription("the day the metadata is to describe, YYYY-MM-DD (default: today); past days need polygon"),
    Flag.optional
  ),
  details: Flag.String("details").pipe(
    Flag.withDescription(
      "per-symbol details (market cap, shares, sector): all (default), none, or AAPL,MSFT; one request each"
    ),
    Flag.optional
  ),
  volumeDays: Flag.Int("volume-days").pipe(
    Flag.withDescription("trading days the average volume is taken over (default 20)"),
    Flag.optional
  ),
  ...commonFlags
}

const universeName = Argument.String("NAME").pipe(Argument.withDescription("the universe's name"))

export const universeCommand = Command.make("universe").pipe(
  Command.withDescription("Named universes: symbol lists with each member's metadata, for backfills and research"),
  Command.withSubcommands([
    Command.make(
      "import",
      {
        file: Argument.String("FILE").pipe(
          Argument.withDescription("a universe CSV (a symbol column and metadata columns) or one ticker a line")
        ),
        name: Flag.String("name").pipe(Flag.withDescription("the name to save it under (replaces one of that name)")),
        ...commonFlags
      },
      (flags) =>
        handle(
          () => import("./commands/universe.ts"),
          (c) => c.universeImportMain(flags)
        )
    ).pipe(Command.withDescription("Save a universe from a file")),
    Command.make(
      "export",
      {
        name: universeName,
        out: Argument.String("OUT").pipe(Argument.withDescription("the CSV file to write")),
        ...commonFlags
      },
      (flags) =>
        handle(
          () => import("./commands/universe.ts"),
          (c) => c.universeExportMain(flags)
        )
    ).pipe(Command.withDescription("Write a universe as CSV, every metadata field a column")),
    Command.make(
      "show",
      {
        name: universeName,
        csv: Flag.Boolean("csv").pipe(Flag.withDescription("print the universe CSV"), Flag.withDefault(false)),
        ...commonFlags
      },
      (flags) =>
        handle(
          () => import("./commands/universe.ts"),
          (c) => c.universeShowMain(flags)
        )
    ).pipe(Command.withDescription("Show a universe's members")),
    Command.make("list", { ...commonFlags }, (flags) =>
      handle(
        () => import("./commands/universe.ts"),
        (c) => c.universeListMain(flags)
      )
    ).pipe(Command.withDescription("List the saved universes")),
    Command.make(
      "refresh",
      {
        nasdaq: Flag.String("nasdaq").pipe(
          Flag.withDescription(
            "a Nasdaq Trader directory (nasdaqlisted.txt, otherlisted.txt) as a file or an http(s) URL; repeat for both"
          ),
          Flag.atLeast(0)
        ),
        ...referenceFlags
      },
      (flags) =>
        handleCounted(
          () => import("./commands/universe-refresh.ts"),
          (c) => c.universeRefreshMain(flags)
        )
    ).pipe(Command.withDescription("Take a snapshot of symbol metadata, kept by date for point-in-time universes")),
    Command.make(
      "build",
      {
        filters: Flag.String("filters").pipe(Flag.withDescription("a filters.yml (schemas/filters.v1.json)")),
        name: Flag.String("name").pipe(Flag.withDescription("the name to save it under (replaces one of that name)")),
        export: Flag.String("export").pipe(Flag.withDescription("also write it as CSV to this file"), Flag.optional),
        ...referenceFlags
      },
      (flags) =>
        handleCounted(
          () => import("./commands/universe.ts"),
          (c) => c.universeBuildMain(flags)
        )
    ).pipe(
      Command.withDescription(
        "Build a universe from the filters over the metadata snapshots (with --provider, take that provider's snapshot first)"
      )
    ),
    Command.make("snapshots", { ...commonFlags }, (flags) =>
      handle(
        () => import("./commands/universe.ts"),
        (c) => c.universeSnapshotsMain(flags)
      )
    ).pipe(Command.withDescription("List the symbol metadata snapshots kept, by source and date")),
    Command.make(
      "diff",
      {
        a: Argument.String("A").pipe(Argument.withDescription("the universe to compare from")),
        b: Argument.String("B").pipe(Argument.withDescription("the universe to compare to")),
        ...commonFlags
      },
      (flags) =>
        handle(
          () => import("./commands/universe.ts"),
          (c) => c.universeDiffMain(flags)
        )
    ).pipe(Command.withDescription("What B adds to A and drops from it, and why"))
  ])
)

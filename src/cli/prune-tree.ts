/** `marketpipe prune …`: bars and repository history past their retention. */
import { Command, Flag } from "effect/cli"
import { commonFlags } from "./commands/common.ts"
import { handle } from "./lazy-handler.ts"

const dryRun = Flag.Boolean("dry-run").pipe(
  Flag.withDescription("report exactly what would be removed; remove nothing"),
  Flag.withDefault(false)
)
const olderThan = Flag.String("older-than").pipe(
  Flag.withDescription("remove what is older than this age: 30d, 18m, 2y (default: the config's retention)"),
  Flag.optional
)

const dbCommand = (name: string) =>
  Command.make(name, { olderThan, dryRun, ...commonFlags }, (flags) =>
    handle(
      () => import("./commands/prune.ts"),
      (c) => c.pruneDbMain(flags)
    )
  ).pipe(
    Command.withDescription(
      "Remove finished jobs, their partitions, validation runs and work units, and metric samples older than the age (never a running job's)"
    )
  )

export const pruneCommand = Command.make("prune", { dryRun, ...commonFlags }, (flags) =>
  handle(
    () => import("./commands/prune.ts"),
    (c) => c.pruneConfiguredMain(flags)
  )
).pipe(
  Command.withDescription("Remove bars and repository history past their retention (alone: the config's `retention`)"),
  Command.withSubcommands([
    Command.make(
      "parquet",
      {
        olderThan,
        frame: Flag.String("frame").pipe(Flag.withDescription("only this frame (default: every frame)"), Flag.optional),
        symbols: Flag.String("symbols").pipe(Flag.withDescription("only these symbols, A,B,C"), Flag.optional),
        dryRun,
        ...commonFlags
      },
      (flags) =>
        handle(
          () => import("./commands/prune.ts"),
          (c) => c.pruneParquetMain(flags)
        )
    ).pipe(
      Command.withDescription(
        "Remove lake files past the age (the file straddling it is rewritten with its newer days) and their ledger rows"
      )
    ),
    dbCommand("db"),
    dbCommand("sqlite"),
    Command.make("versions", { olderThan, dryRun, ...commonFlags }, (flags) =>
      handle(
        () => import("./commands/prune.ts"),
        (c) => c.pruneVersionsMain(flags)
      )
    ).pipe(
      Command.withDescription(
        "Remove the kept bytes of lake file versions superseded before the age (default: config retention.versions); as-of reads before it then say the version was pruned"
      )
    )
  ])
)

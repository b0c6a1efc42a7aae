/** `marketpipe jobs …`: the jobs recorded in the repository, and what an operator does with them. */
import { Argument, Command, Flag } from "effect/cli"
import { commonFlags } from "./commands/common.ts"
import { handle, handleCounted } from "./lazy-handler.ts"

const jobId = Argument.Int("ID").pipe(Argument.withDescription("job id (see jobs list)"))
export const jobsCommand = Command.make("jobs").pipe(
  Command.withDescription("Jobs recorded in the repository: list, show, cancel, fail, retry, clean up"),
  Command.withSubcommands([
    Command.make(
      "list",
      {
        limit: Flag.Int("limit").pipe(Flag.withDescription("how many recent jobs"), Flag.withDefault(20)),
        states: Flag.String("state").pipe(
          Flag.withDescription(
            "only jobs in this state: running, succeeded, failed, partial, abandoned, cancelled (repeatable, or a comma list)"
          ),
          Flag.atLeast(0)
        ),
        kinds: Flag.String("kind").pipe(
          Flag.withDescription(
            "only jobs of this kind: ingest, backfill, aggregate, validate (repeatable, or a comma list)"
          ),
          Flag.atLeast(0)
        ),
        ...commonFlags
      },
      (flags) =>
        handle(
          () => import("./commands/jobs.ts"),
          (c) => c.jobsListMain(flags)
        )
    ).pipe(
      Command.withDescription(
        "List recent jobs, newest first; a running job whose process on this host is gone shows as running (owner gone)"
      )
    ),
    Command.make("show", { id: jobId, ...commonFlags }, (flags) =>
      handle(
        () => import("./commands/jobs.ts"),
        (c) => c.jobsShowMain(flags)
      )
    ).pipe(Command.withDescription("Show one job, its queue status and its failed partitions")),
    Command.make("cancel", { id: jobId, ...commonFlags }, (flags) =>
      handle(
        () => import("./commands/jobs.ts"),
        (c) => c.jobsCancelMain(flags)
      )
    ).pipe(
      Command.withDescription(
        "Stop a running or queued job at its next unit boundary; finished partitions stay, the job ends cancelled"
      )
    ),
    Command.make("fail", { id: jobId, ...commonFlags }, (flags) =>
      handle(
        () => import("./commands/jobs.ts"),
        (c) => c.jobsFailMain(flags)
      )
    ).pipe(Command.withDescription("Close a running job whose process on this host is gone as abandoned")),
    Command.make(
      "retry",
      {
        id: jobId,
        enqueue: Flag.Boolean("enqueue").pipe(
          Flag.withDescription("plan the retry into the shared queue for `marketpipe worker` instead of running it"),
          Flag.withDefault(false)
        ),
        ...commonFlags
      },
      (flags) =>
        handleCounted(
          () => import("./commands/jobs.ts"),
          (c) => c.jobsRetryMain(flags)
        )
    ).pipe(
      Command.withDescription(
        "Run a new job over the partitions a job left failed or unrun (a job whose process is gone: abandoned, then resumed)"
      )
    ),
    Command.make(
      "cleanup",
      {
        olderThan: Flag.String("older-than").pipe(
          Flag.withDescription("remove jobs that finished longer ago than this: 30d, 18m, 2y"),
          Flag.optional
        ),
        states: Flag.String("state").pipe(
          Flag.withDescription(
            "remove jobs in this state: succeeded, failed, partial, abandoned, cancelled (repeatable, or a comma list)"
          ),
          Flag.atLeast(0)
        ),
        dryRun: Flag.Boolean("dry-run").pipe(
          Flag.withDescription("report exactly what would be removed; remove nothing"),
          Flag.withDefault(false)
        ),
        ...commonFlags
      },
      (flags) =>
        handle(
          () => import("./commands/jobs.ts"),
          (c) => c.jobsCleanupMain(flags)
        )
    ).pipe(
      Command.withDescription(
        "Remove old finished jobs of the given states with their partitions, work units and validation runs (never the ledger)"
      )
    )
  ])
)

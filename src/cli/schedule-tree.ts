/**
 * The `schedule` group of the command tree: its flags and descriptions only, like `command-tree.ts`; the handler
 * (`commands/schedule.ts`, with the generators in `src/schedule/`) is imported when `schedule generate` runs.
 */
import { Command, Flag } from "effect/cli"
import { commonFlags } from "./commands/common.ts"
import { handle } from "./lazy-handler.ts"

const generateCommand = Command.make(
  "generate",
  {
    kind: Flag.String("kind").pipe(
      Flag.withDescription("systemd (a .service and a .timer; a service alone for metrics serve) or cron")
    ),
    name: Flag.String("name").pipe(
      Flag.withDescription("the schedule's name, e.g. marketpipe-backfill (a-z 0-9 _ -): names the unit files")
    ),
    command: Flag.String("command").pipe(
      Flag.withDescription(
        'the marketpipe arguments to run, quoted like a shell\'s, e.g. "ohlcv backfill --universe core"'
      )
    ),
    onCalendar: Flag.String("on-calendar").pipe(
      Flag.withDescription(
        'when it runs: [DAYS] HH:MM [TIME ZONE] (e.g. "Mon..Fri 18:30 America/New_York") or daily, hourly, weekly, …; not for metrics serve'
      ),
      Flag.optional
    ),
    out: Flag.String("out").pipe(
      Flag.withDescription("write the files into this directory, made if missing (default: print them)"),
      Flag.optional
    ),
    envFile: Flag.String("env-file").pipe(
      Flag.withDescription(
        "the KEY=value file the credentials are read from (systemd default /etc/marketpipe/marketpipe.env; cron: none)"
      ),
      Flag.optional
    ),
    user: Flag.String("user").pipe(
      Flag.withDescription("the user it runs as (systemd User=; cron: a line for /etc/cron.d)"),
      Flag.optional
    ),
    binary: Flag.String("binary").pipe(
      Flag.withDescription(
        "absolute path of the marketpipe binary (default: this one, or dist/marketpipe from source)"
      ),
      Flag.optional
    ),
    randomizedDelay: Flag.String("randomized-delay").pipe(
      Flag.withDescription("systemd: a random delay up to this before each run (default 5min; 0 for none)"),
      Flag.optional
    ),
    workingDir: Flag.String("working-dir").pipe(
      Flag.withDescription("systemd: the working directory (default: the data directory's parent)"),
      Flag.optional
    ),
    log: Flag.String("log").pipe(
      Flag.withDescription("cron: the file output is appended to (default <data dir>/logs/NAME.log)"),
      Flag.optional
    ),
    ...commonFlags
  },
  (flags) =>
    handle(
      () => import("./commands/schedule.ts"),
      (c) => c.scheduleGenerateMain(flags)
    )
).pipe(
  Command.withDescription(
    "Write systemd units or a crontab block that run a marketpipe command on a calendar (docs/scheduling.md)"
  )
)

export const scheduleCommand = Command.make("schedule").pipe(
  Command.withDescription("Run marketpipe on a schedule: systemd timers and services, or cron"),
  Command.withSubcommands([generateCommand])
)

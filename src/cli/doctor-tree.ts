/**
 * The `doctor` command's declaration, for `command-tree.ts` to list; its handler (`commands/doctor.ts`) and the
 * checks behind it load only when it runs.
 */
import { Command } from "effect/cli"
import { commonFlags } from "./commands/common.ts"
import { handle } from "./lazy-handler.ts"

export const doctorCommand = Command.make("doctor", { ...commonFlags }, (flags) =>
  handle(
    () => import("./commands/doctor.ts"),
    (c) => c.doctorMain(flags)
  )
).pipe(
  Command.withDescription(
    "Check the setup: config, repository, data dir, disk space, providers and their credentials, DuckDB, calendar, clock, metrics port; exit 1 when a check fails"
  )
)

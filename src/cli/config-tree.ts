/** `marketpipe config …`: the config file's versions, checked, migrated and described. */
import { Argument, Command, Flag } from "effect/cli"
import { handle } from "./lazy-handler.ts"

const file = Argument.String("FILE").pipe(Argument.withDescription("a config file (YAML)"))

export const configCommand = Command.make("config").pipe(
  Command.withDescription(
    "Config files: validate one, migrate it to a newer config_version, print a version's JSON Schema"
  ),
  Command.withSubcommands([
    Command.make(
      "validate",
      { file, json: Flag.Boolean("json").pipe(Flag.withDescription("print a JSON result"), Flag.withDefault(false)) },
      (flags) =>
        handle(
          () => import("./commands/config.ts"),
          (c) => c.configValidateMain(flags)
        )
    ).pipe(Command.withDescription("Check a config file against its config_version; every problem is named (exit 2)")),
    Command.make(
      "migrate",
      {
        file,
        to: Flag.Int("to").pipe(Flag.withDescription("the version to migrate to (default: the newest)"), Flag.optional),
        out: Flag.String("out").pipe(
          Flag.withDescription("write the migrated file here (default: standard output)"),
          Flag.optional
        )
      },
      (flags) =>
        handle(
          () => import("./commands/config.ts"),
          (c) => c.configMigrateMain(flags)
        )
    ).pipe(Command.withDescription("Write a copy of a config file migrated to a newer config_version, comments kept")),
    Command.make(
      "schema",
      {
        version: Flag.Int("version").pipe(
          Flag.withDescription("the config version (default: the newest)"),
          Flag.optional
        )
      },
      (flags) =>
        handle(
          () => import("./commands/config.ts"),
          (c) => c.configSchemaMain(flags)
        )
    ).pipe(Command.withDescription("Print a config version's JSON Schema"))
  ])
)

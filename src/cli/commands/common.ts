/** Flags every command takes. */
import { Flag } from "effect/cli"

export const commonFlags = {
  config: Flag.String("config").pipe(
    Flag.withDescription("config file (default: $MARKETPIPE_CONFIG or ./marketpipe.yaml)"),
    Flag.optional
  ),
  dataDir: Flag.String("data-dir").pipe(
    Flag.withDescription("data directory (default: $MARKETPIPE_DATA_DIR or ./data)"),
    Flag.optional
  ),
  dataset: Flag.String("dataset").pipe(
    Flag.withDescription(
      "use this dataset instead of the main lake: <data_dir>/datasets/<name>, with its own ledger (e.g. a second provider's bars)"
    ),
    Flag.optional
  ),
  json: Flag.Boolean("json").pipe(Flag.withDescription("print a machine-readable JSON result"), Flag.withDefault(false))
}

/**
 * The `ohlcv` commands' flags and descriptions (ingest, backfill, aggregate, export, validate); their handlers load when run
 * (see `lazy-handler.ts`). Part of the command tree, `command-tree.ts`.
 */
import { Argument, Command, Flag } from "effect/cli"
import { aggregatedFrames, timeframes } from "../domain/timeframe.ts"
import { commonFlags } from "./commands/common.ts"
import { confirmFlag, metricsPortFlag, providerChoiceFlags } from "./job-flags.ts"
import { handle, handleCounted } from "./lazy-handler.ts"

const aggregateCommand = Command.make(
  "aggregate",
  {
    symbols: Flag.String("symbols").pipe(
      Flag.withDescription("only these tickers (default: all in the 1m ledger)"),
      Flag.optional
    ),
    from: Flag.String("from").pipe(Flag.withDescription("first day (default: all)"), Flag.optional),
    to: Flag.String("to").pipe(Flag.withDescription("last day, inclusive (default: all)"), Flag.optional),
    frames: Flag.String("frames").pipe(
      Flag.withDescription(`comma list of ${aggregatedFrames.join(", ")} (default: config or all)`),
      Flag.optional
    ),
    session: Flag.Literals("session", ["regular", "extended"]).pipe(
      Flag.withDescription("session buckets are anchored to"),
      Flag.optional
    ),
    force: Flag.Boolean("force").pipe(
      Flag.withDescription("rebuild days whose 1m data did not change"),
      Flag.withDefault(false)
    ),
    ...commonFlags
  },
  (flags) =>
    handle(
      () => import("./commands/aggregate.ts"),
      (c) => c.aggregateMain(flags)
    )
).pipe(
  Command.withDescription("Build 5m, 15m, 30m, 1h, 4h and 1d bars from the 1m lake (session-anchored, incremental)")
)

const backfillCommand = Command.make(
  "backfill",
  {
    symbols: Flag.String("symbols").pipe(Flag.withDescription("comma-separated tickers"), Flag.optional),
    universe: Flag.String("universe").pipe(
      Flag.withDescription(
        "a saved universe's name (`universe list`), or a file: one symbol per line, or a CSV with a symbol column"
      ),
      Flag.optional
    ),
    from: Flag.String("from").pipe(Flag.withDescription("first day, YYYY-MM-DD (New York)"), Flag.optional),
    to: Flag.String("to").pipe(Flag.withDescription("last day, inclusive (default: today)"), Flag.optional),
    lookback: Flag.String("lookback").pipe(
      Flag.withDescription("span ending --to instead of --from: 30d, 12w, 6m, 2y"),
      Flag.optional
    ),
    revalidate: Flag.String("revalidate").pipe(
      Flag.withDescription(
        "fetch this trailing window again (5d, 2w, 1m; off: none; default: config revalidate) and rewrite, with a revisions record, only the days the provider changed"
      ),
      Flag.optional
    ),
    refetch: Flag.String("refetch").pipe(
      Flag.withDescription(
        "ask again for days the ledger has with these statuses: partial, empty, invalid, complete, all; secondary: the days a provider further down providers_chain filled"
      ),
      Flag.optional
    ),
    enqueue: Flag.Boolean("enqueue").pipe(
      Flag.withDescription("plan into the shared work queue for `marketpipe worker`; fetch nothing here"),
      Flag.withDefault(false)
    ),
    dryRun: Flag.Boolean("dry-run").pipe(
      Flag.withDescription("print the plan and its time under the rate limit; write nothing"),
      Flag.withDefault(false)
    ),
    metricsPort: metricsPortFlag,
    ...providerChoiceFlags,
    ...confirmFlag,
    ...commonFlags
  },
  (flags) =>
    handleCounted(
      () => import("./commands/backfill.ts"),
      (c) => c.backfillMain(flags)
    )
).pipe(Command.withDescription("Fetch what the ledger is missing for symbols over a range; a re-run fetches nothing"))

const ingestCommand = Command.make(
  "ingest",
  {
    symbols: Flag.String("symbols").pipe(Flag.withDescription("comma-separated tickers, e.g. AAPL,MSFT,BRK.B")),
    start: Flag.String("start").pipe(Flag.withDescription("first trading day, YYYY-MM-DD (New York date)")),
    end: Flag.String("end").pipe(Flag.withDescription("last trading day, YYYY-MM-DD, inclusive")),
    ...providerChoiceFlags,
    ...confirmFlag,
    ...commonFlags
  },
  (flags) =>
    handleCounted(
      () => import("./commands/ingest.ts"),
      (c) => c.ingestMain(flags)
    )
).pipe(
  Command.withDescription(
    "Fetch bars for symbols over trading days start..end (inclusive) into the lake, even days the ledger has"
  )
)

const exportCommand = Command.make(
  "export",
  {
    symbols: Flag.String("symbols").pipe(Flag.withDescription("comma-separated tickers")),
    from: Flag.String("from").pipe(Flag.withDescription("first day, YYYY-MM-DD (New York)")),
    to: Flag.String("to").pipe(Flag.withDescription("last day, inclusive")),
    frame: Flag.Literals("frame", timeframes).pipe(Flag.withDescription("timeframe (default 1m)"), Flag.optional),
    session: Flag.Literals("session", ["all", "regular", "extended"]).pipe(
      Flag.withDescription("which bars: all stored (default), or those inside the regular or extended session"),
      Flag.optional
    ),
    format: Flag.Literals("format", ["csv", "ndjson"]).pipe(
      Flag.withDescription("csv (default, with a header) or ndjson (one JSON object per bar)"),
      Flag.optional
    ),
    asOf: Flag.String("as-of").pipe(
      Flag.withDescription(
        "the lake as it was then (kept file versions): YYYY-MM-DD, New York YYYY-MM-DDTHH:mm, or ISO with Z"
      ),
      Flag.optional
    ),
    adjust: Flag.Literals("adjust", ["none", "split", "all"]).pipe(
      Flag.withDescription("none (default: as stored, raw), split (split ratios), all (splits and cash dividends)"),
      Flag.optional
    ),
    out: Flag.String("out").pipe(
      Flag.withDescription("file to write, complete or not at all (default: standard output)"),
      Flag.optional
    ),
    ...commonFlags
  },
  (flags) =>
    handle(
      () => import("./commands/export.ts"),
      (c) => c.exportMain(flags)
    )
).pipe(Command.withDescription("Bars out of the lake as CSV or NDJSON, as it is or --as-of a past time"))

const validateCommand = Command.make(
  "validate",
  {
    jobId: Argument.Int("JOB_ID").pipe(Argument.withDescription("validate what this job covered"), Argument.optional),
    symbols: Flag.String("symbols").pipe(
      Flag.withDescription("tickers (default: the job's, or all in the ledger)"),
      Flag.optional
    ),
    from: Flag.String("from").pipe(Flag.withDescription("first day"), Flag.optional),
    to: Flag.String("to").pipe(Flag.withDescription("last day, inclusive"), Flag.optional),
    session: Flag.Literals("session", ["regular", "extended"]).pipe(
      Flag.withDescription("session bars must fall in"),
      Flag.optional
    ),
    list: Flag.Boolean("list").pipe(Flag.withDescription("list validation reports"), Flag.withDefault(false)),
    show: Flag.Int("show").pipe(Flag.withDescription("show the report of job ID"), Flag.optional),
    html: Flag.String("html").pipe(
      Flag.withDescription("also write an HTML report (coverage heatmap, counts per rule)"),
      Flag.optional
    ),
    ...commonFlags
  },
  (flags) =>
    handle(
      () => import("./commands/validate.ts"),
      (c) => c.validateMain(flags)
    )
).pipe(
  Command.withDescription("Check bars in the lake against the rule set and report; --list and --show read reports back")
)

export const ohlcvCommand = Command.make("ohlcv").pipe(
  Command.withDescription("OHLCV bars: ingest, backfill, aggregate, validate"),
  Command.withSubcommands([ingestCommand, backfillCommand, aggregateCommand, exportCommand, validateCommand])
)

/**
 * The command tree: every command's flags, arguments and descriptions, which is all `--help`, `--version` and the
 * parser need. A command's handler module (`commands/*.ts`, with the pipeline, the repository, the lake and their
 * libraries behind it) is imported only when that command runs, so starting the CLI costs the declarations alone.
 * The `ohlcv`, `actions`, `jobs`, `universe`, `config`, `prune`, `schedule`, `reconcile`, `revisions` and `doctor` groups have their own
 * `*-tree.ts`. Keep these files' imports light for the same reason: the constants a
 * description shows live in small modules (`domain/timeframe.ts`, `observability/server-address.ts`).
 */
import { Argument, Command, Flag } from "effect/cli"
import { timeframes } from "../domain/timeframe.ts"
import { defaultMetricsHost, defaultMetricsPort } from "../observability/server-address.ts"
import { actionsCommand } from "./actions-tree.ts"
import { commonFlags } from "./commands/common.ts"
import { configCommand } from "./config-tree.ts"
import { doctorCommand } from "./doctor-tree.ts"
import { metricsPortFlag } from "./job-flags.ts"
import { jobsCommand } from "./jobs-tree.ts"
import { handle, handleCounted } from "./lazy-handler.ts"
import { ohlcvCommand } from "./ohlcv-tree.ts"
import { pruneCommand } from "./prune-tree.ts"
import { reconcileCommand } from "./reconcile-tree.ts"
import { revisionsCommand } from "./revisions-tree.ts"
import { scheduleCommand } from "./schedule-tree.ts"
import { universeCommand } from "./universe-tree.ts"

/** `query` prints at most this many rows unless `--limit` says otherwise. */
const DEFAULT_LIMIT = 1000

const ledgerVerifyCommand = Command.make(
  "verify",
  {
    symbols: Flag.String("symbols").pipe(Flag.withDescription("only these tickers (default: all)"), Flag.optional),
    from: Flag.String("from").pipe(Flag.withDescription("first day (default: all)"), Flag.optional),
    to: Flag.String("to").pipe(Flag.withDescription("last day, inclusive (default: all)"), Flag.optional),
    frame: Flag.Literals("frame", timeframes).pipe(Flag.withDescription("one timeframe (default: all)"), Flag.optional),
    repair: Flag.Boolean("repair").pipe(
      Flag.withDescription("mark the days the lake cannot back as missing, so the next backfill refetches them"),
      Flag.withDefault(false)
    ),
    ...commonFlags
  },
  (flags) =>
    handle(
      () => import("./commands/ledger.ts"),
      (c) => c.ledgerVerifyMain(flags)
    )
).pipe(
  Command.withDescription(
    "Check every ledger claim against the files: present, readable, the claimed bars, the recorded content hash"
  )
)

const ledgerCommand = Command.make(
  "ledger",
  {
    symbols: Flag.String("symbols").pipe(
      Flag.withDescription("only these tickers (default: all in the ledger)"),
      Flag.optional
    ),
    from: Flag.String("from").pipe(Flag.withDescription("first day (default: the ledger's first)"), Flag.optional),
    to: Flag.String("to").pipe(Flag.withDescription("last day, inclusive (default: the ledger's last)"), Flag.optional),
    frame: Flag.Literals("frame", timeframes).pipe(Flag.withDescription("timeframe (default 1m)"), Flag.optional),
    session: Flag.Literals("session", ["regular", "extended"]).pipe(
      Flag.withDescription("session expected bars are counted for"),
      Flag.optional
    ),
    days: Flag.Boolean("days").pipe(Flag.withDescription("list every day's row too"), Flag.withDefault(false)),
    ...commonFlags
  },
  (flags) =>
    handle(
      () => import("./commands/ledger.ts"),
      (c) => c.ledgerMain(flags)
    )
).pipe(
  Command.withDescription(
    "Coverage ledger per symbol: complete, partial, empty, missing and invalid days, with totals"
  ),
  Command.withSubcommands([ledgerVerifyCommand])
)

const metricsShowCommand = Command.make(
  "show",
  {
    metric: Flag.String("metric").pipe(
      Flag.withDescription("only this metric, e.g. marketpipe_bars_ingested_total"),
      Flag.optional
    ),
    since: Flag.String("since").pipe(Flag.withDescription("only runs recorded from this instant on"), Flag.optional),
    ...commonFlags
  },
  (flags) =>
    handle(
      () => import("./commands/metrics.ts"),
      (c) => c.metricsShowMain(flags)
    )
).pipe(Command.withDescription("Totals of the metrics past runs recorded"))

const metricsServeCommand = Command.make(
  "serve",
  {
    host: Flag.String("host").pipe(
      Flag.withDescription(`address to listen on (default ${defaultMetricsHost}; others are reachable from outside)`),
      Flag.withDefault(defaultMetricsHost)
    ),
    port: Flag.Int("port").pipe(
      Flag.withDescription(`port to listen on (default ${defaultMetricsPort})`),
      Flag.withDefault(defaultMetricsPort)
    ),
    ...commonFlags
  },
  (flags) =>
    handleCounted(
      () => import("./commands/metrics.ts"),
      (c) => c.metricsServeMain(flags)
    )
).pipe(
  Command.withDescription("Serve Prometheus metrics on /metrics (totals of past runs, ledger gauges) until stopped")
)

const metricsCommand = Command.make("metrics").pipe(
  Command.withDescription("Prometheus metrics: serve them, or show the totals past runs recorded"),
  Command.withSubcommands([metricsServeCommand, metricsShowCommand])
)

const providersCommand = Command.make("providers").pipe(
  Command.withDescription("Provider plugins and what they offer"),
  Command.withSubcommands([
    Command.make("list", { ...commonFlags }, (flags) =>
      handle(
        () => import("./commands/providers.ts"),
        (c) => c.providersListMain(flags)
      )
    ).pipe(Command.withDescription("List built-in and configured plugins")),
    Command.make(
      "matrix",
      {
        markdown: Flag.Boolean("markdown").pipe(
          Flag.withDescription("print Markdown (docs/providers.md)"),
          Flag.withDefault(false)
        ),
        ...commonFlags
      },
      (flags) =>
        handle(
          () => import("./commands/providers.ts"),
          (c) => c.providersMatrixMain(flags)
        )
    ).pipe(
      Command.withDescription(
        "Capability matrix: feeds, timeframes, request limits, history, rate limit, adjustments, credentials"
      )
    )
  ])
)

const queryCommand = Command.make(
  "query",
  {
    sql: Argument.String("SQL").pipe(
      Argument.withDescription(
        "one SELECT over the views bars_1m … bars_1d (raw, as stored), bars_1m_adjusted … bars_1d_adjusted and quarantine"
      )
    ),
    csv: Flag.Boolean("csv").pipe(Flag.withDescription("print CSV (header + rows)"), Flag.withDefault(false)),
    limit: Flag.Int("limit").pipe(
      Flag.withDescription(`print at most N rows (default ${DEFAULT_LIMIT}; 0 = every row)`),
      Flag.withDefault(DEFAULT_LIMIT)
    ),
    memoryLimit: Flag.String("memory-limit").pipe(
      Flag.withDescription(
        "most memory DuckDB may use, e.g. 512MB or 4GB (default: config query.memory_limit, else a quarter of the RAM)"
      ),
      Flag.optional
    ),
    threads: Flag.Int("threads").pipe(
      Flag.withDescription("DuckDB threads, 1 to 256 (default: config query.threads, else CPUs - 1, 1 to 4)"),
      Flag.optional
    ),
    skipBadFiles: Flag.Boolean("skip-bad-files").pipe(
      Flag.withDescription("leave unreadable Parquet files out of the views, with a warning naming each"),
      Flag.withDefault(false)
    ),
    asOf: Flag.String("as-of").pipe(
      Flag.withDescription(
        "read the bar views as the lake was then (kept file versions): YYYY-MM-DD, New York YYYY-MM-DDTHH:mm, or ISO with Z"
      ),
      Flag.optional
    ),
    adjust: Flag.Literals("adjust", ["split", "all"]).pipe(
      Flag.withDescription(
        "what the bars_<frame>_adjusted views apply: split ratios, or splits and cash dividends (default all)"
      ),
      Flag.optional
    ),
    ...commonFlags
  },
  (flags) =>
    handle(
      () => import("./commands/query.ts"),
      (c) => c.queryMain(flags)
    )
).pipe(
  Command.withDescription(
    "Read-only SQL (DuckDB) over the lake: views bars_<frame> and quarantine with Hive keys frame and symbol; a table, --csv or --json"
  )
)
const workerCommand = Command.make(
  "worker",
  {
    follow: Flag.Boolean("follow").pipe(
      Flag.withDescription("keep waiting for new work when the queue is empty"),
      Flag.withDefault(false)
    ),
    leaseSeconds: Flag.Int("lease-seconds").pipe(
      Flag.withDescription(
        "how long a claim lasts without renewal; a dead worker's units return after this (default 60)"
      ),
      Flag.withDefault(60)
    ),
    pollSeconds: Flag.Int("poll-seconds").pipe(
      Flag.withDescription("wait between looks at an empty queue (default 2)"),
      Flag.withDefault(2)
    ),
    metricsPort: metricsPortFlag,
    ...commonFlags
  },
  (flags) =>
    handleCounted(
      () => import("./commands/worker.ts"),
      (c) => c.workerMain(flags)
    )
).pipe(Command.withDescription("Process queued work (ohlcv backfill --enqueue) until the queue is drained"))
export const rootCommand = Command.make("marketpipe").pipe(
  Command.withDescription(
    "Market-data pipeline: OHLCV bars from provider plugins into a validated Parquet lake. Tracing: --trace console|otlp|off, or OTEL_EXPORTER_OTLP_ENDPOINT for OTLP/HTTP"
  ),
  Command.withSubcommands([
    ohlcvCommand,
    actionsCommand,
    configCommand,
    doctorCommand,
    jobsCommand,
    ledgerCommand,
    metricsCommand,
    providersCommand,
    pruneCommand,
    queryCommand,
    reconcileCommand,
    revisionsCommand,
    scheduleCommand,
    universeCommand,
    workerCommand
  ])
)

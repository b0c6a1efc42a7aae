/** `marketpipe reconcile`: two sources of the same bars compared, every difference classified. */
import { Command, Flag } from "effect/cli"
import { timeframes } from "../domain/timeframe.ts"
import { commonFlags } from "./commands/common.ts"
import { handleCounted } from "./lazy-handler.ts"

const tolerance = (name: string, what: string) => Flag.String(name).pipe(Flag.withDescription(what), Flag.optional)

const feed = (side: "a" | "b") =>
  Flag.String(`feed-${side}`).pipe(
    Flag.withDescription(`side ${side.toUpperCase()}'s feed (default: providers.<name>.feed, else the provider's own)`),
    Flag.optional
  )

export const reconcileCommand = Command.make(
  "reconcile",
  {
    providers: Flag.String("providers").pipe(Flag.withDescription("the two sources, A,B: e.g. alpaca,polygon")),
    symbols: Flag.String("symbols").pipe(Flag.withDescription("tickers, A,B,C")),
    from: Flag.String("from").pipe(Flag.withDescription("first trading day, YYYY-MM-DD")),
    to: Flag.String("to").pipe(Flag.withDescription("last trading day, inclusive")),
    frame: Flag.Literals("frame", timeframes).pipe(Flag.withDescription("timeframe (default 1m)"), Flag.optional),
    feedA: feed("a"),
    feedB: feed("b"),
    session: Flag.Literals("session", ["regular", "extended"]).pipe(
      Flag.withDescription("the session compared (default regular)"),
      Flag.optional
    ),
    priceTolerance: tolerance(
      "price-tolerance",
      "largest relative difference of open, high, low or close that is no difference (default 0.001)"
    ),
    volumeTolerance: tolerance("volume-tolerance", "the same for volume (default 0.02)"),
    iexVolumeTolerance: tolerance(
      "iex-volume-tolerance",
      "the volume tolerance when exactly one side's feed is iex, which sees only IEX's trades, 2-3% of the market (default 0.99)"
    ),
    failOn: Flag.String("fail-on").pipe(
      Flag.withDescription(
        "exit 1 when differences of these classes appear: missing, missing_a, missing_b, price, volume, shift"
      ),
      Flag.optional
    ),
    datasetA: Flag.String("dataset-a").pipe(
      Flag.withDescription("side A's lake and ledger: this dataset (default: --dataset, else the main lake)"),
      Flag.optional
    ),
    datasetB: Flag.String("dataset-b").pipe(
      Flag.withDescription(
        "side B's lake and ledger: this dataset, e.g. polygon for bars backfilled with --dataset polygon"
      ),
      Flag.optional
    ),
    out: Flag.String("out").pipe(
      Flag.withDescription("directory for the CSV, JSON and HTML details (default <data_dir>/reports)"),
      Flag.optional
    ),
    ...commonFlags
  },
  (flags) =>
    handleCounted(
      () => import("./commands/reconcile.ts"),
      (c) => c.reconcileMain(flags)
    )
).pipe(
  Command.withDescription(
    "Compare two providers (or feeds) over a window: bars missing on either side, prices or volume apart, bars a frame step off; from the lake where it holds a side, else fetched"
  )
)

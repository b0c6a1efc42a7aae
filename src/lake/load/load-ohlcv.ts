/**
 * `loadOhlcv()`: bars from the lake into typed-array columns, for notebooks, scripts and research code.
 *
 * The time range is half-open, `[start, end)`, on bar starts (`ts`). `start` and `end` are a `Date`, epoch
 * milliseconds, or a string: `YYYY-MM-DD` means midnight in New York at the start of that date (so
 * `start: "2024-03-01", end: "2024-04-01"` is March 2024 in New York), `YYYY-MM-DDTHH:mm[:ss[.SSS]]` without an offset is
 * a New York wall-clock time, and an ISO date-time with `Z` or an offset is that instant.
 *
 * Only the files whose period (month for 1m–30m, year for 1h–1d) overlaps the range are opened: their paths follow
 * from the layout (a range of more than 36 periods lists the symbol's own directory instead). First every file's
 * footer is read; row groups whose `ts` statistics fall outside the range are not read at all. The rows of the
 * remaining row groups get their place in the result's typed arrays, and each file's requested column chunks are
 * read and decoded straight into that place; the exact boundaries are cut by binary search on the sorted `ts`, and
 * the kept rows are moved together at the end. Decoding handles the layouts the lake's writers produce and leaves
 * anything else to hyparquet.
 *
 * Rows come sorted by symbol (in code-unit order, as SQL `ORDER BY symbol` over ASCII tickers), then by `ts`. A symbol
 * with no files, or a range without data, gives an empty result (`length` 0), never an error. Symbols are validated
 * with the lake's rules before any path is built from them, so nothing passed in can point outside the data dir.
 */
import { Effect } from "effect"
import { StorageError, type UsageError } from "../../domain/errors.ts"
import { adjustFrame } from "./adjust.ts"
import { asOfSources, type LoadSource, type VersionLookup } from "./as-of.ts"
import { decodeFile } from "./decode.ts"
import { allocateOutput, buildFrame, type OhlcvFrame } from "./frame.ts"
import { type LoadOhlcvOptions, type OhlcvColumn, type Resolved, resolveLoadOptions } from "./options.ts"
import { candidateFiles, type FilePlan, LakeChanged, planFile } from "./plan.ts"
import { openLoadRepository } from "./repository.ts"

export type { OhlcvColumnData, OhlcvFrame, OhlcvRow, OhlcvRowValue, OhlcvSegment } from "./frame.ts"
export {
  type LoadOhlcvOptions,
  type OhlcvColumn,
  ohlcvColumns,
  resolveTime,
  type SessionFilter,
  type TimeInput
} from "./options.ts"

const PLAN_CONCURRENCY = 16
const READ_CONCURRENCY = 4

/** One pass over the files: plan every file from its footer, reserve the output, decode in place, compact. */
const load = <C extends OhlcvColumn>(
  r: Resolved<C>,
  lookup: VersionLookup | undefined
): Effect.Effect<OhlcvFrame<C>, UsageError | StorageError | LakeChanged> =>
  Effect.gen(function* () {
    const asOf = r.asOf
    const files = (yield* Effect.forEach(r.symbols, (symbol) =>
      candidateFiles(r, symbol).pipe(
        Effect.flatMap(
          (paths): Effect.Effect<ReadonlyArray<LoadSource>, UsageError | StorageError> =>
            asOf === undefined || lookup === undefined
              ? Effect.succeed(paths.map((path) => ({ symbol, path })))
              : asOfSources({ ...r, asOf }, symbol, paths, lookup)
        )
      )
    )).flat()
    const plans = (yield* Effect.forEach(files, (f) => planFile(r, f.symbol, f.path, f.days), {
      concurrency: PLAN_CONCURRENCY
    })).filter((p): p is FilePlan => p !== undefined)
    const offsets: Array<number> = []
    const capacity = plans.reduce((at, p) => (offsets.push(at), at + p.rows), 0)
    const out = allocateOutput(r.columns, capacity)
    const kept = yield* Effect.forEach(plans, (plan, i) => decodeFile(r, plan, out, offsets[i] ?? 0), {
      concurrency: READ_CONCURRENCY
    })
    return buildFrame(
      r,
      out,
      plans.map((plan, i) => ({ symbol: plan.symbol, ranges: kept[i] ?? [] }))
    )
  })

/** One load, started over (twice at most) when a file is replaced by a bigger one while it is read. */
const loadRetried = <C extends OhlcvColumn>(r: Resolved<C>, versions: VersionLookup | undefined) =>
  load(r, versions).pipe(
    Effect.retry({ while: (e) => e instanceof LakeChanged, times: 2 }),
    Effect.catchIf(
      (e): e is LakeChanged => e instanceof LakeChanged,
      () =>
        Effect.fail(new StorageError({ path: r.lake, reason: "files kept changing while they were read; try again" }))
    )
  )

/**
 * {@link loadOhlcv} as an Effect, failing with a `UsageError` for a bad symbol, time, timeframe, column or session
 * (naming it), and with a `StorageError` for a file that cannot be read.
 */
export const loadOhlcvEffect = <C extends OhlcvColumn = OhlcvColumn>(
  options: LoadOhlcvOptions<C>
): Effect.Effect<OhlcvFrame<C>, UsageError | StorageError> =>
  Effect.gen(function* () {
    const r = yield* resolveLoadOptions(options)
    const repository =
      r.asOf === undefined && r.adjust === "none"
        ? undefined
        : yield* openLoadRepository(
            r.databaseUrl,
            r.asOf === undefined ? "adjust" : "asOf",
            r.asOf === undefined
              ? "reading adjusted prices (its corporate actions)"
              : "reading as of a time (its record of file versions)"
          )
    const frame = yield* loadRetried(r, repository?.versions)
    if (repository === undefined || r.adjust === "none") return frame
    // The raw closes that price dividends, read as of the same time through the repository already open.
    yield* adjustFrame(r, frame, repository, (symbol, timeframe, start, end) =>
      Effect.flatMap(
        resolveLoadOptions({
          symbols: symbol,
          start,
          end,
          timeframe,
          columns: ["close"],
          dataDir: r.dataDir,
          databaseUrl: r.databaseUrl,
          ...(r.asOf === undefined ? {} : { asOf: r.asOf })
        }),
        (closes) => loadRetried(closes, r.asOf === undefined ? undefined : repository.versions)
      )
    )
    return frame
  }).pipe(Effect.scoped)

/**
 * Loads bars of `symbols` whose start lies in `[start, end)` from the lake. Rejects with a `UsageError` for a bad
 * symbol, time, timeframe, column or session (naming it), and with a `StorageError` for a file that cannot be read;
 * missing symbols and ranges without files give an empty frame.
 *
 * ```ts
 * const march = await loadOhlcv({ symbols: ["AAPL", "MSFT"], start: "2024-03-01", end: "2024-04-01", columns: ["close"] })
 * march.close // Float64Array, sorted by symbol then ts
 * ```
 */
export const loadOhlcv = <C extends OhlcvColumn = OhlcvColumn>(options: LoadOhlcvOptions<C>): Promise<OhlcvFrame<C>> =>
  Effect.runPromise(loadOhlcvEffect(options))

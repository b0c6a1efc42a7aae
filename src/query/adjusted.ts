/**
 * The `bars_<frame>_adjusted` views: each frame's bars with prices divided by the cumulative split ratio and (mode
 * `all`) multiplied by the dividend factor of every later corporate action, volume multiplied by the split ratio, and
 * the two factors as columns. The factors come from the repository's actions (those known at `--as-of` when given),
 * a table of per-symbol segments the views join on.
 */
import { Effect } from "effect"
import type { LoadedConfig } from "../config/load.ts"
import { dayNumber, newYorkDayStart } from "../domain/calendar.ts"
import type { AdjustMode, FactorSegment } from "../domain/corporate-action.ts"
import { distinctActions } from "../domain/corporate-action.ts"
import type { RepositoryError, StorageError, UsageError } from "../domain/errors.ts"
import { type Timeframe, timeframes } from "../domain/timeframe.ts"
import { type LoadCloses, symbolSegments } from "../lake/load/adjust.ts"
import { loadOhlcvEffect } from "../lake/load/load-ohlcv.ts"
import { noDatabaseYet, readStorageLayer } from "../pipeline/context.ts"
import { CorporateActions } from "../repository/corporate-actions.ts"
import { barsView, sqlString } from "./views.ts"

export const adjustedView = (frame: Timeframe): string => `${barsView(frame)}_adjusted`

/** The factor segments of every symbol with actions (none without a database). */
export const adjustmentFactors = (
  loaded: LoadedConfig,
  mode: Exclude<AdjustMode, "none">,
  asOf: number | undefined,
  warn: (line: string) => void
): Effect.Effect<ReadonlyArray<FactorSegment>, UsageError | StorageError | RepositoryError> =>
  Effect.gen(function* () {
    if (noDatabaseYet({ loaded })) return []
    const known = asOf === undefined ? undefined : new Date(asOf).toISOString()
    const actions = distinctActions(
      yield* CorporateActions.use((c) => c.list([], known)).pipe(Effect.provide(readStorageLayer({ loaded })))
    )
    const symbols = [...new Set(actions.map((a) => a.symbol as string))].sort()
    const out: Array<FactorSegment> = []
    const closes: LoadCloses = (s, timeframe, start, end) =>
      loadOhlcvEffect({
        symbols: s,
        start,
        end,
        timeframe,
        columns: ["close"],
        dataDir: loaded.dataDir,
        databaseUrl: loaded.databaseUrl,
        ...(asOf === undefined ? {} : { asOf })
      })
    for (const symbol of symbols) {
      // One symbol's dividend the lake cannot price must not take every query down: that symbol gets splits only.
      const segments = yield* symbolSegments(symbol, actions, mode, closes).pipe(
        Effect.catchTag("UsageError", (e) =>
          Effect.andThen(
            Effect.sync(() => warn(`notice: ${symbol} is adjusted for splits only in the adjusted views: ${e.reason}`)),
            symbolSegments(symbol, actions, "split", closes)
          )
        )
      )
      out.push(...segments)
    }
    return out
  })

const FAR_PAST = -62_135_596_800_000 // 0001-01-01

/** The statements that make the factor table and the adjusted views (run before the session is locked). */
export function adjustedViewsSql(segments: ReadonlyArray<FactorSegment>): Array<string> {
  const rows = segments.map(
    (s) =>
      `(${sqlString(s.symbol)}, ${s.from === undefined ? FAR_PAST : newYorkDayStart(dayNumber(s.from))}, ${newYorkDayStart(dayNumber(s.until))}, ${s.split}, ${s.dividend})`
  )
  const statements = [
    "CREATE TABLE adjust_factors (symbol VARCHAR, from_ms BIGINT, until_ms BIGINT, split DOUBLE, dividend DOUBLE)"
  ]
  for (let i = 0; i < rows.length; i += 500) {
    statements.push(`INSERT INTO adjust_factors VALUES ${rows.slice(i, i + 500).join(", ")}`)
  }
  // `* REPLACE`: a frame's files do not all have every column (a daily bar fetched as such has no is_partial).
  const price = (c: string) => `b.${c} / coalesce(f.split, 1) * coalesce(f.dividend, 1) AS ${c}`
  const replaced = [...["open", "high", "low", "close", "vwap"].map(price), "b.volume * coalesce(f.split, 1) AS volume"]
  for (const frame of timeframes) {
    statements.push(
      `CREATE VIEW ${adjustedView(frame)} AS SELECT b.* REPLACE (${replaced.join(", ")}), coalesce(f.split, 1) AS split_factor, coalesce(f.dividend, 1) AS dividend_factor FROM ${barsView(frame)} b LEFT JOIN adjust_factors f ON f.symbol = b.symbol AND epoch_ms(b.ts) >= f.from_ms AND epoch_ms(b.ts) < f.until_ms`
    )
  }
  return statements
}

/**
 * `ohlcv validate` over data already in the lake: reads the 1m files of the symbols and days asked for, runs every
 * rule with the current settings and reports what they find. The lake itself is not changed.
 */
import { Effect } from "effect"
import { type BarBatch, concatBatches, selectRows } from "../domain/bar.ts"
import { previousTradingDay, type SessionKind, type TradingCalendar } from "../domain/calendar.ts"
import type { SplitAction } from "../domain/corporate-action.ts"
import { splitByDay, tradingDayOf } from "../domain/partition.ts"
import { checkSplits } from "../domain/split-check.ts"
import type { Symbol } from "../domain/symbol.ts"
import { type Finding, type RuleSettings, validateBars } from "../domain/validation.ts"
import { filePeriod } from "../lake/layout.ts"
import { ParquetSink } from "../lake/parquet-sink.ts"

export interface RevalidateRequest {
  readonly calendar: TradingCalendar
  readonly symbols: ReadonlyArray<Symbol>
  readonly from: string
  readonly to: string
  readonly session: SessionKind
  readonly rules: RuleSettings
  /** The splits on record per symbol, for `suspected_split` and `split_mismatch` (none: every jump is unexplained). */
  readonly splits?: ((symbol: string) => ReadonlyArray<SplitAction>) | undefined
}

export const revalidateLake = (request: RevalidateRequest) =>
  Effect.gen(function* () {
    const sink = yield* ParquetSink
    const days = request.calendar.tradingDays(request.from, request.to)
    const periods = [...new Set(days.map((d) => filePeriod("1m", d)))]
    const findings: Array<Finding> = []
    let bars = 0
    for (const symbol of request.symbols) {
      const read: Array<BarBatch> = []
      for (const period of periods) {
        const file = yield* sink.readFile({ frame: "1m", symbol, period })
        if (file === undefined) continue
        const rows = splitByDay(file.batch.ts)
          .filter((p) => p.day >= request.from && p.day <= request.to)
          .flatMap((p) => Array.from({ length: p.to - p.from }, (_, i) => p.from + i))
        const batch: BarBatch = selectRows(file.batch, rows)
        read.push(batch)
        bars += batch.ts.length
        findings.push(
          ...validateBars(batch, {
            alignMs: 60_000,
            frameMs: 60_000,
            sessionOf: (ts) => request.calendar.session(tradingDayOf(ts), request.session),
            settings: request.rules
          }).findings
        )
      }
      // Day over day across the whole range: a split's jump may fall between two files.
      findings.push(
        ...checkSplits(
          concatBatches(symbol, read),
          request.splits?.(symbol) ?? [],
          previousTradingDay(request.calendar)
        )
      )
    }
    return { bars, findings }
  })

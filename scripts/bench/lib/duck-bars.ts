/**
 * The ingest baseline: DuckDB generating as many bars as the lake holds for a span (one per regular-session minute
 * of each trading day and symbol) and writing them as ZSTD Parquet partitioned like the lake, by symbol and month,
 * timed together. The values are arithmetic, shaped like bars (4-decimal prices that wander, a high above and a low
 * below open and close, whole volumes and trade counts), so ZSTD meets data about as compressible as the lake's.
 */
import { join } from "node:path"
import type { DuckDBConnection } from "@duckdb/node-api"
import { makeCalendar } from "../../../mod.ts"
import type { Span } from "./sizes.ts"

const calendar = makeCalendar()

// Symbol and month strings are made once per symbol and day and joined in, not formatted for every row.

/** `(d, open, minutes, month)` for each trading day of the span: the minutes its regular session has. */
const daysTable = (span: Span): string => {
  const rows = calendar.tradingDays(span.from, span.to).map((day, d) => {
    const session = calendar.session(day, "regular")
    if (session === undefined) throw new Error(`${day} has no regular session`)
    const minutes = Math.round((session.close - session.open) / 60_000)
    return `(${d}, to_timestamp(${session.open / 1000}), ${minutes}, '${day.slice(0, 7)}')`
  })
  return `CREATE OR REPLACE TEMP TABLE bench_days AS SELECT * FROM (VALUES ${rows.join(", ")}) t(d, open, minutes, month)`
}

/** Generates and writes the span's bars into `outDir`; resolves with the rows written and the milliseconds taken. */
export async function duckWriteBars(
  conn: DuckDBConnection,
  span: Span,
  outDir: string
): Promise<{ rows: number; ms: number }> {
  await conn.run(daysTable(span))
  const started = performance.now()
  const result = await conn.runAndReadAll(`COPY (
    WITH g AS (
      SELECT s.n AS s, s.symbol, d.open + to_minutes(m.n) AS ts, d.month, s.n * 1000000 + d.d * 390 + m.n AS k
      FROM (SELECT range AS n, 'S' || lpad(range::VARCHAR, 3, '0') AS symbol FROM range(${span.symbols})) s,
        bench_days d, range(390) m(n)
      WHERE m.n < d.minutes
    ), p AS (
      SELECT *, 50 + s + 10 * sin(k / 2000.0) + ((k * 7919) % 997) / 997.0 AS price,
        (((k * 104729) % 1009) / 1009.0 - 0.5) * 0.2 AS move
      FROM g
    )
    SELECT symbol, ts,
      round(price, 4) AS open,
      round(greatest(price, price + move) + ((k * 31) % 101) / 1000.0, 4) AS high,
      round(least(price, price + move) - ((k * 17) % 103) / 1000.0, 4) AS low,
      round(price + move, 4) AS close,
      (100 + (k * 6151) % 20000)::DOUBLE AS volume,
      (1 + (k * 613) % 200)::BIGINT AS trade_count,
      round(price + move / 2, 4) AS vwap,
      'fake' AS provider, 'synthetic' AS feed, month
    FROM p
  ) TO '${join(outDir, "duck")}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (symbol, month))`)
  const ms = performance.now() - started
  return { rows: Number(result.getRows()[0]?.[0] ?? 0), ms }
}

/** Reads a lake back the way users do: with hyparquet, and with DuckDB's hive-partitioned `read_parquet`. */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import { parquetReadObjects } from "hyparquet"
import { compressors } from "hyparquet-compressors"
import { listFiles } from "./temp.ts"

export async function readLakeWithHyparquet(dataDir: string): Promise<Array<Record<string, unknown>>> {
  const rows: Array<Record<string, unknown>> = []
  for (const file of listFiles(join(dataDir, "ohlcv", "frame=1m")).filter((f) => f.endsWith(".parquet"))) {
    const bytes = readFileSync(join(dataDir, "ohlcv", "frame=1m", file))
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
    rows.push(...(await parquetReadObjects({ file: buffer, compressors })))
  }
  return rows
}

export async function duckdb<T = Record<string, unknown>>(sql: string): Promise<Array<T>> {
  const instance = await DuckDBInstance.create(":memory:")
  const connection = await instance.connect()
  try {
    const reader = await connection.runAndReadAll(sql)
    return reader.getRowObjectsJson() as Array<T>
  } finally {
    connection.closeSync()
    instance.closeSync()
  }
}

/** The lake's files of one frame (default 1m), read the way users read them: hive keys `frame` and `symbol` exposed. */
export const lakeGlob = (dataDir: string, frame = "1m") =>
  `read_parquet('${join(dataDir, "ohlcv")}/frame=${frame}/*/*.parquet', hive_partitioning = true)`

/** Row count and a digest of every value in the lake, for "equals a clean run" comparisons. */
export const lakeDigest = async (dataDir: string): Promise<{ n: string; h: string }> => {
  const rows = await duckdb<{ n: string; h: string }>(
    `SELECT count(*) AS n, md5(string_agg(concat_ws('|', symbol, ts, open, high, low, close, volume, trade_count, vwap), ',' ORDER BY symbol, ts)) AS h FROM ${lakeGlob(dataDir)}`
  )
  return rows[0] ?? { n: "0", h: "" }
}

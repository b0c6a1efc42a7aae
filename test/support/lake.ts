/** Reads a lake back the way users do: with hyparquet, and with DuckDB's hive-partitioned `read_parquet`. */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import { parquetReadObjects } from "hyparquet"
import { compressors } from "hyparquet-compressors"
import { listFiles } from "./temp.ts"

export async function readLakeWithHyparquet(dataDir: string): Promise<Array<Record<string, unknown>>> {
  const rows: Array<Record<string, unknown>> = []
  for (const file of listFiles(join(dataDir, "ohlcv")).filter((f) => f.endsWith(".parquet"))) {
    const bytes = readFileSync(join(dataDir, "ohlcv", file))
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

export const lakeGlob = (dataDir: string) =>
  `read_parquet('${join(dataDir, "ohlcv")}/*/*/*.parquet', hive_partitioning = true)`

/**
 * A whole lake file back into columns, as the writer needs it to merge days into the file, and as revalidation and
 * `ledger verify` read it: every column, with provenance and metadata. Strict where `loadOhlcv` is lenient: a file
 * whose footer contradicts itself, a column that is not top-level, or a required column without a value for every row
 * is not a lake file (a partly decoded file would otherwise come back with zero-filled rows, and a rewrite would keep
 * them as bars).
 */
import { Effect } from "effect"
import { type FileMetaData, parquetSchema } from "hyparquet"
import { type BarBatch, emptyBatch } from "../../domain/bar.ts"
import { StorageError } from "../../domain/errors.ts"
import type { Symbol } from "../../domain/symbol.ts"
import { badRowCount } from "./file-checks.ts"
import {
  bytesAsLakeFile,
  decoding,
  type LakeFile,
  type NotALakeFile,
  openLakeFile,
  readFooter,
  reason
} from "./lake-file.ts"
import { type OnFallback, readGroup, type Target } from "./row-group.ts"

export interface DecodedFile {
  readonly batch: BarBatch
  readonly provider: ReadonlyArray<string>
  readonly feed: ReadonlyArray<string>
  /** Quarantine files: the rules each row broke. */
  readonly rules: ReadonlyArray<string> | undefined
  readonly metadata: Readonly<Record<string, string>>
}

/** Columns every lake file has: one value per row each, or the file is not one. */
const requiredColumns = ["ts", "open", "high", "low", "close", "volume", "provider", "feed"] as const

async function decodeColumns(
  symbol: Symbol,
  lake: LakeFile,
  metadata: FileMetaData,
  onFallback: OnFallback | undefined
): Promise<DecodedFile> {
  const size = lake.file.byteLength
  const rows = Number(metadata.num_rows)
  const groupRows = metadata.row_groups.reduce((n, g) => n + Number(g.num_rows), 0)
  const bad = badRowCount(rows) ?? (groupRows === rows ? undefined : `row groups of ${groupRows} rows in all`)
  if (bad !== undefined) throw new Error(`not a lake file: its footer claims ${bad} (file rows ${rows})`)
  const tree = parquetSchema(metadata)
  const elements = new Map(tree.children.map((c) => [c.element.name, c]))
  for (const group of metadata.row_groups) {
    for (const column of group.columns) {
      const meta = column.meta_data
      if (meta === undefined) continue
      const name = meta.path_in_schema.join(".")
      // As hyparquet locates a chunk: some writers put 0 for "no dictionary page".
      const start = Number(meta.dictionary_page_offset || meta.data_page_offset)
      const end = start + Number(meta.total_compressed_size)
      if (!(start >= 4 && start <= end && end <= size)) {
        throw new Error(`not a lake file: column ${name} at bytes ${start}-${end} of ${size}`)
      }
      if (meta.path_in_schema.length !== 1 || !elements.has(name)) {
        throw new Error(`not a lake file: column ${name} is not a top-level column`)
      }
    }
  }
  const aggregated = metadata.schema.some((c) => c.name === "is_partial")
  const batch = aggregated ? { ...emptyBatch(symbol, rows), partial: new Uint8Array(rows) } : emptyBatch(symbol, rows)
  const provider = new Array<string>(rows)
  const feed = new Array<string>(rows)
  const rules = metadata.schema.some((c) => c.name === "rule") ? new Array<string>(rows) : undefined
  const dests: Record<string, Target["dest"]> = {
    ts: batch.ts,
    open: batch.open,
    high: batch.high,
    low: batch.low,
    close: batch.close,
    volume: batch.volume,
    trade_count: batch.tradeCount,
    vwap: batch.vwap,
    is_partial: batch.partial,
    provider,
    feed,
    rule: rules
  }
  // Columns kept nowhere (`symbol`, `severity`) are still checked: the file is read whole or not at all.
  const targets: Array<Target> = [...elements.keys()].map((name) => ({ name, dest: dests[name] }))
  const values = new Map<string, number>()
  let fileRow = 0
  for (const group of metadata.row_groups) {
    const n = Number(group.num_rows)
    let counts: Array<number>
    try {
      counts = await readGroup(lake.file, metadata, group, elements, targets, fileRow, fileRow, n, onFallback)
    } catch (e) {
      throw new Error(`not a lake file: ${reason(e)}`)
    }
    targets.forEach((t, i) => {
      values.set(t.name, (values.get(t.name) ?? 0) + (counts[i] ?? 0))
    })
    fileRow += n
  }
  for (const c of requiredColumns) {
    const n = values.get(c) ?? 0
    if (n !== rows) throw new Error(`not a lake file: column ${c} has ${n} values for ${rows} rows`)
  }
  const kv: Record<string, string> = {}
  for (const { key, value } of metadata.key_value_metadata ?? []) kv[key] = value ?? ""
  return { batch, provider, feed, rules, metadata: kv }
}

/**
 * Decodes an open lake file; fails when it is not a whole lake file. `onFallback` hears of each column of a row group
 * that hyparquet decoded instead of the direct decoder.
 */
export const decodeLakeFile = (
  symbol: Symbol,
  lake: LakeFile,
  onFallback?: OnFallback
): Effect.Effect<DecodedFile, NotALakeFile> =>
  readFooter(lake.file).pipe(
    Effect.flatMap((metadata) => decoding(() => decodeColumns(symbol, lake, metadata, onFallback)))
  )

/** The lake file at `path`, decoded; `undefined` when there is none. The error names the file. */
export const readLakeFile = (path: string, symbol: Symbol): Effect.Effect<DecodedFile | undefined, StorageError> =>
  Effect.scoped(
    openLakeFile(path).pipe(
      Effect.flatMap((lake) =>
        lake === undefined
          ? Effect.succeed(undefined)
          : decodeLakeFile(symbol, lake).pipe(Effect.mapError((e) => new StorageError({ path, reason: e.reason })))
      )
    )
  )

/** A lake file's bytes, decoded (rejects with `NotALakeFile`): for bytes already in memory. */
export const decodeBars = (symbol: Symbol, bytes: Uint8Array, onFallback?: OnFallback): Promise<DecodedFile> =>
  Effect.runPromise(decodeLakeFile(symbol, bytesAsLakeFile("(bytes)", bytes), onFallback))

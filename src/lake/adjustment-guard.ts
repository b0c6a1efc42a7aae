/**
 * One basis per lake: the bars of a data dir are all raw (as the provider sent them, the default) or all adjusted
 * the same way. A request of another basis would mix prices that cannot be told apart afterwards, so it is refused
 * before anything is fetched. The basis is what the lake's files say they hold (`marketpipe.adjustment` in each
 * file's metadata); the first 1m file found speaks for the lake.
 */
import { Effect } from "effect"
import { UsageError } from "../domain/errors.ts"
import { frameDir, lakeFiles, lakeRoots } from "./layout.ts"
import { footerOf, usingLakeFile } from "./read/lake-file.ts"

/** The adjustment the lake's bars were written with; `undefined` for an empty lake (or an unreadable first file). */
export const lakeAdjustment = (dataDir: string): Effect.Effect<string | undefined> =>
  Effect.promise(async () => {
    const first = lakeFiles(frameDir(lakeRoots(dataDir).ohlcv, "1m"), 1)[0]
    if (first === undefined) return undefined
    try {
      return await usingLakeFile(first, async ({ file }) => {
        const kv = (await footerOf(file)).key_value_metadata ?? []
        return kv.find((e) => e.key === "marketpipe.adjustment")?.value ?? undefined
      })
    } catch {
      return undefined
    }
  })

/** Fails when `adjustment` is not the basis the lake already holds. */
export const checkAdjustment = (dataDir: string, adjustment: string) =>
  Effect.gen(function* () {
    const held = yield* lakeAdjustment(dataDir)
    if (held === undefined || held === adjustment) return
    return yield* new UsageError({
      field: "ingest.adjustment",
      reason: `the lake at ${dataDir} holds ${held} bars; a ${adjustment} request would mix two price bases in it. Keep the lake ${held} (adjusted prices come at read time: loadOhlcv({ adjust }), the bars_<frame>_adjusted views, ohlcv export --adjust) or write ${adjustment} bars to another --dataset`
    })
  })

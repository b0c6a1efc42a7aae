import { describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { hostname } from "node:os"
import { Effect, Exit } from "effect"
import { lockPathOf, withFileLock } from "../../../src/lake/file-lock.ts"
import { useTempDirs } from "../../support/temp.ts"

const fresh = useTempDirs("mp-lock-")
const relative = "ohlcv/frame=1m/symbol=AAPL/2024-03.parquet"

describe("lake file locks", () => {
  test("the first lock of a file makes its directory; the lock file names its holder while held", async () => {
    const dataDir = fresh()
    const note = () => readFileSync(lockPathOf(dataDir, relative), "utf8").trimEnd()
    const seen = await Effect.runPromise(
      withFileLock(dataDir, relative, Effect.sync(note)).pipe(
        Effect.flatMap((first) =>
          Effect.map(withFileLock(dataDir, relative, Effect.sync(note)), (again) => [first, again])
        )
      )
    )
    expect(seen).toEqual([`${hostname()}:${process.pid}`, `${hostname()}:${process.pid}`])
  })

  test("a second writer waits its turn and gives up with an error naming the file", async () => {
    const dataDir = fresh()
    const inner = withFileLock(dataDir, relative, Effect.void, 50)
    const exit = await Effect.runPromiseExit(withFileLock(dataDir, relative, inner))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(String(Exit.isFailure(exit) ? exit.cause : "")).toContain("another writer held this file's lock")
  })
})

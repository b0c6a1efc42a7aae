/** The first SIGTERM or SIGINT ends a long `marketpipe query`: DuckDB stops, the process exits 130. */
import { beforeAll, describe, expect, test } from "bun:test"
import { join } from "node:path"
import { bunBin, mainTs, runSource } from "../support/cli.ts"
import { endlessQuery, signalWhenBusy } from "../support/signal.ts"
import { useTempDirs } from "../support/temp.ts"

const fresh = useTempDirs("mp-query-signal-")

let lake = ""
beforeAll(() => {
  const cwd = fresh()
  const ingested = runSource(
    ["ohlcv", "ingest", "--provider", "fake", "--symbols", "AAPL", "--start", "2024-03-04", "--end", "2024-03-08"],
    { cwd }
  )
  expect(ingested.code).toBe(0)
  lake = join(cwd, "data")
})

describe.skipIf(process.platform !== "linux")("query and signals", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const)
    test(`the first ${signal} during a long query exits 130 and prints no error`, async () => {
      const ended = await signalWhenBusy(bunBin, [mainTs, "query", endlessQuery, "--data-dir", lake], {
        cwd: fresh(),
        signal,
        busySeconds: 3,
        graceMs: 20_000
      })
      expect(ended).toEqual({ code: 130, signal: null, stderr: "" })
    }, 60_000)
})

import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Effect, Stream } from "effect"
import { type BarBatch, barsOf, type Symbol } from "../../mod.ts"
import alpaca from "../../plugins/alpaca/mod.ts"
import { toBatch } from "../../plugins/alpaca/wire.ts"
import fake from "../../plugins/fake/mod.ts"
import { makePluginHost } from "../../src/providers/host.ts"
import { alpacaRoutes } from "../emulators/alpaca.ts"
import { type Emulator, startEmulator } from "../emulators/server.ts"
import { canonicalBars, readFixture } from "../support/canonical.ts"
import { lakeDigest } from "../support/lake.ts"
import { calendar, ingestThrough, makeClient } from "../support/provider-run.ts"
import { kitServices } from "../support/run-services.ts"
import { listFiles, useTempDirs } from "../support/temp.ts"

let emulator: Emulator
const fresh = useTempDirs("mp-alpaca-")
beforeAll(async () => {
  emulator = await startEmulator({ routes: [alpacaRoutes] })
})
afterAll(async () => {
  await emulator.stop()
})

const env = () => ({ ALPACA_KEY: emulator.keys.alpaca.id, ALPACA_SECRET: emulator.keys.alpaca.secret })
const run = (options: Record<string, unknown> = {}) => ({
  plugin: alpaca,
  baseUrl: emulator.url,
  env: env(),
  feed: "sip",
  options
})
const fakeRun = { plugin: fake, baseUrl: "", env: {} }

describe("alpaca plugin against the emulator", () => {
  test("fixture pages parse to exactly the canonical bars (a symbol split across pages is appended)", () => {
    const host = makePluginHost("alpaca", calendar, kitServices())
    const parsed: Array<Record<string, unknown>> = []
    for (const day of ["2024-03-08", "2024-03-11"]) {
      for (const page of [1, 2]) {
        const body = readFixture(`alpaca/bars_multi_${day}_page${page}.json`) as {
          bars: Record<string, Array<unknown>>
        }
        for (const [symbol, list] of Object.entries(body.bars)) {
          parsed.push(...barsOf(toBatch(host.kit, symbol as Symbol, list) as BarBatch))
        }
      }
    }
    const byKey = (a: { symbol: string; ts: number }, b: { symbol: string; ts: number }) =>
      a.symbol.localeCompare(b.symbol) || a.ts - b.ts
    expect(parsed.sort(byKey as never)).toEqual(
      canonicalBars()
        .sort(byKey)
        .map((b) => ({ ...b })) as never
    )
  })

  test("multi-page days across DST land exactly the bars a fake-provider ingest lands", async () => {
    emulator.resetStats()
    const viaAlpaca = fresh()
    // 500 bars a page: each symbol's week spans several pages and pages hold two symbols at the seams.
    const summary = await ingestThrough(
      run({ page_limit: 500 }),
      viaAlpaca,
      ["AAPL", "MSFT", "BRK.B"],
      "2024-03-07",
      "2024-03-12"
    )
    expect(summary.job).toMatchObject({ state: "succeeded", partitionsDone: 12, barsWritten: 12 * 390 })
    expect(emulator.stats().requests).toBeGreaterThan(6)
    const direct = fresh()
    await ingestThrough(fakeRun, direct, ["AAPL", "MSFT", "BRK.B"], "2024-03-07", "2024-03-12")
    expect(await lakeDigest(viaAlpaca)).toEqual(await lakeDigest(direct))
    const c = await makeClient(run()).pipe(Effect.runPromise)
    const first = async (day: string) => {
      const s = calendar.session(day, "regular")
      const got = await Effect.runPromise(
        Stream.runCollect(
          c.bars({
            symbols: ["AAPL" as Symbol],
            frame: "1m",
            start: s?.open ?? 0,
            end: s?.close ?? 0,
            feed: "sip",
            adjustment: "raw",
            session: "regular"
          })
        )
      )
      return new Date((got[0] as BarBatch).ts[0] as number).toISOString()
    }
    expect(await first("2024-03-08")).toBe("2024-03-08T14:30:00.000Z")
    expect(await first("2024-03-11")).toBe("2024-03-11T13:30:00.000Z")
  })

  test("an empty result ({} bars, null token) is no bars, not an error", async () => {
    const c = await Effect.runPromise(makeClient(run()))
    const sat = Date.parse("2024-03-09T14:00:00Z")
    const got = await Effect.runPromise(
      Stream.runCollect(
        c.bars({
          symbols: ["AAPL" as Symbol],
          frame: "1m",
          start: sat,
          end: sat + 3_600_000,
          feed: "sip",
          adjustment: "raw",
          session: "regular"
        })
      )
    )
    expect(got.length).toBe(0)
  })

  test("rejected keys stop the run with a fatal error that names the credentials and never shows them", async () => {
    const dir = fresh()
    const bad = { ...run(), env: { ALPACA_KEY: emulator.keys.alpaca.id, ALPACA_SECRET: "wrong-secret-value-123" } }
    const error = await ingestThrough(bad, dir, ["AAPL"], "2024-03-07", "2024-03-08").catch((e: unknown) => e)
    expect(error).toMatchObject({ _tag: "ProviderError", fatal: true })
    expect(String((error as Error).message)).toMatch(/check ALPACA_KEY and ALPACA_SECRET/)
    for (const file of listFiles(dir)) {
      const bytes = readFileSync(join(dir, file), "latin1")
      expect(bytes.includes("wrong-secret-value-123")).toBe(false)
      expect(bytes.includes(emulator.keys.alpaca.id)).toBe(false)
    }
    expect(String((error as Error).message).includes("wrong-secret-value-123")).toBe(false)
    const missing = await Effect.runPromise(Effect.flip(makeClient({ ...run(), env: {} })))
    expect(missing.reason).toMatch(/set ALPACA_KEY and ALPACA_SECRET/)
  })

  test("SIP data from the last 15 minutes is refused with a hint to use the IEX feed", async () => {
    const c = await Effect.runPromise(makeClient(run()))
    const now = Date.now()
    const error = await Effect.runPromise(
      Effect.flip(
        Stream.runCollect(
          c.bars({
            symbols: ["AAPL" as Symbol],
            frame: "1m",
            start: now - 3_600_000,
            end: now,
            feed: "sip",
            adjustment: "raw",
            session: "regular"
          })
        )
      )
    )
    expect(error.reason).toMatch(/use --feed iex/)
    expect(error.fatal).toBe(false)
  })

  test("symbols() lists active tradable assets from the Trading API", async () => {
    const c = await Effect.runPromise(makeClient(run({ trading_base_url: emulator.url })))
    const list = await Effect.runPromise(Stream.runCollect(c.symbols?.() ?? Stream.empty))
    expect(list.map((s) => String(s.symbol))).toContain("AAPL")
    expect(list.find((s) => s.symbol === "AAPL")).toMatchObject({ active: true })
  })
})

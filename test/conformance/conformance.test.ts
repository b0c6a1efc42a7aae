/**
 * The plugin conformance suite: every HTTP plugin, against the wire-accurate emulators (which serve the fake
 * provider's market), must land exactly the fake provider's lake over pages, get DST days right, treat an empty
 * window as no bars, stop on rejected credentials without showing them, come through 429 and 5xx storms with
 * nothing lost, and name a truncated body. Adding a provider means adding it to `plugins.ts` and passing this.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Effect, Stream } from "effect"
import type { BarBatch, BarsRequest, Symbol } from "../../mod.ts"
import fake from "../../plugins/fake/mod.ts"
import { type Emulator, startEmulator } from "../emulators/server.ts"
import { duckdb, lakeDigest, lakeGlob } from "../support/lake.ts"
import { calendar, ingestThrough, makeClient, type PluginRun, unpaced } from "../support/provider-run.ts"
import { listFiles, useTempDirs } from "../support/temp.ts"
import { type Conformance, conformance } from "./plugins.ts"

let emulator: Emulator
const fresh = useTempDirs("mp-conformance-")
beforeAll(async () => {
  emulator = await startEmulator()
})
afterAll(async () => {
  await emulator.stop()
})

const symbols = ["AAPL", "MSFT"]
/** Three symbols a day per request for the storms: enough requests for every kind of fault to land. */
const stormSymbols = ["AAPL", "MSFT", "BRK.B"]
const fakeRun: PluginRun = { plugin: fake, baseUrl: "", env: {} }

/** The lakes compared on what the plugin's provider carries (see `Conformance.lake`). */
const sameLake = async (lake: Conformance["lake"], viaPlugin: string, direct: string) => {
  if (lake === "exact") return expect(await lakeDigest(viaPlugin)).toEqual(await lakeDigest(direct))
  const rows = await duckdb<Record<string, string | number | null>>(`
    WITH p AS (SELECT * FROM ${lakeGlob(viaPlugin)}), f AS (SELECT * FROM ${lakeGlob(direct)})
    SELECT (SELECT count(*) FROM p) AS plugin_rows, (SELECT count(*) FROM f) AS fake_rows, count(*) AS matched,
      count(*) FILTER (WHERE p.volume <> f.volume) AS volume_diffs,
      coalesce(max(greatest(abs(p.open - f.open) / f.open, abs(p.high - f.high) / f.high,
        abs(p.low - f.low) / f.low, abs(p.close - f.close) / f.close)), 0) AS max_rel
    FROM p JOIN f ON p.symbol = f.symbol AND p.ts = f.ts`)
  const r = rows[0] ?? {}
  expect(Number(r.plugin_rows)).toBe(Number(r.fake_rows))
  expect(Number(r.matched)).toBe(Number(r.fake_rows))
  expect(Number(r.volume_diffs)).toBe(0)
  expect(Number(r.max_rel)).toBeLessThan(lake === "ohlcv" ? 1e-12 : 1e-6)
}

const request = (start: number, end: number): BarsRequest => ({
  symbols: ["AAPL" as Symbol],
  frame: "1m",
  start,
  end,
  feed: "",
  adjustment: "raw",
  session: "regular"
})

for (const c of conformance) {
  const name = c.plugin.name
  const feed = c.plugin.capabilities.defaultFeed
  const bars = (run: PluginRun, start: number, end: number) =>
    Effect.runPromise(
      Effect.gen(function* () {
        const client = yield* makeClient(run)
        return Array.from(yield* Stream.runCollect(client.bars({ ...request(start, end), feed: run.feed ?? feed })))
      })
    )

  describe(`${name} conforms`, () => {
    test("pages over a week across the DST change land exactly the fake provider's lake", async () => {
      emulator.resetStats()
      const viaPlugin = fresh()
      const summary = await ingestThrough(
        unpaced(c.run(emulator, c.paging)),
        viaPlugin,
        symbols,
        "2024-03-07",
        "2024-03-12"
      )
      expect(summary.job).toMatchObject({ state: "succeeded", partitionsDone: 8, barsWritten: 8 * 390 })
      expect(emulator.stats().requests).toBeGreaterThan(symbols.length * 2)
      const direct = fresh()
      await ingestThrough(fakeRun, direct, symbols, "2024-03-07", "2024-03-12")
      await sameLake(c.lake, viaPlugin, direct)
    }, 60_000)

    test("a DST day starts at 09:30 New York: 14:30 UTC before the change, 13:30 after", async () => {
      const first = async (day: string) => {
        const s = calendar.session(day, "regular")
        if (s === undefined) throw new Error(`${day} is no trading day`)
        const got = await bars(c.run(emulator), s.open, s.close)
        return new Date((got[0] as BarBatch).ts[0] as number).toISOString()
      }
      expect(await first("2024-03-08")).toBe("2024-03-08T14:30:00.000Z")
      expect(await first("2024-03-11")).toBe("2024-03-11T13:30:00.000Z")
    })

    test("an empty window (a Saturday) is no bars, not an error", async () => {
      const sat = Date.parse("2024-03-09T14:00:00Z")
      expect(await bars(c.run(emulator), sat, sat + 3_600_000)).toEqual([])
    })

    const rejected = c.rejected
    if (rejected !== undefined) {
      test("rejected credentials stop the run with a fatal error in words, never showing the secret", async () => {
        const bad = rejected(emulator)
        const dir = fresh()
        const error = await ingestThrough(
          c.run(emulator, {}, bad.env),
          dir,
          ["AAPL"],
          "2024-03-07",
          "2024-03-08"
        ).catch((e: unknown) => e)
        expect(error).toMatchObject({ _tag: "ProviderError", fatal: true })
        expect(String((error as Error).message)).toMatch(bad.message)
        expect(String((error as Error).message).includes(bad.secret)).toBe(false)
        for (const file of listFiles(dir))
          expect(readFileSync(join(dir, file), "latin1").includes(bad.secret)).toBe(false)
      })
    }

    test("a 429 storm and a 5xx storm with dropped connections and truncated bodies lose nothing", async () => {
      const clean = fresh()
      await ingestThrough(unpaced(c.run(emulator, c.paging)), clean, stormSymbols, "2024-03-04", "2024-03-08")
      expect((await lakeDigest(clean)).n).toBe(String(15 * 390))
      try {
        for (const faults of [{ error429Rate: 0.4 }, { error5xxRate: 0.3, dropRate: 0.1, truncateRate: 0.1 }]) {
          emulator.setFaults(faults)
          emulator.resetStats()
          const dir = fresh()
          const run = unpaced(c.run(emulator, { ...c.paging, max_attempts: 12 }))
          const summary = await ingestThrough(run, dir, stormSymbols, "2024-03-04", "2024-03-08")
          const injected = Object.values(emulator.stats().faults).reduce((a, b) => a + b, 0)
          expect(injected, JSON.stringify(emulator.stats())).toBeGreaterThan(2)
          expect(summary.job.state).toBe("succeeded")
          expect(await lakeDigest(dir)).toEqual(await lakeDigest(clean))
        }
      } finally {
        emulator.setFaults({})
      }
    }, 60_000)

    test("a body cut short every time is retried, then named as truncated", async () => {
      const s = calendar.session("2024-03-08", "regular")
      if (s === undefined) throw new Error("2024-03-08 is a trading day")
      emulator.setFaults({ truncateRate: 1 })
      emulator.resetStats()
      try {
        const run = c.run(emulator, { max_attempts: 2, retry_base_ms: 1 })
        const error = await Effect.runPromise(
          Effect.flip(
            Effect.gen(function* () {
              const client = yield* makeClient(run)
              return yield* Stream.runCollect(client.bars({ ...request(s.open, s.close), feed: run.feed ?? feed }))
            })
          )
        )
        expect(error).toMatchObject({ _tag: "ProviderError", exhausted: true, retryable: false })
        expect(error.reason).toMatch(/^gave up after 2 tries: truncated or malformed JSON body/)
        expect(emulator.stats().requests).toBe(2)
      } finally {
        emulator.setFaults({})
      }
    })
  })
}

/**
 * Reference data conformance: every plugin that declares `capabilities.reference` (contract v2) must list the
 * emulator's register as well-formed `SymbolMeta` (a valid ticker, Polygon's type codes, MICs, dates as YYYY-MM-DD,
 * no empty or made-up fields, no `source`/`asOf` of its own), deliver each detail field it declares, list delisted
 * symbols only when it says it can, and give whole-market daily bars only when it declares them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { Effect, Stream } from "effect"
import { parseSymbol } from "../../src/domain/symbol.ts"
import { type Emulator, startEmulator } from "../emulators/server.ts"
import { malformedMeta } from "../support/meta-checks.ts"
import { makeClient, unpaced } from "../support/provider-run.ts"
import { conformance } from "./plugins.ts"

let emulator: Emulator
beforeAll(async () => {
  emulator = await startEmulator()
})
afterAll(async () => {
  await emulator.stop()
})

const withReference = conformance.filter((c) => c.plugin.capabilities.reference !== undefined)

describe("reference data conformance", () => {
  test("the plugins with reference data are the ones that have it", () => {
    expect(withReference.map((c) => c.plugin.name).sort()).toEqual(["alpaca", "finnhub", "polygon"])
  })

  for (const c of withReference) {
    const caps = c.plugin.capabilities.reference
    if (caps === undefined) continue
    describe(c.plugin.name, () => {
      const list = (details: "all" | ReadonlyArray<never>) =>
        Effect.runPromise(
          Effect.gen(function* () {
            const client = yield* makeClient(unpaced(c.run(emulator, { retry_base_ms: 1 })))
            const reference = client.reference
            if (reference === undefined) return yield* Effect.die("capabilities.reference without reference")
            return Array.from(yield* Stream.runCollect(reference.symbols({ asOf: "2024-03-11", details })))
          })
        )

      test("lists the register as well-formed SymbolMeta, each ticker once", async () => {
        const metas = await list([])
        expect(metas.map(malformedMeta).filter((p) => p !== undefined)).toEqual([])
        expect(new Set(metas.map((m) => m.symbol)).size).toBe(metas.length)
        expect(metas.map((m) => m.symbol)).toEqual(expect.arrayContaining(["AAPL", "MSFT", "SPY"]))
        const twtr = metas.find((m) => m.symbol === "TWTR")
        if (caps.delisted) expect(twtr).toMatchObject({ active: false, delistDate: "2022-11-08" })
        else expect(twtr?.delistDate).toBeUndefined()
      })

      test("details deliver every field the plugin declares", async () => {
        const metas = await list("all")
        expect(metas.map(malformedMeta).filter((p) => p !== undefined)).toEqual([])
        const aapl = metas.find((m) => m.symbol === "AAPL") as Record<string, unknown> | undefined
        for (const field of caps.detailFields)
          expect({ field, value: typeof aapl?.[field] }).not.toEqual({ field, value: "undefined" })
      })

      test(
        caps.marketDay ? "gives a trading day's whole market in daily bars" : "declares no market day and has none",
        async () => {
          const client = await Effect.runPromise(makeClient(c.run(emulator)))
          const marketDay = client.reference?.marketDay
          if (!caps.marketDay) return expect(marketDay).toBeUndefined()
          const bars = Array.from(await Effect.runPromise(Stream.runCollect(marketDay?.("2024-03-08") ?? Stream.empty)))
          expect(bars.length).toBeGreaterThan(3)
          expect(bars.every((b) => b.close > 0 && b.volume > 0 && parseSymbol(b.symbol) === b.symbol)).toBe(true)
        }
      )
    })
  }
})

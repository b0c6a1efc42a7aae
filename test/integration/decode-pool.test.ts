import { describe, expect, test } from "bun:test"
import { Effect } from "effect"
import { barColumns as spec } from "../../plugins/alpaca/wire.ts"
import {
  type DecodeOutcome,
  makeDecodePool,
  type PageDecodersShape,
  sameThreadDecoders
} from "../../src/providers/kit/decode-pool.ts"

const decoder = (name: string) => new URL(`../support/decoders/${name}.ts`, import.meta.url).href

/** A page of `n` bars each for `symbols`, as bytes. */
const page = (symbols: ReadonlyArray<string>, n: number, token: string | null = null): Uint8Array => {
  const t0 = Date.parse("2024-03-04T14:30:00Z")
  const bars = Object.fromEntries(
    symbols.map((s, k) => [
      s,
      Array.from({ length: n }, (_, i) => ({
        t: new Date(t0 + i * 60_000).toISOString().replace(".000Z", "Z"),
        o: 100 + k + i / 100,
        h: 101 + k,
        l: 99 + k,
        c: 100.5 + k,
        v: 1000 + i,
        n: i,
        vw: 100.25 + k
      }))
    ])
  )
  return new TextEncoder().encode(JSON.stringify({ bars, next_page_token: token }))
}

const plain = (o: DecodeOutcome) =>
  o.ok
    ? { kept: o.kept, groups: o.groups.map((g) => ({ ...g, ts: [...g.ts], close: [...g.close], vwap: [...g.vwap] })) }
    : o

const withPool = <A>(workerUrl: string | undefined, body: (pool: PageDecodersShape) => Effect.Effect<A>) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.flatMap(makeDecodePool(workerUrl === undefined ? {} : { workerUrl }), (pool) =>
        Effect.map(body(pool), (a) => ({ a, stats: pool.stats() }))
      )
    )
  )

describe("the page decode thread", () => {
  test("pages are decoded on the thread, into the columns the main thread would make, buffers moved", async () => {
    const pages = [page(["AAPL", "MSFT"], 300, "next"), page(["SPY"], 5)]
    const here = await Promise.all(pages.map((p) => Effect.runPromise(sameThreadDecoders.decode(spec, p.slice()))))
    const { a, stats } = await withPool(undefined, (pool) =>
      Effect.andThen(
        Effect.map(pool.ready, (loaded) => expect(loaded).toBe(true)),
        Effect.all(
          pages.map((p) => pool.decode(spec, p)),
          { concurrency: "unbounded" }
        )
      )
    )
    expect(stats).toEqual({ onThread: 2, here: 0, sameThread: false })
    expect(a.map(plain)).toEqual(here.map(plain))
    expect(pages[0]?.byteLength).toBe(0)
    expect(a[0]?.ok && a[0].groups[1]?.key).toBe("MSFT")
  })

  test("a page that is not the shape comes back whole, for the caller's Schema", async () => {
    const text = '{"bars":{"AAPL":[{"t":"2024-03-04T14:30:00Z","o":"ten"}]}}'
    const { a, stats } = await withPool(undefined, (pool) =>
      Effect.andThen(
        pool.ready,
        Effect.all([
          pool.decode(spec, new TextEncoder().encode(text)),
          pool.decode(spec, new TextEncoder().encode("{"))
        ])
      )
    )
    expect(stats.onThread).toBe(2)
    expect(a[0]?.ok === false && a[0].why === "shape" && new TextDecoder().decode(a[0].bytes)).toBe(text)
    expect(a[1]?.ok === false && a[1].why).toBe("json")
  })

  test("a thread that cannot load: every page is decoded on the main thread, none lost, the same columns", async () => {
    const { a, stats } = await withPool(decoder("broken"), (pool) =>
      Effect.gen(function* () {
        const first = yield* pool.decode(spec, page(["AAPL"], 10))
        const loaded = yield* pool.ready
        const second = yield* pool.decode(spec, page(["AAPL"], 10))
        return { first, loaded, second }
      })
    )
    const expected = plain(await Effect.runPromise(sameThreadDecoders.decode(spec, page(["AAPL"], 10))))
    expect(a.loaded).toBe(false)
    expect([plain(a.first), plain(a.second)]).toEqual([expected, expected])
    expect(stats).toEqual({ onThread: 0, here: 2, sameThread: true })
  })

  test("a thread that dies loses only its page (`thread`, to fetch again); later pages decode here", async () => {
    const crash = new TextEncoder().encode("!crash")
    const { a, stats } = await withPool(decoder("crashing"), (pool) =>
      Effect.gen(function* () {
        expect(yield* pool.ready).toBe(true)
        const before = yield* pool.decode(spec, page(["AAPL"], 3))
        const lost = yield* pool.decode(spec, crash)
        const after = yield* pool.decode(spec, page(["AAPL"], 3))
        return { before, lost, after }
      })
    )
    expect(a.before.ok).toBe(true)
    expect(a.lost).toEqual({ ok: false, why: "thread" })
    expect(plain(a.after)).toEqual(plain(a.before))
    expect(stats).toEqual({ onThread: 2, here: 1, sameThread: true })
  })
})

/**
 * Fuzz: reference data decoders (contract v2), every plugin that has them. The real wire fixtures — Polygon's
 * reference tickers pages and ticker details, Alpaca's assets, Finnhub's symbol list and profiles — are mutated
 * (structure and text) and served by an in-process `fetch` to the unmodified plugin through the real kit HTTP client.
 *
 * Property: `reference.symbols` either lists well-formed `SymbolMeta` (`malformedMeta`), each ticker once per
 * listing, or fails with a typed `ProviderError` that names the plugin and holds no credential. Never a defect,
 * never endless paging (a `next_url` back to a page already read), never a hang.
 */
import { describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Arbitrary, Effect, Exit, Stream } from "effect"
import { FetchHttpClient } from "effect/http"
import type { ProviderPlugin } from "../../mod.ts"
import alpaca from "../../plugins/alpaca/mod.ts"
import finnhub from "../../plugins/finnhub/mod.ts"
import polygon from "../../plugins/polygon/mod.ts"
import { ProviderError } from "../../src/domain/errors.ts"
import { malformedMeta } from "../support/meta-checks.ts"
import {
  type JsonMutation,
  jsonMutations,
  mutateJson,
  mutateText,
  type TextMutation,
  textMutations,
  toJsonText
} from "./mutate.ts"
import { fuzzClient, SECRETS, typedFailure } from "./plugin-client.ts"
import { checkProperty, label, oneOf, union } from "./runs.ts"

const fixtures = join(import.meta.dir, "../fixtures/providers")
const fixture = (file: string): unknown => JSON.parse(readFileSync(join(fixtures, file), "utf8"))

interface Target {
  readonly plugin: ProviderPlugin
  /** The fixture document a request path is answered with (before mutation). */
  readonly documentFor: (url: URL) => { readonly key: string; readonly doc: unknown } | undefined
  readonly secrets: ReadonlyArray<string>
}

const polygonPage2 = (): unknown => fixture("polygon/reference_tickers_page2.json")
const targets: ReadonlyArray<Target> = [
  {
    plugin: polygon,
    secrets: [SECRETS.POLYGON_API_KEY],
    documentFor: (url) => {
      if (url.pathname === "/v3/reference/tickers") {
        // Page 1 links page 2 by its cursor; the delisted list (active=false) is page 2 alone.
        if (url.searchParams.has("cursor")) return { key: "tickers-2", doc: polygonPage2() }
        if (url.searchParams.get("active") === "false") return { key: "delisted", doc: polygonPage2() }
        return { key: "tickers-1", doc: fixture("polygon/reference_tickers_page1.json") }
      }
      const details = /^\/v3\/reference\/tickers\/([A-Z.]+)$/u.exec(url.pathname)
      if (details !== null) {
        const file = details[1] === "MSFT" ? "ticker_details_MSFT.json" : "ticker_details_AAPL.json"
        return { key: `details-${details[1]}`, doc: fixture(`polygon/${file}`) }
      }
      return undefined
    }
  },
  {
    plugin: alpaca,
    secrets: [SECRETS.ALPACA_KEY, SECRETS.ALPACA_SECRET],
    documentFor: (url) =>
      url.pathname === "/v2/assets"
        ? { key: `assets-${url.searchParams.get("status")}`, doc: fixture("alpaca/assets_us_equity.json") }
        : undefined
  },
  {
    plugin: finnhub,
    secrets: [SECRETS.FINNHUB_API_KEY],
    documentFor: (url) => {
      if (url.pathname.endsWith("/stock/symbol"))
        return { key: "symbols", doc: fixture("finnhub/stock_symbol_US.json") }
      if (url.pathname.endsWith("/stock/profile2")) {
        const symbol = url.searchParams.get("symbol")
        const file =
          symbol === "AAPL" ? "profile2_AAPL.json" : symbol === "MSFT" ? "profile2_MSFT.json" : "profile2_unknown.json"
        return { key: `profile-${symbol}`, doc: fixture(`finnhub/${file}`) }
      }
      return undefined
    }
  }
]

/** How one document is spoiled: which of the documents a request meets, with what, and its status. */
interface Spoil {
  readonly which:
    | "tickers-1"
    | "tickers-2"
    | "delisted"
    | "details-AAPL"
    | "assets-active"
    | "assets-inactive"
    | "symbols"
    | "profile-AAPL"
    | "any"
  readonly json: ReadonlyArray<JsonMutation>
  readonly text: ReadonlyArray<TextMutation>
  readonly status: 200 | 404 | 500 | 429
  /** Answer this document with the credential echoed in a field. */
  readonly echo: boolean
}

const spoilArb: Arbitrary.Arbitrary<ReadonlyArray<Spoil>> = Arbitrary.array(
  Arbitrary.all({
    which: oneOf([
      "tickers-1",
      "tickers-2",
      "delisted",
      "details-AAPL",
      "assets-active",
      "assets-inactive",
      "symbols",
      "profile-AAPL",
      "any"
    ] as const),
    json: jsonMutations(4),
    text: union([Arbitrary.Constant([] as Array<TextMutation>), textMutations(2)]),
    status: union([Arbitrary.Constant(200 as const), oneOf([200, 200, 404, 500, 429] as const)]),
    echo: union([Arbitrary.Constant(false), Arbitrary.Constant(true)])
  }),
  { minLength: 1, maxLength: 3 }
)

const REQUEST_BUDGET = 60

function makeServer(t: Target, spoils: ReadonlyArray<Spoil>) {
  let requests = 0
  const fetch = (async (input: RequestInfo | URL) => {
    requests++
    if (requests > REQUEST_BUDGET) return new Response('{"error":"fuzz: too many requests"}', { status: 400 })
    const url = new URL(input instanceof Request ? input.url : String(input))
    const found = t.documentFor(url)
    if (found === undefined) return new Response('{"error":"unknown path"}', { status: 404 })
    let doc = found.doc
    let body: string | undefined
    let status = 200
    for (const s of spoils) {
      if (s.which !== found.key && s.which !== "any") continue
      doc = mutateJson(doc, s.json)
      if (s.echo && doc !== null && typeof doc === "object" && !Array.isArray(doc)) {
        ;(doc as Record<string, unknown>).error = `bad key ${t.secrets[0]}`
      }
      body = mutateText(toJsonText(doc), s.text)
      status = s.status
    }
    return new Response(body ?? toJsonText(doc), { status, headers: { "content-type": "application/json" } })
  }) as typeof globalThis.fetch
  return { fetch, requests: () => requests }
}

describe("fuzz: reference data decoders", () => {
  for (const t of targets) {
    test(`${t.plugin.name}: mutated reference pages give well-formed SymbolMeta or a ProviderError`, async () => {
      const client = await fuzzClient(t.plugin)
      const reference = client.reference
      if (reference === undefined) throw new Error(`${t.plugin.name} has no reference part`)
      const runs = await checkProperty(
        `reference ${t.plugin.name}`,
        spoilArb,
        (spoils) =>
          Effect.gen(function* () {
            const server = makeServer(t, spoils)
            const exit = yield* Stream.runCollect(reference.symbols({ asOf: "2024-03-11", details: "all" })).pipe(
              Effect.provideService(FetchHttpClient.Fetch, server.fetch),
              Effect.exit
            )
            if (server.requests() > REQUEST_BUDGET) return yield* Effect.fail("the plugin does not stop paging")
            if (Exit.isSuccess(exit)) {
              const metas = Array.from(exit.value)
              const bad = metas.map(malformedMeta).find((p) => p !== undefined)
              if (bad !== undefined) return yield* Effect.fail(`malformed record: ${bad}`)
              label(metas.length === 0 ? "no symbols" : "symbols")
              return
            }
            const failure = typedFailure(exit.cause)
            if (typeof failure === "string") return yield* Effect.fail(failure)
            const e = failure.error
            if (!(e instanceof ProviderError))
              return yield* Effect.fail(`failed with ${String(e)}, not a ProviderError`)
            label(`error: ${e.reason.replace(/[0-9]+/gu, "#").slice(0, 50)}`)
            if (e.provider !== t.plugin.name) return yield* Effect.fail(`error from ${e.provider}`)
            const leaked = t.secrets.find((s) => e.reason.includes(s))
            if (leaked !== undefined) return yield* Effect.fail(`the error shows a credential: ${e.reason}`)
          }),
        { ciRuns: 200, show: (s) => s }
      )
      expect(runs).toBeGreaterThan(0)
    })
  }
})

/**
 * Fuzz: provider page decoders, every plugin. Each case is a small generated "site" (1-4 pages, linked by the
 * provider's own paging fields) served by an in-process `fetch` to the unmodified plugin, through the real kit
 * HTTP client (JSON parsing, retries, masking) exactly as `bars()` runs in an ingest. Pages come from three sources:
 * the plugin's own page Schemas (`Arbitrary.schema`), bar-shaped pages with hostile values (NaN-looking strings, huge
 * and negative numbers, timestamps out of range or in the wrong unit, path-like and unicode symbols, missing and
 * extra fields), and the real wire fixtures with structural and text mutations; some answers are errors (4xx/5xx).
 *
 * Property: `bars()` either yields well-formed batches — a symbol that passes the Symbol schema and was asked for,
 * columns of one length, `ts` a whole millisecond in years 0001-9999 (a day the lake can file), finite OHLCV,
 * `trade_count` and `vwap` finite or NaN, and for the plugins that cut windows (Finnhub, Yahoo) only bars inside the
 * request — or fails with a typed `ProviderError` whose reason holds no credential. Never a defect, never endless
 * paging, never a hang.
 */
import { describe, expect, test } from "bun:test"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { Arbitrary, Effect, Exit, Schema, Stream } from "effect"
import { FetchHttpClient } from "effect/http"
import {
  type BarBatch,
  type BarsRequest,
  type ProviderClient,
  type ProviderPlugin,
  type Symbol,
  Symbol as SymbolSchema
} from "../../mod.ts"
import alpaca from "../../plugins/alpaca/mod.ts"
import { pageSchemas as alpacaSchemas, toBatch as alpacaToBatch } from "../../plugins/alpaca/wire.ts"
import fake from "../../plugins/fake/mod.ts"
import finnhub from "../../plugins/finnhub/mod.ts"
import { wireSchemas as finnhubSchemas } from "../../plugins/finnhub/wire.ts"
import polygon from "../../plugins/polygon/mod.ts"
import { pageSchemas as polygonSchemas } from "../../plugins/polygon/wire.ts"
import yahoo from "../../plugins/yahoo/mod.ts"
import { chartSchemas as yahooSchemas } from "../../plugins/yahoo/wire.ts"
import { ProviderError } from "../../src/domain/errors.ts"
import { makePluginHost } from "../../src/providers/host.ts"
import {
  hostileStrings,
  hostileValue,
  type JsonMutation,
  jsonMutations,
  mutateJson,
  mutateText,
  type TextMutation,
  textMutations,
  toJsonText
} from "./mutate.ts"
import { calendar, fuzzClient, SECRETS, services, typedFailure } from "./plugin-client.ts"
import { anyIndex, checkProperty, constant, int, label, oneOf, union } from "./runs.ts"

const MIN = 60_000
/** Bar starts the lake can file under a day (4-digit years): anything else breaks partitioning downstream. */
const FIRST_TIME = Date.parse("0001-01-01T00:00:00Z")
const LAST_TIME = Date.parse("9999-12-31T00:00:00Z")

/** A body string the server replaces with the plugin's credential: an echoed key must never reach an error. */
const SECRET_MARKER = "\u0000secret"

// ---------------------------------------------------------------------------------------------------------------
// Requests

const days = ["2024-03-08", "2024-03-11", "2024-03-12"] as const

const symbolArb: Arbitrary.Arbitrary<string> = union<string>([
  constant("AAPL"),
  constant("MSFT"),
  constant("AAPL"),
  constant("BRK.B"),
  Arbitrary.schema(SymbolSchema)
])

const requestArb = (plugin: ProviderPlugin): Arbitrary.Arbitrary<BarsRequest> =>
  Arbitrary.map(
    Arbitrary.all({
      symbols: Arbitrary.array(symbolArb, { minLength: 1, maxLength: 3 }),
      frame: oneOf([...plugin.capabilities.timeframes, ...plugin.capabilities.timeframes, "4h"] as const),
      from: int(0, days.length - 1),
      span: int(0, 1),
      session: oneOf(["regular", "extended"] as const)
    }),
    ({ symbols, frame, from, span, session }) => {
      const first = calendar.session(days[from] as string, session)
      const last = calendar.session(days[Math.min(from + span, days.length - 1)] as string, session)
      return {
        symbols: [...new Set(symbols)] as Array<Symbol>,
        frame,
        start: first?.open ?? 0,
        end: last?.close ?? 1,
        feed: plugin.capabilities.defaultFeed,
        adjustment: "raw",
        session
      }
    }
  )

// ---------------------------------------------------------------------------------------------------------------
// Values

const MISSING = "\u0000missing"

/** Mostly `good`, sometimes hostile, sometimes the field is left out. */
const field = (good: Arbitrary.Arbitrary<unknown>): Arbitrary.Arbitrary<unknown> =>
  union([good, good, good, good, good, good, good, hostileValue, constant(MISSING)])

const record = (fields: Record<string, Arbitrary.Arbitrary<unknown>>): Arbitrary.Arbitrary<Record<string, unknown>> =>
  Arbitrary.map(Arbitrary.all(fields), (r) =>
    Object.fromEntries(Object.entries(r as Record<string, unknown>).filter(([, v]) => v !== MISSING))
  )

const price = Arbitrary.map(int(1, 100_000_000), (n) => n / 10_000)
const volume = int(0, 5_000_000_000)
const count = int(0, 1_000_000)
/** A bar start near the request: minutes from its start (some before, some after). */
const minuteOf = (r: BarsRequest) => Arbitrary.map(int(-60, 2 * 24 * 60), (k) => r.start + k * MIN)
const stringsAndMarker = union<unknown>([oneOf(hostileStrings), constant(SECRET_MARKER)])

const isoForms = (ms: number, form: number): string => {
  const iso = new Date(ms).toISOString()
  if (form === 0) return iso.replace(".000Z", "Z")
  if (form === 1) return iso
  if (form === 2) return iso.replace(".000Z", "+00:00")
  const local = new Date(ms - 5 * 3_600_000).toISOString().replace(".000Z", "-05:00")
  return local
}

// ---------------------------------------------------------------------------------------------------------------
// Pages: schema-derived, bar-shaped with hostile values, or a mutated fixture

const fixtureDir = join(import.meta.dir, "..", "fixtures", "providers")
const fixtures = (provider: string, prefix: string): ReadonlyArray<string> =>
  readdirSync(join(fixtureDir, provider))
    .filter((f) => f.endsWith(".json") && f.startsWith(prefix))
    .sort()
    .map((f) => readFileSync(join(fixtureDir, provider, f), "utf8"))

interface PageSpec {
  readonly doc: unknown
  /** Where the next page link points: leave the document's own, end, page `j`, or a hostile value. */
  readonly next:
    | { readonly kind: "keep" | "end" }
    | { readonly kind: "to"; readonly j: number }
    | { readonly kind: "raw"; readonly value: unknown }
  readonly status: number
  readonly text: ReadonlyArray<TextMutation>
}

const nextArb: Arbitrary.Arbitrary<PageSpec["next"]> = union<PageSpec["next"]>([
  constant({ kind: "keep" }),
  constant({ kind: "end" }),
  constant({ kind: "end" }),
  Arbitrary.map(int(0, 3), (j) => ({ kind: "to", j })),
  Arbitrary.map(int(0, 3), (j) => ({ kind: "to", j })),
  Arbitrary.map(union([hostileValue, stringsAndMarker]), (value) => ({ kind: "raw", value }))
])

const statusArb = union([
  constant(200),
  constant(200),
  constant(200),
  constant(200),
  constant(200),
  constant(200),
  constant(200),
  oneOf([400, 401, 403, 404, 422, 429, 500, 503] as const)
])

const fixtureDoc = (texts: ReadonlyArray<string>): Arbitrary.Arbitrary<unknown> =>
  Arbitrary.map(
    Arbitrary.all([
      int(0, texts.length - 1),
      union<ReadonlyArray<JsonMutation>>([constant([]), jsonMutations(4), jsonMutations(4), jsonMutations(8)])
    ]),
    ([i, mutations]) => mutateJson(JSON.parse(texts[i] as string), mutations)
  )

const pageArb = (docs: Arbitrary.Arbitrary<unknown>): Arbitrary.Arbitrary<PageSpec> =>
  Arbitrary.all({
    doc: docs,
    next: nextArb,
    status: statusArb,
    text: union<ReadonlyArray<TextMutation>>([
      constant([]),
      constant([]),
      constant([]),
      constant([]),
      constant([]),
      textMutations(2)
    ])
  })

const siteArb = (docs: Arbitrary.Arbitrary<unknown>) => Arbitrary.array(pageArb(docs), { minLength: 1, maxLength: 4 })

/** Schema-derived pages, with a raw mutation on top now and then. */
const fromSchema = <S extends Schema.Top>(schema: S): Arbitrary.Arbitrary<unknown> =>
  union<unknown>([
    Arbitrary.schema(schema) as Arbitrary.Arbitrary<unknown>,
    Arbitrary.map(Arbitrary.all([Arbitrary.schema(schema), jsonMutations(2)]), ([doc, m]) => mutateJson(doc, m))
  ])

// Alpaca: `{ bars: { SYMBOL: [bar…] | null }, next_page_token }`, `t` RFC 3339.
const alpacaDocs = (r: BarsRequest): Arbitrary.Arbitrary<unknown> => {
  const bar = record({
    t: field(Arbitrary.map(Arbitrary.all([minuteOf(r), int(0, 3)]), ([ms, form]) => isoForms(ms, form))),
    o: field(price),
    h: field(price),
    l: field(price),
    c: field(price),
    v: field(volume),
    n: field(count),
    vw: field(price)
  })
  const key = union<string>([oneOf(r.symbols), oneOf(r.symbols), oneOf(r.symbols), oneOf(hostileStrings)])
  const bars = Arbitrary.map(
    Arbitrary.array(
      Arbitrary.all([key, union<unknown>([Arbitrary.array(bar, { maxLength: 30 }), constant(null), constant([])])]),
      { maxLength: 4 }
    ),
    (entries) => {
      const out: Record<string, unknown> = {}
      for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true })
      return out
    }
  )
  return union<unknown>([
    fromSchema(alpacaSchemas(Schema).multi),
    record({ bars: field(bars), currency: union([constant(MISSING), constant("USD")]) }),
    record({ bars: field(bars) }),
    fixtureDoc(fixtures("alpaca", "bars_")),
    fixtureDoc(fixtures("alpaca", "bars_"))
  ])
}

// Polygon: `{ status, ticker, resultsCount, results: [bar…], next_url }`, `t` Unix ms.
const polygonDocs = (r: BarsRequest): Arbitrary.Arbitrary<unknown> => {
  const bar = record({
    t: field(minuteOf(r)),
    o: field(price),
    h: field(price),
    l: field(price),
    c: field(price),
    v: field(volume),
    vw: field(price),
    n: field(count)
  })
  return union<unknown>([
    fromSchema(polygonSchemas(Schema).aggs),
    record({
      ticker: field(oneOf(r.symbols)),
      status: field(oneOf(["OK", "DELAYED", "ERROR"] as const)),
      queryCount: field(count),
      resultsCount: field(count),
      adjusted: field(constant(false)),
      results: field(union<unknown>([Arbitrary.array(bar, { maxLength: 30 }), constant(null)])),
      request_id: field(stringsAndMarker)
    }),
    fixtureDoc(fixtures("polygon", "aggs_")),
    fixtureDoc(fixtures("polygon", "aggs_"))
  ])
}

// Finnhub: parallel arrays `{ s, t, o, h, l, c, v }`, `t` Unix seconds; or `{ error }`.
const finnhubDocs = (r: BarsRequest): Arbitrary.Arbitrary<unknown> => {
  const row = Arbitrary.all([
    field(Arbitrary.map(minuteOf(r), (ms) => ms / 1000)),
    field(price),
    field(price),
    field(price),
    field(price),
    field(volume)
  ])
  const columns = Arbitrary.map(
    Arbitrary.all([
      Arbitrary.array(row, { maxLength: 30 }),
      oneOf(["ok", "ok", "ok", "no_data", "error"] as const),
      anyIndex
    ]),
    ([rows, s, cut]) => {
      const column = (k: number) => rows.map((x) => (x[k] === MISSING ? null : x[k]))
      const doc: Record<string, unknown> = {
        s,
        t: column(0),
        o: column(1),
        h: column(2),
        l: column(3),
        c: column(4),
        v: column(5)
      }
      // Now and then one array is shorter than the others.
      if (cut % 5 === 0 && rows.length > 0) {
        const name = ["t", "o", "h", "l", "c", "v"][cut % 6] as string
        doc[name] = (doc[name] as Array<unknown>).slice(0, cut % rows.length)
      }
      return doc
    }
  )
  return union<unknown>([
    fromSchema(finnhubSchemas(Schema).candle),
    columns,
    columns,
    record({ error: field(stringsAndMarker) }),
    fixtureDoc(fixtures("finnhub", "candle_")),
    fixtureDoc(fixtures("finnhub", "candle_"))
  ])
}

// Yahoo: `{ chart: { result: [{ timestamp, indicators: { quote: [{ open… }] } }], error } }`, Unix seconds.
const yahooDocs = (r: BarsRequest): Arbitrary.Arbitrary<unknown> => {
  const value = (good: Arbitrary.Arbitrary<unknown>) =>
    union<unknown>([good, good, good, good, constant(null), hostileValue])
  const row = Arbitrary.all([
    value(Arbitrary.map(minuteOf(r), (ms) => ms / 1000)),
    value(price),
    value(price),
    value(price),
    value(price),
    value(volume)
  ])
  const chart = Arbitrary.map(
    Arbitrary.all([Arbitrary.array(row, { maxLength: 30 }), anyIndex, field(stringsAndMarker)]),
    ([rows, cut, description]) => {
      const column = (k: number) => rows.map((x) => x[k])
      const quote: Record<string, unknown> = {
        open: column(1),
        high: column(2),
        low: column(3),
        close: column(4),
        volume: column(5)
      }
      if (cut % 7 === 0) delete quote[["open", "high", "low", "close", "volume"][cut % 5] as string]
      return {
        chart: {
          result:
            cut % 11 === 0
              ? null
              : [{ meta: { symbol: r.symbols[0] }, timestamp: column(0), indicators: { quote: [quote] } }],
          error: cut % 11 === 0 && description !== MISSING ? { code: "Not Found", description } : null
        }
      }
    }
  )
  return union<unknown>([
    fromSchema(yahooSchemas(Schema).chart),
    chart,
    chart,
    fixtureDoc(fixtures("yahoo", "chart_")),
    fixtureDoc(fixtures("yahoo", "chart_"))
  ])
}

// ---------------------------------------------------------------------------------------------------------------
// The server: a `fetch` that answers from the case's site

interface Harness {
  readonly plugin: ProviderPlugin
  readonly docs: (r: BarsRequest) => Arbitrary.Arbitrary<unknown>
  /** The page a request asks for (`undefined`: an unknown page link). */
  readonly pageOf: (url: URL, requestNumber: number, pages: number) => number | undefined
  /** Sets the document's next-page link. */
  readonly link: (doc: Record<string, unknown>, next: PageSpec["next"]) => void
  /** Windows the plugin promises to cut to. */
  readonly windowed: boolean
  readonly secrets: ReadonlyArray<string>
  readonly options?: Record<string, unknown>
}

const tokenPage = (token: string | null, pages: number): number | undefined => {
  if (token === null) return 0
  const m = /^p(\d+)$/u.exec(token)
  const j = m === null ? Number.NaN : Number(m[1])
  return j < pages ? j : undefined
}

const linkWith =
  (name: string, to: (j: number) => string) => (doc: Record<string, unknown>, next: PageSpec["next"]) => {
    if (next.kind === "end") delete doc[name]
    else if (next.kind === "to") doc[name] = to(next.j)
    else if (next.kind === "raw") doc[name] = next.value
  }

const harnesses: ReadonlyArray<Harness> = [
  {
    plugin: alpaca,
    docs: alpacaDocs,
    pageOf: (url, _, pages) => tokenPage(url.searchParams.get("page_token"), pages),
    link: (doc, next) => {
      if (next.kind === "end") doc.next_page_token = null
      else linkWith("next_page_token", (j) => `p${j}`)(doc, next)
    },
    windowed: false,
    secrets: [SECRETS.ALPACA_KEY, SECRETS.ALPACA_SECRET]
  },
  {
    plugin: polygon,
    docs: polygonDocs,
    pageOf: (url, _, pages) => tokenPage(url.searchParams.get("cursor"), pages),
    link: linkWith(
      "next_url",
      (j) => `https://api.massive.com/v2/aggs/ticker/AAPL/range/1/minute/1709908200000/1709931599999?cursor=p${j}`
    ),
    windowed: false,
    secrets: [SECRETS.POLYGON_API_KEY]
  },
  {
    plugin: finnhub,
    docs: finnhubDocs,
    pageOf: (_, n, pages) => n % pages,
    link: () => {},
    windowed: true,
    secrets: [SECRETS.FINNHUB_API_KEY]
  },
  {
    plugin: yahoo,
    docs: yahooDocs,
    pageOf: (_, n, pages) => n % pages,
    link: () => {},
    windowed: true,
    secrets: [],
    options: { max_history_days: 0 }
  }
]

interface Served {
  readonly status: number
  readonly body: string
}

interface Case {
  readonly request: BarsRequest
  readonly site: ReadonlyArray<PageSpec>
}

/** What the server sends for a page: the document with its link set, as JSON text, text mutations applied. */
function serve(h: Harness, page: PageSpec): Served {
  const doc = page.doc
  if (doc !== null && typeof doc === "object" && !Array.isArray(doc)) h.link(doc as Record<string, unknown>, page.next)
  let body = mutateText(toJsonText(doc), page.text)
  if (body.includes("\\u0000secret")) body = body.replaceAll("\\u0000secret", h.secrets[0] ?? "no-secret")
  return { status: page.status, body }
}

/** Requests a case may take: every page for every symbol, each tried twice, plus a few. */
const requestBudget = (c: Case) => (c.site.length + 2) * c.request.symbols.length * 2 + 4

function makeServer(h: Harness, c: Case) {
  const served = c.site.map((p) => serve(h, structuredClone(p)))
  let requests = 0
  let overrun = false
  const fetch = (async (input: RequestInfo | URL) => {
    const url = new URL(input instanceof Request ? input.url : String(input))
    const n = requests++
    if (requests > requestBudget(c)) {
      overrun = true
      return new Response('{"message":"fuzz server: too many requests for one bars() call"}', { status: 400 })
    }
    const j = h.pageOf(url, n, served.length)
    const page = j === undefined ? undefined : served[j]
    if (page === undefined) return new Response('{"message":"unknown page"}', { status: 400 })
    return new Response(page.body, { status: page.status, headers: { "content-type": "application/json" } })
  }) as typeof globalThis.fetch
  return { fetch, overrun: () => overrun, requests: () => requests }
}

// ---------------------------------------------------------------------------------------------------------------
// The property

const isSymbol = Schema.is(SymbolSchema)

/** What is wrong with the batches (`undefined`: nothing). */
function badBatch(request: BarsRequest, batches: ReadonlyArray<BarBatch>, windowed: boolean): string | undefined {
  for (const b of batches) {
    if (!isSymbol(b.symbol)) return `batch symbol ${JSON.stringify(b.symbol)} is not a Symbol`
    if (!request.symbols.includes(b.symbol)) return `batch for ${b.symbol}, which was not asked for`
    const n = b.ts.length
    for (const c of ["open", "high", "low", "close", "volume", "tradeCount", "vwap"] as const) {
      if (b[c].length !== n) return `${b.symbol}: column ${c} has ${b[c].length} rows, ts has ${n}`
    }
    for (let i = 0; i < n; i++) {
      const ts = b.ts[i] as number
      if (!Number.isSafeInteger(ts) || ts < FIRST_TIME || ts >= LAST_TIME) {
        return `${b.symbol}: ts ${ts} is not a whole millisecond in 0001-9999`
      }
      if (windowed && (ts < request.start || ts >= request.end)) {
        return `${b.symbol}: ts ${new Date(ts).toISOString()} outside the request [${new Date(request.start).toISOString()}, ${new Date(request.end).toISOString()})`
      }
      for (const c of ["open", "high", "low", "close", "volume"] as const) {
        if (!Number.isFinite(b[c][i])) return `${b.symbol}: ${c}[${i}] = ${b[c][i]}`
      }
      for (const c of ["tradeCount", "vwap"] as const) {
        const v = b[c][i] as number
        if (!Number.isNaN(v) && !Number.isFinite(v)) return `${b.symbol}: ${c}[${i}] = ${v}`
      }
    }
  }
  return undefined
}

const clientOf = (h: Harness): Promise<ProviderClient> => fuzzClient(h.plugin, h.options)

const casePreview = (c: Case) => ({
  request: {
    ...c.request,
    start: new Date(c.request.start).toISOString(),
    end: new Date(c.request.end).toISOString()
  },
  site: c.site.map((p) => ({ ...p, doc: toJsonText(p.doc).slice(0, 1500) }))
})

describe("fuzz: provider page decoders", () => {
  for (const h of harnesses) {
    test(`${h.plugin.name}: generated and mutated pages give well-formed batches or a ProviderError`, async () => {
      const client = await clientOf(h)
      const arb = Arbitrary.flatMap(requestArb(h.plugin), (request) =>
        Arbitrary.map(siteArb(h.docs(request)), (site): Case => ({ request, site }))
      )
      const runs = await checkProperty(
        `provider ${h.plugin.name}`,
        arb,
        (c) =>
          Effect.gen(function* () {
            const server = makeServer(h, c)
            const exit = yield* Stream.runCollect(client.bars(c.request)).pipe(
              Effect.provideService(FetchHttpClient.Fetch, server.fetch),
              Effect.exit
            )
            if (server.overrun()) {
              return yield* Effect.fail(
                `${server.requests()} requests for a ${c.site.length}-page site: the plugin does not stop paging`
              )
            }
            if (Exit.isSuccess(exit)) {
              const bad = badBatch(c.request, exit.value, h.windowed)
              if (bad !== undefined) return yield* Effect.fail(bad)
              label(exit.value.length === 0 ? "no bars" : "bars")
              return
            }
            const failure = typedFailure(exit.cause)
            if (typeof failure === "string") return yield* Effect.fail(failure)
            const e = failure.error
            label(
              `error: ${String((e as { reason?: unknown }).reason)
                .replace(/[0-9]+/gu, "#")
                .slice(0, 60)}`
            )
            if (!(e instanceof ProviderError))
              return yield* Effect.fail(`failed with ${String(e)}, not a ProviderError`)
            if (e.provider !== h.plugin.name || e.reason === "")
              return yield* Effect.fail(`unhelpful error ${e.message}`)
            const leaked = h.secrets.find((s) => e.reason.includes(s))
            if (leaked !== undefined) return yield* Effect.fail(`the error shows a credential: ${e.reason}`)
          }),
        { ciRuns: 300, show: casePreview }
      )
      expect(runs).toBeGreaterThan(0)
    })
  }

  // Found by this fuzzing (fixed in src/providers/kit/time.ts): `parseIsoUtc` rolled out-of-range fields over, so
  // Alpaca's `t: "2024-03-10T37:30:00Z"` became the real bar time 2024-03-11T13:30Z.
  test("an Alpaca bar whose t is not a real RFC 3339 time is malformed, not moved", async () => {
    const kit = makePluginHost("alpaca", calendar, services).kit
    const two = (lo: number, hi: number) => Arbitrary.map(int(lo, hi), (n) => String(n).padStart(2, "0"))
    const stamp = Arbitrary.map(
      Arbitrary.all([two(0, 99), two(0, 39), two(0, 99), two(0, 99), two(0, 99)]),
      ([month, day, hour, minute, second]) => `2024-${month}-${day}T${hour}:${minute}:${second}Z`
    )
    await checkProperty(
      "alpaca: RFC 3339 fields in range",
      stamp,
      (t) => {
        const batch = alpacaToBatch(kit, "AAPL" as Symbol, [{ t, o: 1, h: 1, l: 1, c: 1, v: 1 }])
        if (typeof batch === "string") return Effect.void
        const real = new Date(batch.ts[0] as number).toISOString().replace(".000Z", "Z") === t
        return real ? Effect.void : Effect.fail(`${t} was read as ${new Date(batch.ts[0] as number).toISOString()}`)
      },
      { ciRuns: 200, maxShrinks: 0 }
    )
  })

  test("fake: generated plugin options and requests give well-formed batches or a ProviderError", async () => {
    const host = makePluginHost("fake", calendar, services)
    const day = Arbitrary.map(int(0, 40), (k) => new Date(Date.UTC(2024, 2, 1 + k)).toISOString().slice(0, 10))
    const options = Arbitrary.map(
      Arbitrary.all([
        record({
          seed: field(Arbitrary.schema(Schema.String)),
          missing_rate: field(Arbitrary.map(int(0, 100), (n) => n / 100)),
          invalid_every: field(int(0, 50)),
          empty_days: field(Arbitrary.array(day, { maxLength: 3 })),
          fail_days: field(Arbitrary.array(day, { maxLength: 2 })),
          fail_symbols: field(Arbitrary.array(symbolArb, { maxLength: 2 }))
        }),
        union<ReadonlyArray<JsonMutation>>([constant([]), constant([]), jsonMutations(3)])
      ]),
      ([o, m]) => mutateJson(o, m)
    )
    const arb = Arbitrary.all({ request: requestArb(fake), options })
    await checkProperty(
      "provider fake",
      arb,
      ({ request, options }) =>
        Effect.gen(function* () {
          const exit = yield* Effect.exit(
            fake
              .make(host, {
                name: "fake",
                baseUrl: undefined,
                feed: undefined,
                rateLimit: undefined,
                options: options as Record<string, unknown>,
                env: {}
              })
              .pipe(Effect.flatMap((client) => Stream.runCollect(client.bars(request))))
          )
          if (Exit.isSuccess(exit)) {
            const bad = badBatch(request, exit.value, false)
            if (bad !== undefined) return yield* Effect.fail(bad)
            return
          }
          const failure = typedFailure(exit.cause)
          if (typeof failure === "string") return yield* Effect.fail(failure)
          if (!(failure.error instanceof ProviderError)) {
            return yield* Effect.fail(`failed with ${String(failure.error)}, not a ProviderError`)
          }
        }),
      { ciRuns: 200 }
    )
  })
})

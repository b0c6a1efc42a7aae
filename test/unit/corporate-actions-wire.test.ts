/**
 * Corporate actions on each provider's wire: the fixtures in `test/fixtures/corporate-actions` (written from the
 * providers' documented field names) served byte for byte by a local server, read through each plugin's
 * `corporateActions.list` exactly as the host calls it, paging included.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Effect, Stream } from "effect"
import type { CorporateAction, CorporateActionsRequest, ProviderError, ProviderPlugin, Symbol } from "../../mod.ts"
import alpaca from "../../plugins/alpaca/mod.ts"
import finnhub from "../../plugins/finnhub/mod.ts"
import polygon from "../../plugins/polygon/mod.ts"
import { defaultKeys, type Emulator, startEmulator } from "../emulators/server.ts"
import type { EmulatorRequest, EmulatorResponse, ProviderName, ProviderRoutes } from "../emulators/types.ts"
import { makeClient, type PluginRun, unpaced } from "../support/provider-run.ts"

const fixtureDir = join(import.meta.dir, "..", "fixtures", "corporate-actions")
const fixtureText = (file: string) => readFileSync(join(fixtureDir, file), "utf8")
/** The fixture's bytes as the body, sent as JSON. */
const served = (file: string): EmulatorResponse => ({
  status: 200,
  headers: { "content-type": "application/json; charset=utf-8" },
  body: fixtureText(file)
})
const json = (status: number, body: unknown): EmulatorResponse => ({ status, body })

/** Every request the fixture server answered, by provider. */
const seen: Record<string, Array<EmulatorRequest>> = { polygon: [], alpaca: [], finnhub: [] }

const fixtureRoutes = (
  provider: ProviderName,
  matches: (req: EmulatorRequest) => boolean,
  answer: (req: EmulatorRequest) => EmulatorResponse
): ProviderRoutes => ({
  provider,
  matches,
  handle: (req) => {
    seen[provider]?.push(req)
    return answer(req)
  },
  documentedLimit: { requests: 1000, perSeconds: 1 },
  keyOf: () => "fixture",
  tooManyRequests: () => json(429, { message: "too many requests." })
})

// Polygon: each ticker's pages in order; a `cursor` is the one the previous page's `next_url` carries.
const polygonPages: Record<string, Record<string, ReadonlyArray<string>>> = {
  "/v3/reference/splits": {
    AAPL: ["polygon/splits_AAPL_page1.json", "polygon/splits_AAPL_page2.json"],
    GE: ["polygon/splits_GE.json"]
  },
  "/v3/reference/dividends": {
    AAPL: ["polygon/dividends_AAPL_page1.json", "polygon/dividends_AAPL_page2.json"],
    COST: ["polygon/dividends_COST.json"],
    ADX: ["polygon/dividends_ADX.json"]
  }
}
const cursorIn = (file: string) => {
  const next = (JSON.parse(fixtureText(file)) as { next_url?: string }).next_url
  return next === undefined ? undefined : new URL(next).searchParams.get("cursor")
}
const polygonRoutes = fixtureRoutes(
  "polygon",
  (req) => req.path.startsWith("/v3/reference/"),
  (req) => {
    if (req.headers.authorization !== `Bearer ${defaultKeys.polygon}`) return json(401, { status: "ERROR" })
    const byTicker = polygonPages[req.path]
    if (byTicker === undefined) return json(404, { status: "NOT_FOUND", message: "Not found." })
    const cursor = req.query.get("cursor")
    if (cursor !== null) {
      for (const pages of Object.values(byTicker)) {
        const i = pages.findIndex((file) => cursorIn(file) === cursor)
        const next = pages[i + 1]
        if (i >= 0 && next !== undefined) return served(next)
      }
      return json(400, { status: "ERROR", error: "Invalid cursor" })
    }
    const ticker = req.query.get("ticker") ?? ""
    // A split that turns no shares into some: a page no client may take as the end of a ticker's splits.
    if (ticker === "BADX") {
      return json(200, {
        status: "OK",
        results: [{ execution_date: "2024-01-02", split_from: 0, split_to: 2, ticker: "BADX" }]
      })
    }
    return served(byTicker[ticker]?.[0] ?? "polygon/empty.json")
  }
)

const alpacaRoutes = fixtureRoutes(
  "alpaca",
  (req) => req.path === "/v1/corporate-actions",
  (req) => {
    const { id, secret } = defaultKeys.alpaca
    if (req.headers["apca-api-key-id"] !== id || req.headers["apca-api-secret-key"] !== secret) {
      return json(403, { message: "forbidden." })
    }
    // A server handing back the token it was given: paging would never end.
    if (req.query.get("symbols") === "LOOP") {
      return json(200, { corporate_actions: {}, next_page_token: "c2FtZQ==" })
    }
    const token = req.query.get("page_token")
    if (token === null) return served("alpaca/corporate_actions_page1.json")
    const first = JSON.parse(fixtureText("alpaca/corporate_actions_page1.json")) as { next_page_token: string }
    return token === first.next_page_token
      ? served("alpaca/corporate_actions_page2.json")
      : json(400, { message: "invalid page token" })
  }
)

const finnhubRoutes = fixtureRoutes(
  "finnhub",
  (req) => req.path === "/stock/split" || req.path === "/stock/dividend",
  (req) => {
    if (req.headers["x-finnhub-token"] !== defaultKeys.finnhub) return json(401, { error: "Invalid API key." })
    const symbol = req.query.get("symbol") ?? ""
    // Finnhub answers some refusals 200 with an error in the body.
    if (symbol === "ERRX") return json(200, { error: "Symbol not supported." })
    const file = `finnhub/${req.path === "/stock/split" ? "split" : "dividend"}_${symbol}.json`
    return served(
      ["split_AAPL", "split_GE", "dividend_AAPL", "dividend_COST"].some((f) => file.includes(f))
        ? file
        : "finnhub/empty.json"
    )
  }
)

let server: Emulator
beforeAll(async () => {
  server = await startEmulator({ routes: [polygonRoutes, alpacaRoutes, finnhubRoutes] })
})
afterAll(async () => {
  await server.stop()
})

const runOf = (plugin: ProviderPlugin, env: Record<string, string>, options: Record<string, unknown> = {}) =>
  unpaced({ plugin, baseUrl: server.url, env, options })
const polygonRun = (options?: Record<string, unknown>) =>
  runOf(polygon, { POLYGON_API_KEY: defaultKeys.polygon }, options)
const alpacaRun = (options?: Record<string, unknown>) =>
  runOf(alpaca, { ALPACA_KEY: defaultKeys.alpaca.id, ALPACA_SECRET: defaultKeys.alpaca.secret }, options)
const finnhubRun = (options?: Record<string, unknown>) =>
  runOf(finnhub, { FINNHUB_API_KEY: defaultKeys.finnhub }, options)

const request = (
  symbols: ReadonlyArray<string>,
  from = "2014-01-01",
  to = "2024-12-31",
  kinds: CorporateActionsRequest["kinds"] = ["split", "dividend"]
): CorporateActionsRequest => ({ symbols: symbols as ReadonlyArray<Symbol>, from, to, kinds })

const listEffect = (run: PluginRun, req: CorporateActionsRequest) =>
  Effect.gen(function* () {
    const client = yield* makeClient(run)
    const actions = client.corporateActions
    if (actions === undefined) return yield* Effect.die(new Error(`${run.plugin.name} has no corporateActions`))
    return Array.from(yield* Stream.runCollect(actions.list(req)))
  })
const list = (run: PluginRun, req: CorporateActionsRequest): Promise<Array<CorporateAction>> =>
  Effect.runPromise(listEffect(run, req))
const failure = (run: PluginRun, req: CorporateActionsRequest): Promise<ProviderError> =>
  Effect.runPromise(Effect.flip(listEffect(run, req)))

const split = (symbol: string, exDate: string, from: number, to: number): CorporateAction => ({
  kind: "split",
  symbol: symbol as Symbol,
  exDate,
  from,
  to
})
const dividend = (
  symbol: string,
  exDate: string,
  amount: number,
  special: boolean,
  dates: { recordDate?: string; payDate?: string } = {}
): CorporateAction => ({
  kind: "dividend",
  symbol: symbol as Symbol,
  exDate,
  amount,
  currency: "USD",
  ...dates,
  special
})

const clear = (provider: string) => {
  seen[provider] = []
}

describe("Massive/Polygon splits and dividends", () => {
  test("two-page splits and dividends decode to the actions, next_url followed without the key", async () => {
    clear("polygon")
    const got = await list(polygonRun(), request(["AAPL", "GE", "COST", "ADX"]))
    expect(got).toStrictEqual([
      split("AAPL", "2014-06-09", 1, 7),
      split("AAPL", "2020-08-31", 1, 4),
      dividend("AAPL", "2024-02-09", 0.24, false, { recordDate: "2024-02-12", payDate: "2024-02-15" }),
      dividend("AAPL", "2024-05-10", 0.25, false, { recordDate: "2024-05-13", payDate: "2024-05-16" }),
      dividend("AAPL", "2024-08-12", 0.25, false, { recordDate: "2024-08-12", payDate: "2024-08-15" }),
      dividend("AAPL", "2024-11-08", 0.25, false, { recordDate: "2024-11-11", payDate: "2024-11-14" }),
      // GE's 1-for-8 reverse split: 8 old shares became 1.
      split("GE", "2021-08-02", 8, 1),
      // SC is special, CD regular.
      dividend("COST", "2023-12-27", 15, true, { recordDate: "2023-12-28", payDate: "2024-01-12" }),
      dividend("COST", "2024-01-25", 1.02, false, { recordDate: "2024-01-26", payDate: "2024-02-09" }),
      // Capital gains distributions (ST, LT) are cash paid, flagged special; no currency is dollars, "usd" is USD;
      // missing dates are left out; a zero cash amount pays nothing and is dropped.
      dividend("ADX", "2023-06-15", 0.04, true),
      dividend("ADX", "2023-11-16", 0.57, true, { recordDate: "2023-11-17", payDate: "2023-12-27" })
    ])
    const requests = seen.polygon ?? []
    // Per ticker and kind: AAPL splits (2 pages), AAPL dividends (2), then one page each for the others.
    expect(requests.map((r) => `${r.path}?${r.query.get("ticker") ?? "cursor"}`)).toEqual([
      "/v3/reference/splits?AAPL",
      "/v3/reference/splits?cursor",
      "/v3/reference/dividends?AAPL",
      "/v3/reference/dividends?cursor",
      "/v3/reference/splits?GE",
      "/v3/reference/dividends?GE",
      "/v3/reference/splits?COST",
      "/v3/reference/dividends?COST",
      "/v3/reference/splits?ADX",
      "/v3/reference/dividends?ADX"
    ])
    const [firstSplits, nextSplits, firstDividends] = requests
    expect(Object.fromEntries(firstSplits?.query ?? [])).toEqual({
      ticker: "AAPL",
      "execution_date.gte": "2014-01-01",
      "execution_date.lte": "2024-12-31",
      limit: "1000"
    })
    expect(Object.fromEntries(firstDividends?.query ?? [])).toEqual({
      ticker: "AAPL",
      "ex_dividend_date.gte": "2014-01-01",
      "ex_dividend_date.lte": "2024-12-31",
      limit: "1000"
    })
    // The next page is next_url's path and cursor on the configured host, the key in the header only.
    expect([...(nextSplits?.query.keys() ?? [])]).toEqual(["cursor"])
    expect(nextSplits?.query.get("cursor")).toBe(cursorIn("polygon/splits_AAPL_page1.json") ?? "")
    for (const r of requests) expect(r.headers.authorization).toBe(`Bearer ${defaultKeys.polygon}`)
  })

  test("kinds, the ex-date range and corporate_actions_limit shape the requests", async () => {
    clear("polygon")
    const got = await list(
      polygonRun({ corporate_actions_limit: 50 }),
      request(["AAPL"], "2020-01-01", "2024-06-30", ["split"])
    )
    // The fixture pages ignore the range; the plugin keeps only the ex-dates asked.
    expect(got).toStrictEqual([split("AAPL", "2020-08-31", 1, 4)])
    expect(seen.polygon?.map((r) => r.path)).toEqual(["/v3/reference/splits", "/v3/reference/splits"])
    expect(seen.polygon?.[0]?.query.get("limit")).toBe("50")
    expect(seen.polygon?.[0]?.query.get("execution_date.lte")).toBe("2024-06-30")
  })

  test("a split of zero shares is a malformed page, not the end of the splits", async () => {
    const error = await failure(polygonRun(), request(["BADX"], "2024-01-01", "2024-12-31", ["split"]))
    expect(error._tag).toBe("ProviderError")
    expect(error.reason).toContain("unexpected Massive/Polygon splits page")
    expect(error.retryable).toBe(true)
  })

  test("no kinds or an empty range sends nothing", async () => {
    clear("polygon")
    expect(await list(polygonRun(), request(["AAPL"], "2024-01-01", "2024-12-31", []))).toEqual([])
    expect(await list(polygonRun(), request(["AAPL"], "2024-12-31", "2024-01-01"))).toEqual([])
    expect(seen.polygon).toEqual([])
    const error = await failure(polygonRun(), request(["AAPL"], "2024-1-1", "2024-12-31"))
    expect(error.retryable).toBe(false)
  })
})

describe("Alpaca corporate actions", () => {
  test("two pages by next_page_token decode to splits (old_rate → new_rate) and cash dividends", async () => {
    clear("alpaca")
    const got = await list(alpacaRun(), request(["AAPL", "COST", "GE"]))
    expect(got).toStrictEqual([
      split("AAPL", "2020-08-31", 1, 4),
      split("GE", "2021-08-02", 8, 1),
      dividend("COST", "2023-12-27", 15, true, { recordDate: "2023-12-28", payDate: "2024-01-12" }),
      dividend("AAPL", "2024-02-09", 0.24, false, { recordDate: "2024-02-12", payDate: "2024-02-15" }),
      dividend("AAPL", "2024-05-10", 0.25, false, { recordDate: "2024-05-13", payDate: "2024-05-16" })
    ])
    const [first, second] = seen.alpaca ?? []
    expect(seen.alpaca).toHaveLength(2)
    // The interval is on the process date: a week before the first ex-date to 90 days after the last.
    expect(Object.fromEntries(first?.query ?? [])).toEqual({
      symbols: "AAPL,COST,GE",
      types: "forward_split,reverse_split,cash_dividend",
      start: "2013-12-25",
      end: "2025-03-31",
      limit: "1000"
    })
    const token = (JSON.parse(fixtureText("alpaca/corporate_actions_page1.json")) as { next_page_token: string })
      .next_page_token
    expect(Object.fromEntries(second?.query ?? [])).toEqual({
      ...Object.fromEntries(first?.query ?? []),
      page_token: token
    })
    for (const r of seen.alpaca ?? []) expect(r.headers["apca-api-key-id"]).toBe(defaultKeys.alpaca.id)
  })

  test("the ex-date range, the symbols and the kinds asked are what is kept", async () => {
    clear("alpaca")
    // COST is not asked for; the splits are outside the range; only dividends are asked.
    const got = await list(
      alpacaRun({ corporate_actions_limit: 10 }),
      request(["AAPL"], "2024-01-01", "2024-03-31", ["dividend"])
    )
    expect(got).toStrictEqual([
      dividend("AAPL", "2024-02-09", 0.24, false, { recordDate: "2024-02-12", payDate: "2024-02-15" })
    ])
    expect(seen.alpaca?.[0]?.query.get("types")).toBe("cash_dividend")
    expect(seen.alpaca?.[0]?.query.get("limit")).toBe("10")
    expect(seen.alpaca?.[0]?.query.get("start")).toBe("2023-12-25")
    expect(seen.alpaca?.[0]?.query.get("end")).toBe("2024-06-29")
  })

  test("a next_page_token handed back again fails instead of paging forever", async () => {
    const error = await failure(alpacaRun(), request(["LOOP"]))
    expect(error.reason).toContain("next_page_token repeats a page already read")
  })

  test("no symbols asks for nothing (Alpaca would answer every symbol's)", async () => {
    clear("alpaca")
    expect(await list(alpacaRun(), request([]))).toEqual([])
    expect(seen.alpaca).toEqual([])
  })
})

describe("Finnhub splits and dividends", () => {
  test("one request per symbol and kind; date is the ex-date, amount the cash as paid", async () => {
    clear("finnhub")
    const got = await list(finnhubRun(), request(["AAPL", "GE", "COST"]))
    expect(got).toStrictEqual([
      split("AAPL", "2014-06-09", 1, 7),
      split("AAPL", "2020-08-31", 1, 4),
      dividend("AAPL", "2024-02-09", 0.24, false, { recordDate: "2024-02-12", payDate: "2024-02-15" }),
      dividend("AAPL", "2024-05-10", 0.25, false, { recordDate: "2024-05-13", payDate: "2024-05-16" }),
      // Before the 2020 split: 0.82 as paid, not the 0.205 adjustedAmount.
      dividend("AAPL", "2020-08-07", 0.82, false, { recordDate: "2020-08-10", payDate: "2020-08-13" }),
      split("GE", "2021-08-02", 8, 1),
      // Finnhub flags nothing as special; a blank currency is dollars.
      dividend("COST", "2023-12-27", 15, false, { recordDate: "2023-12-28", payDate: "2024-01-12" })
    ])
    expect(seen.finnhub?.map((r) => `${r.path}?${r.query.toString()}`)).toEqual(
      ["AAPL", "GE", "COST"].flatMap((s) => [
        `/stock/split?symbol=${s}&from=2014-01-01&to=2024-12-31`,
        `/stock/dividend?symbol=${s}&from=2014-01-01&to=2024-12-31`
      ])
    )
    for (const r of seen.finnhub ?? []) {
      expect(r.headers["x-finnhub-token"]).toBe(defaultKeys.finnhub)
      expect(r.query.get("token")).toBeNull()
    }
  })

  test("rows outside the range are dropped; kinds not asked are not requested", async () => {
    clear("finnhub")
    const got = await list(finnhubRun(), request(["AAPL"], "2020-01-01", "2020-12-31", ["dividend"]))
    expect(got).toStrictEqual([
      dividend("AAPL", "2020-08-07", 0.82, false, { recordDate: "2020-08-10", payDate: "2020-08-13" })
    ])
    expect(seen.finnhub?.map((r) => r.path)).toEqual(["/stock/dividend"])
  })

  test("a 200 with an error in the body is a provider error", async () => {
    const error = await failure(finnhubRun(), request(["ERRX"]))
    expect(error.reason).toContain("Finnhub: Symbol not supported.")
    expect(error.retryable).toBe(false)
  })
})

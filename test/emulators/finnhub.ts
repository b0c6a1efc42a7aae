/**
 * Finnhub `/stock/candle` (parallel arrays, `t` in Unix seconds, `from`/`to` inclusive, one month of intraday per
 * request, `{"s":"no_data"}` when empty, 403 for free keys), and `/stock/symbol` and `/stock/profile2` from the
 * company register (`reference.ts`) as it stands on the emulator's today, in the shapes of
 * `test/fixtures/providers/finnhub`, and `/stock/split` and `/stock/dividend` (paid, like candles) from the corporate
 * actions register (`corporate-actions.ts`). Served under `/api/v1` and at the root; the key comes as the
 * `X-Finnhub-Token` header or the `token` query parameter. Any key starting with `free-` is a valid free-plan key.
 * As Finnhub documents, intraday candles are raw (as traded) and daily candles split-adjusted.
 */
import { tradingDayOf } from "../../src/domain/partition.ts"
import { actionsWhere, type RegisteredAction, splitRatio } from "./corporate-actions.ts"
import { type EmulatedBar, rollUp } from "./dataset.ts"
import { closeOnOrBefore, type Listing, listedOn, listingOf, listings } from "./reference.ts"
import type { EmulatorContext, EmulatorRequest, EmulatorResponse, ProviderRoutes } from "./types.ts"

const DAY_S = 86_400
/** Minutes per intraday resolution; `D` is handled apart. */
const intraday: Record<string, number> = { "1": 1, "5": 5, "15": 15, "30": 30, "60": 60 }
/** A little over a month: longer intraday ranges are refused, so a client that does not split them fails. */
const MAX_INTRADAY_S = 31 * DAY_S

const json = (status: number, body: unknown): EmulatorResponse => ({ status, body })
const invalidKey = () => json(401, { error: "Invalid API key." })
const noAccess = () => json(403, { error: "You don't have access to this resource." })

const tokenOf = (req: EmulatorRequest): string => req.headers["x-finnhub-token"] ?? req.query.get("token") ?? ""
/** Without the `/api/v1` prefix (the server has already collapsed duplicate slashes). */
const routeOf = (req: EmulatorRequest): string => req.path.replace(/^\/api\/v1(?=\/)/u, "").replace(/\/$/u, "")

type Plan = "paid" | "free"
const planOf = (req: EmulatorRequest, ctx: EmulatorContext): Plan | undefined => {
  const token = tokenOf(req)
  if (token === ctx.keys.finnhub) return "paid"
  return token.length > "free-".length && token.startsWith("free-") ? "free" : undefined
}

function candle(req: EmulatorRequest, ctx: EmulatorContext): EmulatorResponse {
  const plan = planOf(req, ctx)
  if (plan === undefined) return invalidKey()
  if (plan === "free") return noAccess()
  const q = req.query
  const symbol = q.get("symbol") ?? ""
  if (symbol === "") return json(422, { error: "Wrong symbol." })
  const resolution = q.get("resolution") ?? ""
  const from = Number(q.get("from") ?? "")
  const to = Number(q.get("to") ?? "")
  if (!Number.isInteger(from) || !Number.isInteger(to) || q.get("from") === null || q.get("to") === null) {
    return json(422, { error: "Wrong from/to." })
  }
  let rows: Array<EmulatedBar>
  const minutes = intraday[resolution]
  if (minutes !== undefined) {
    if (to - from > MAX_INTRADAY_S) {
      return json(422, { error: "Intraday candles are limited to one month per request." })
    }
    // Intraday includes pre- and post-market bars; `to` is inclusive.
    const ms = minutes * 60_000
    rows = rollUp(ctx.dataset.bars(symbol, from * 1000, to * 1000 + 1, true, "raw"), (t) => t - (t % ms)).filter(
      (b) => b.t >= from * 1000
    )
  } else if (resolution === "D") {
    // Daily candles cover the regular session and are stamped 00:00 UTC of their date.
    const midnight = (t: number) => Date.parse(`${tradingDayOf(t)}T00:00:00Z`)
    rows = rollUp(ctx.dataset.bars(symbol, from * 1000, (to + DAY_S) * 1000, false), midnight).filter(
      (b) => b.t >= from * 1000 && b.t <= to * 1000
    )
  } else {
    return json(422, { error: "Wrong resolution." })
  }
  if (rows.length === 0) return json(200, { s: "no_data" })
  return json(200, {
    c: rows.map((b) => b.c),
    h: rows.map((b) => b.h),
    l: rows.map((b) => b.l),
    o: rows.map((b) => b.o),
    s: "ok",
    t: rows.map((b) => b.t / 1000),
    v: rows.map((b) => b.v)
  })
}

/** Finnhub's names for the register's security types; a type it has no name for is `""`. */
const typeNames: Readonly<Record<string, string>> = { CS: "Common Stock", ETF: "ETP", ADRC: "ADR" }

/** One `/stock/symbol` row. Finnhub upper-cases descriptions and sends `""` for what it lacks. */
const symbolRow = (l: Listing) => ({
  currency: "USD",
  description: l.name?.toUpperCase() ?? "",
  displaySymbol: l.ticker,
  figi: l.compositeFigi ?? "",
  // `null` unless the plan is entitled to ISINs.
  isin: null,
  mic: l.mic ?? "",
  shareClassFIGI: "",
  symbol: l.ticker,
  symbol2: "",
  type: (l.type === undefined ? undefined : typeNames[l.type]) ?? ""
})

function symbolList(req: EmulatorRequest, ctx: EmulatorContext): EmulatorResponse {
  if (planOf(req, ctx) === undefined) return invalidKey()
  const q = req.query
  if (q.get("exchange") === null) return json(422, { error: "Wrong exchange." })
  if (q.get("exchange") !== "US") return json(200, [])
  const today = tradingDayOf(ctx.now())
  // Finnhub lists only what trades now: delisted symbols are gone, not flagged.
  const all = listings.filter((l) => listedOn(l, today)).map(symbolRow)
  const filters = [
    ["mic", "mic"],
    ["securityType", "type"],
    ["currency", "currency"]
  ] as const
  return json(
    200,
    all.filter((row) =>
      filters.every(([param, field]) => {
        const want = q.get(param)
        return want === null || want === "" || row[field] === want
      })
    )
  )
}

/** Finnhub's exchange names for the register's MICs. */
const exchangeNames: Readonly<Record<string, string>> = {
  XNAS: "NASDAQ NMS - GLOBAL MARKET",
  XNYS: "NEW YORK STOCK EXCHANGE, INC.",
  ARCX: "NYSE ARCA"
}

/** Finnhub's figures are in millions, to two decimals. */
const inMillions = (n: number) => Math.round((n / 1e6) * 100) / 100

/**
 * The listing's profile on `today`. The register has no phone or website: those are `""`, as Finnhub sends for
 * fields it lacks. Market cap is left out when the listing has no close in the last ten days.
 */
function profileOf(l: Listing, name: string, ctx: EmulatorContext, today: string) {
  const close = closeOnOrBefore(ctx.dataset, l, today)
  const shares = l.shares
  return {
    country: "US",
    currency: "USD",
    estimateCurrency: "USD",
    exchange: (l.mic === undefined ? undefined : exchangeNames[l.mic]) ?? "",
    finnhubIndustry: l.industry ?? "",
    ipo: l.listDate,
    logo: `https://static2.finnhub.io/file/publicdatany/finnhubimage/stock_logo/${l.ticker}.png`,
    ...(shares === undefined || close === undefined ? {} : { marketCapitalization: inMillions(shares * close) }),
    name,
    phone: "",
    ...(shares === undefined ? {} : { shareOutstanding: inMillions(shares) }),
    ticker: l.ticker,
    weburl: ""
  }
}

function profile2(req: EmulatorRequest, ctx: EmulatorContext): EmulatorResponse {
  if (planOf(req, ctx) === undefined) return invalidKey()
  const today = tradingDayOf(ctx.now())
  const l = listingOf(req.query.get("symbol") ?? "")
  // An unknown symbol, one no longer trading and one Finnhub has no company for are all `{}`.
  if (l === undefined || !listedOn(l, today) || l.name === undefined) return json(200, {})
  return json(200, profileOf(l, l.name, ctx, today))
}

const isDay = (text: string) => /^\d{4}-\d{2}-\d{2}$/u.test(text) && Number.isFinite(Date.parse(`${text}T00:00:00Z`))

/**
 * The register's actions of one kind for `symbol` with an ex-date in [from, to] (both required, `YYYY-MM-DD`), or
 * the error Finnhub answers.
 */
function actionsOf(
  req: EmulatorRequest,
  ctx: EmulatorContext,
  kind: "split" | "dividend"
): EmulatorResponse | Array<RegisteredAction> {
  const plan = planOf(req, ctx)
  if (plan === undefined) return invalidKey()
  if (plan === "free") return noAccess()
  const q = req.query
  const symbol = q.get("symbol") ?? ""
  if (symbol === "") return json(422, { error: "Wrong symbol." })
  const from = q.get("from") ?? ""
  const to = q.get("to") ?? ""
  if (!isDay(from) || !isDay(to)) return json(422, { error: "Wrong from/to." })
  return actionsWhere({ symbols: new Set([symbol]), kinds: new Set([kind]), from, to })
}

function splits(req: EmulatorRequest, ctx: EmulatorContext): EmulatorResponse {
  const found = actionsOf(req, ctx, "split")
  if (!Array.isArray(found)) return found
  return json(
    200,
    found.flatMap((s) =>
      s.kind === "split" ? [{ symbol: s.symbol, date: s.exDate, fromFactor: s.from, toFactor: s.to }] : []
    )
  )
}

/**
 * `adjustedAmount` restates the amount for the symbol's later splits (the register has none for a dividend payer,
 * so it equals `amount`). `freq` is sent as Finnhub's example does for a quarterly payer, and not at all for the
 * special payment; the plugin reads neither.
 */
function dividends(req: EmulatorRequest, ctx: EmulatorContext): EmulatorResponse {
  const found = actionsOf(req, ctx, "dividend")
  if (!Array.isArray(found)) return found
  return json(
    200,
    found.flatMap((d) => {
      if (d.kind !== "dividend") return []
      const later = actionsWhere({ symbols: new Set([d.symbol]), kinds: new Set(["split"]) })
      const ratio = later.reduce((r, s) => (s.kind === "split" && s.exDate > d.exDate ? r * splitRatio(s) : r), 1)
      const row = {
        symbol: d.symbol,
        date: d.exDate,
        amount: d.amount,
        adjustedAmount: Math.round((d.amount / ratio) * 1e6) / 1e6,
        payDate: d.payDate,
        recordDate: d.recordDate,
        declarationDate: d.declarationDate,
        currency: d.currency,
        ...(d.special ? {} : { freq: "4" })
      }
      return [row]
    })
  )
}

const handlers: Record<string, (req: EmulatorRequest, ctx: EmulatorContext) => EmulatorResponse> = {
  "/stock/candle": candle,
  "/stock/split": splits,
  "/stock/dividend": dividends,
  "/stock/symbol": symbolList,
  "/stock/profile2": profile2
}

export const finnhubRoutes: ProviderRoutes = {
  provider: "finnhub",
  matches: (req) => Object.hasOwn(handlers, routeOf(req)),
  handle: (req, ctx) => {
    const handler = handlers[routeOf(req)]
    return handler === undefined ? json(404, { error: "Not found." }) : handler(req, ctx)
  },
  documentedLimit: { requests: 60, perSeconds: 60 },
  keyOf: (req) => tokenOf(req) || "anonymous",
  // Finnhub documents no Retry-After and no rate-limit headers.
  tooManyRequests: () => json(429, { error: "API limit reached. Please try again later. Remaining Limit: 0" })
}

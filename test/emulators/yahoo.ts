/**
 * Yahoo Finance chart API v8 (`/v8/finance/chart/{symbol}`), as described in `test/fixtures/providers/yahoo`: no key,
 * no pagination, float32-rounded prices, `meta` describing the exchange *now*, `quote: [{}]` without `timestamp` for
 * an empty window, 422 for a 1m window over 8 days, 404 for unknown symbols (any symbol starting with `ZZZZ`) and a
 * bare-text 429.
 */
import { makeCalendar } from "../../mod.ts"
import { tradingDayOf } from "../../src/domain/partition.ts"
import { type EmulatedBar, rollUp } from "./dataset.ts"
import type { EmulatorContext, EmulatorRequest, EmulatorResponse, ProviderRoutes } from "./types.ts"

const calendar = makeCalendar()
const DAY_S = 86_400

/** Emulated intervals in minutes (Yahoo also has 5d, 1wk, 1mo, 3mo; they are not emulated). */
const intervals: Record<string, number> = {
  "1m": 1,
  "2m": 2,
  "5m": 5,
  "15m": 15,
  "30m": 30,
  "60m": 60,
  "90m": 90,
  "1h": 60,
  "1d": 1440
}
const ranges: Record<string, number> = { "1d": 1, "5d": 5, "1mo": 30, "3mo": 91, "6mo": 182, "1y": 365 }
const validRanges = ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"]

const json = (status: number, body: unknown): EmulatorResponse => ({ status, body })
const chartError = (status: number, code: string, description: string) =>
  json(status, { chart: { result: null, error: { code, description } } })

const nyZone = new Intl.DateTimeFormat("en-US", { timeZone: "America/New_York", timeZoneName: "shortOffset" })
/** New York's UTC offset in seconds at `ms` (−18000 EST, −14400 EDT). */
const gmtOffsetAt = (ms: number): number => {
  const name = nyZone.formatToParts(ms).find((p) => p.type === "timeZoneName")?.value ?? ""
  const m = /GMT([+-]\d+)(?::(\d+))?/u.exec(name)
  return m === null ? 0 : Number(m[1]) * 3600 + Math.sign(Number(m[1])) * Number(m[2] ?? 0) * 60
}
const period = (startMs: number, endMs: number) => {
  const gmtoffset = gmtOffsetAt(startMs)
  return {
    timezone: gmtoffset === -14400 ? "EDT" : "EST",
    start: Math.floor(startMs / 1000),
    end: Math.floor(endMs / 1000),
    gmtoffset
  }
}

/** What `meta` says: the exchange's state at request time, whatever day was asked for. */
function meta(
  symbol: string,
  datasetSymbol: string,
  ctx: EmulatorContext,
  interval: string,
  startMs: number,
  endMs: number,
  prePost: boolean,
  previousClose: number | undefined
) {
  const now = ctx.now()
  const today = calendar.tradingDays(tradingDayOf(now - 10 * DAY_S * 1000), tradingDayOf(now)).at(-1) ?? ""
  const regular = calendar.session(today, "regular")
  const extended = calendar.session(today, "extended")
  const gmtoffset = gmtOffsetAt(now)
  const current =
    regular === undefined || extended === undefined
      ? undefined
      : {
          pre: period(extended.open, regular.open),
          regular: period(regular.open, regular.close),
          post: period(regular.close, extended.close)
        }
  const lastPrice =
    regular === undefined
      ? undefined
      : ctx.dataset.bars(datasetSymbol, regular.open, Math.min(now, regular.close), false).at(-1)?.c
  const days =
    endMs > startMs ? calendar.tradingDays(tradingDayOf(startMs), tradingDayOf(Math.max(startMs, endMs - 1))) : []
  const sessions = (kind: "pre" | "regular" | "post") =>
    days.flatMap((d) => {
      const r = calendar.session(d, "regular")
      const e = calendar.session(d, "extended")
      if (r === undefined || e === undefined) return []
      if (kind === "pre") return [[period(e.open, r.open)]]
      if (kind === "post") return [[period(r.close, e.close)]]
      return [[period(r.open, r.close)]]
    })
  return {
    currency: "USD",
    symbol,
    exchangeName: "NMS",
    fullExchangeName: "NasdaqGS",
    instrumentType: "EQUITY",
    firstTradeDate: 345479400,
    regularMarketTime: Math.floor(Math.min(now, regular?.close ?? now) / 1000),
    hasPrePostMarketData: true,
    gmtoffset,
    timezone: gmtoffset === -14400 ? "EDT" : "EST",
    exchangeTimezoneName: "America/New_York",
    ...(lastPrice === undefined ? {} : { regularMarketPrice: Math.fround(lastPrice) }),
    longName: `${symbol} (emulated)`,
    shortName: `${symbol} (emulated)`,
    ...(previousClose === undefined ? {} : { chartPreviousClose: Math.fround(previousClose) }),
    priceHint: 2,
    ...(current === undefined ? {} : { currentTradingPeriod: current }),
    ...(interval === "1d"
      ? {}
      : {
          tradingPeriods: prePost
            ? { pre: sessions("pre"), regular: sessions("regular"), post: sessions("post") }
            : sessions("regular")
        }),
    dataGranularity: interval,
    range: "",
    validRanges
  }
}

function chart(req: EmulatorRequest, ctx: EmulatorContext, raw: string): EmulatorResponse {
  const q = req.query
  const symbol = raw.toUpperCase()
  if (symbol.startsWith("ZZZZ")) return chartError(404, "Not Found", "No data found, symbol may be delisted")
  const interval = q.get("interval") ?? "1d"
  const minutes = intervals[interval]
  if (minutes === undefined) {
    return chartError(
      422,
      "Unprocessable Entity",
      `Invalid input - interval=${interval} is not supported. Valid intervals: [${Object.keys(intervals).join(", ")}]`
    )
  }
  const nowS = Math.floor(ctx.now() / 1000)
  const range = q.get("range")
  let p1 = Number(q.get("period1"))
  let p2 = q.get("period2") === null ? nowS : Number(q.get("period2"))
  if (q.get("period1") === null) {
    const days = range === null ? undefined : ranges[range]
    if (days === undefined) return chartError(422, "Unprocessable Entity", `Invalid input - range=${range}`)
    p1 = nowS - days * DAY_S
    p2 = nowS
  }
  if (!Number.isInteger(p1) || !Number.isInteger(p2)) {
    return chartError(400, "Bad Request", "Invalid input - period1 and period2 must be Unix seconds")
  }
  if (interval === "1m" && p2 - p1 > 8 * DAY_S) {
    return chartError(
      422,
      "Unprocessable Entity",
      `1m data not available for startTime=${p1} and endTime=${p2}. Only 8 days worth of 1m granularity data are allowed to be fetched per request.`
    )
  }
  const prePost = (q.get("includePrePost") ?? "false").toLowerCase() === "true"
  // Yahoo spells share classes with a dash (BRK-B); the dataset is keyed by our dotted symbols.
  const datasetSymbol = symbol.replaceAll("-", ".")
  const bars = rollUp(ctx.dataset.bars(datasetSymbol, p1 * 1000, p2 * 1000, prePost && minutes < 1440), (t) =>
    // 09:30 ET is 14:30Z or 13:30Z: both 30 minutes past a whole UTC hour.
    minutes === 1440
      ? (calendar.session(tradingDayOf(t), "regular")?.open ?? t)
      : minutes === 1
        ? t
        : t - ((((t - 1_800_000) % (minutes * 60_000)) + minutes * 60_000) % (minutes * 60_000))
  )
  const previousClose = ctx.dataset.bars(datasetSymbol, p1 * 1000 - 4 * DAY_S * 1000, p1 * 1000, false).at(-1)?.c
  const result: Record<string, unknown> = {
    meta: meta(symbol, datasetSymbol, ctx, interval, p1 * 1000, p2 * 1000, prePost, previousClose)
  }
  if (bars.length === 0) {
    result.indicators = { quote: [{}] }
  } else {
    const f = (pick: (b: EmulatedBar) => number) => bars.map((b) => Math.fround(pick(b)))
    result.timestamp = bars.map((b) => Math.floor(b.t / 1000))
    result.indicators = {
      quote: [
        {
          close: f((b) => b.c),
          open: f((b) => b.o),
          high: f((b) => b.h),
          low: f((b) => b.l),
          volume: bars.map((b) => b.v)
        }
      ],
      ...(minutes === 1440 ? { adjclose: [{ adjclose: f((b) => b.c) }] } : {})
    }
  }
  return json(200, { chart: { result: [result], error: null } })
}

const chartPath = /^\/v8\/finance\/chart\/([^/]+)$/u

export const yahooRoutes: ProviderRoutes = {
  provider: "yahoo",
  matches: (req) => chartPath.test(req.path),
  handle: (req, ctx) => {
    const m = chartPath.exec(req.path)
    if (req.method !== "GET" || m === null) return chartError(405, "Method Not Allowed", "HTTP 405 Method Not Allowed")
    return chart(req, ctx, decodeURIComponent(m[1] as string))
  },
  // Unpublished and IP-based; one request a second is what careful clients keep to.
  documentedLimit: { requests: 60, perSeconds: 60 },
  keyOf: () => "anonymous",
  tooManyRequests: () => ({ status: 429, body: "Too Many Requests" })
}

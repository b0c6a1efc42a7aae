/**
 * Massive/Polygon reference data from the emulator's company register (`reference.ts`): `/v3/reference/tickers` as of
 * a `date` (active or delisted, paged by an opaque `cursor` in an absolute `next_url` without the key), ticker details
 * as of a date (market cap from the dataset's close), and grouped daily bars (the whole market's day in one request).
 */
import { randomUUID } from "node:crypto"
import { dayNumber, newYorkToUtc } from "../../src/domain/calendar.ts"
import { tradingDayOf } from "../../src/domain/partition.ts"
import { rollUp } from "./dataset.ts"
import { closeOnOrBefore, delistedBy, type Listing, listedOn, listingOf, listings } from "./reference.ts"
import type { EmulatorContext, EmulatorRequest, EmulatorResponse } from "./types.ts"

const requestId = () => randomUUID().replaceAll("-", "")
const json = (status: number, body: unknown): EmulatorResponse => ({ status, body })
const badRequest = (message: string) => json(400, { status: "ERROR", request_id: requestId(), error: message })
const notFound = () => json(404, { status: "NOT_FOUND", request_id: requestId(), message: "Ticker not found." })

const isDay = (text: string) => /^\d{4}-\d{2}-\d{2}$/u.test(text) && Number.isFinite(Date.parse(`${text}T00:00:00Z`))

/** The listing's delisting instant as Polygon writes it: midnight UTC of the first day it no longer traded. */
const delistedUtc = (l: Listing) => (l.delistDate === undefined ? undefined : `${l.delistDate}T00:00:00Z`)

/** A list row: only the fields the register has (a source leaving fields out is part of the wire). */
function tickerRow(l: Listing, active: boolean): Record<string, unknown> {
  const row: Record<string, unknown> = { ticker: l.ticker }
  if (l.name !== undefined) row.name = l.name
  row.market = "stocks"
  row.locale = "us"
  if (l.mic !== undefined) row.primary_exchange = l.mic
  if (l.type !== undefined) row.type = l.type
  row.active = active
  row.currency_name = "usd"
  if (l.cik !== undefined) row.cik = l.cik
  if (l.compositeFigi !== undefined) row.composite_figi = l.compositeFigi
  row.last_updated_utc = `${l.delistDate ?? "2024-03-11"}T00:00:00Z`
  if (!active) row.delisted_utc = delistedUtc(l)
  return row
}

const cursorOf = (params: URLSearchParams) => Buffer.from(params.toString()).toString("base64url")

/** The query a cursor continues, or `undefined` for one we did not hand out. */
function queryOfCursor(cursor: string): URLSearchParams | undefined {
  if (!/^[A-Za-z0-9_-]+$/u.test(cursor)) return undefined
  const params = new URLSearchParams(Buffer.from(cursor, "base64url").toString("utf8"))
  return params.has("page_marker") && params.has("limit") ? params : undefined
}

export function referenceTickers(req: EmulatorRequest, ctx: EmulatorContext): EmulatorResponse {
  const cursor = req.query.get("cursor")
  const params = cursor === null ? req.query : queryOfCursor(cursor)
  if (params === undefined) return badRequest("Invalid cursor")
  const date = params.get("date") ?? tradingDayOf(ctx.now())
  if (!isDay(date)) return badRequest("Could not parse the date parameter. Use YYYY-MM-DD.")
  const limit = Number(params.get("limit") ?? 100)
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return badRequest("limit must be 1 to 1000")
  const market = params.get("market")
  const activeText = (params.get("active") ?? "true").toLowerCase()
  if (activeText !== "true" && activeText !== "false") return badRequest("active must be true or false")
  const active = activeText === "true"
  const type = params.get("type")
  const marker = params.get("page_marker") ?? ""
  const all =
    market !== null && market !== "stocks"
      ? []
      : listings
          .filter((l) => (active ? listedOn(l, date) : delistedBy(l, date)))
          .filter((l) => type === null || l.type === type)
          .sort((a, b) => (a.ticker < b.ticker ? -1 : 1))
  const rest = all.filter((l) => l.ticker > marker)
  const page = rest.slice(0, limit)
  const body: Record<string, unknown> = {
    results: page.map((l) => tickerRow(l, active)),
    status: "OK",
    request_id: requestId(),
    count: page.length
  }
  const last = page.at(-1)
  if (rest.length > limit && last !== undefined) {
    const next = new URLSearchParams()
    for (const [k, v] of params) if (k !== "page_marker" && k !== "apiKey") next.set(k, v)
    next.set("date", date)
    next.set("active", String(active))
    next.set("limit", String(limit))
    next.set("page_marker", last.ticker)
    next.sort()
    body.next_url = `${ctx.origin}/v3/reference/tickers?cursor=${cursorOf(next)}`
  }
  return json(200, body)
}

export function tickerDetails(req: EmulatorRequest, ctx: EmulatorContext, ticker: string): EmulatorResponse {
  const date = req.query.get("date") ?? tradingDayOf(ctx.now())
  if (!isDay(date)) return badRequest("Could not parse the date parameter. Use YYYY-MM-DD.")
  const l = listingOf(ticker)
  // Before its listing Polygon knows no such ticker; after its delisting it still answers, inactive.
  if (l === undefined || l.listDate > date) return notFound()
  const active = listedOn(l, date)
  const close = closeOnOrBefore(ctx.dataset, l, active ? date : (l.delistDate ?? date))
  const results: Record<string, unknown> = tickerRow(l, active)
  if (l.shares !== undefined && close !== undefined) results.market_cap = Math.round(l.shares * close * 100) / 100
  if (l.sic !== undefined) results.sic_code = l.sic
  if (l.sicDescription !== undefined) results.sic_description = l.sicDescription
  results.ticker_root = l.ticker
  results.list_date = l.listDate
  if (l.shares !== undefined) {
    results.share_class_shares_outstanding = l.shares
    results.weighted_shares_outstanding = l.shares
  }
  results.round_lot = 100
  return json(200, { request_id: requestId(), results, status: "OK" })
}

/** `/v2/aggs/grouped/locale/us/market/stocks/{date}`: every listing's regular-session day bar, `T` its ticker. */
export function groupedDaily(_req: EmulatorRequest, ctx: EmulatorContext, date: string): EmulatorResponse {
  if (!isDay(date)) return badRequest("Could not parse the date parameter. Use YYYY-MM-DD.")
  const n = dayNumber(date)
  const [from, to] = [newYorkToUtc(n, 0, 0), newYorkToUtc(n + 1, 0, 0)]
  const results = listings.flatMap((l) => {
    if (!listedOn(l, date)) return []
    const [day] = rollUp(ctx.dataset.bars(l.ticker, from, to, false), () => from, 4)
    return day === undefined
      ? []
      : [{ T: l.ticker, v: day.v, vw: day.vw, o: day.o, c: day.c, h: day.h, l: day.l, t: from, n: day.n }]
  })
  const body: Record<string, unknown> = {
    queryCount: results.length,
    resultsCount: results.length,
    adjusted: true
  }
  // A day without trading answers like an empty aggregates query: no `results` key.
  if (results.length > 0) body.results = results
  body.status = "OK"
  body.request_id = requestId()
  body.count = results.length
  return json(200, body)
}

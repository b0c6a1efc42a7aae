/**
 * Polygon.io / Massive aggregates (single ticker, `next_url` pagination whose `from` segment advances and whose
 * opaque `cursor` carries the query, no API key inside), grouped daily bars, reference tickers and ticker details
 * (`polygon-reference.ts`), splits and dividends (`polygon-corporate-actions.ts`), as described in
 * `test/fixtures/providers/polygon`. Auth by `Authorization: Bearer <key>` or `apiKey=<key>`. Aggregates are
 * split-adjusted with `adjusted=true` (Polygon's default) and raw, as traded, with `adjusted=false`.
 */
import { randomUUID } from "node:crypto"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { dayNumber, newYorkDayOf, newYorkToUtc } from "../../src/domain/calendar.ts"
import { type EmulatedBar, rollUp } from "./dataset.ts"
import { corporateActionsPage, servesCorporateActions } from "./polygon-corporate-actions.ts"
import { groupedDaily, referenceTickers, tickerDetails } from "./polygon-reference.ts"
import type { EmulatorContext, EmulatorRequest, EmulatorResponse, ProviderRoutes } from "./types.ts"

/** Minutes per timespan unit we can roll minute bars up to. */
const spans: Record<string, number> = { minute: 1, hour: 60, day: 1440 }

const requestId = () => randomUUID().replaceAll("-", "")
const json = (status: number, body: unknown): EmulatorResponse => ({ status, body })
const error = (status: number, message: string) =>
  json(status, { status: "ERROR", request_id: requestId(), error: message })

const fixtureCache = new Map<string, unknown>()
const fixture = (dir: string, file: string): unknown => {
  const path = join(dir, "polygon", file)
  let body = fixtureCache.get(path)
  if (body === undefined) {
    body = JSON.parse(readFileSync(path, "utf8")) as unknown
    fixtureCache.set(path, body)
  }
  return structuredClone(body)
}
const fixturesDir = join(import.meta.dir, "../fixtures/providers")

const wire = (b: EmulatedBar) => ({ v: b.v, vw: b.vw, o: b.o, c: b.c, h: b.h, l: b.l, t: b.t, n: b.n })

/** `from`/`to` path segments: Unix ms, or a New York date (the whole day); both ends inclusive. */
function timeParam(text: string, edge: "from" | "to"): number | undefined {
  if (/^\d{1,15}$/u.test(text)) return Number(text)
  if (/^\d{4}-\d{2}-\d{2}$/u.test(text) && Number.isFinite(Date.parse(`${text}T00:00:00Z`))) {
    const n = dayNumber(text)
    return edge === "from" ? newYorkToUtc(n, 0, 0) : newYorkToUtc(n + 1, 0, 0) - 1
  }
  return undefined
}

/** Start of the bucket `t` falls in: clock-aligned for minutes and hours, New York midnight for days. */
const bucketOf = (t: number, minutes: number) =>
  minutes === 1440 ? newYorkToUtc(newYorkDayOf(t), 0, 0) : t - (t % (minutes * 60_000))

/** The cursor is opaque to clients: unpadded base64url of the query it continues (like Polygon's own). */
const encodeCursor = (params: { adjusted: boolean; limit: number; sort: string }) =>
  Buffer.from(`adjusted=${params.adjusted}&limit=${params.limit}&sort=${params.sort}`).toString("base64url")
function decodeCursor(cursor: string): URLSearchParams | undefined {
  if (!/^[A-Za-z0-9_-]+$/u.test(cursor)) return undefined
  const params = new URLSearchParams(Buffer.from(cursor, "base64url").toString("utf8"))
  return params.has("limit") && params.has("sort") ? params : undefined
}

/** The key a request presents: the Bearer header first, then the `apiKey` query parameter. */
function keyIn(req: EmulatorRequest): string | undefined {
  const bearer = /^Bearer\s+(\S+)\s*$/iu.exec(req.headers.authorization ?? "")
  if (bearer !== null) return bearer[1]
  const query = req.query.get("apiKey")
  return query === null || query === "" ? undefined : query
}

function unauthorized(req: EmulatorRequest, ctx: EmulatorContext): EmulatorResponse | undefined {
  const key = keyIn(req)
  if (key === undefined) return error(401, "API Key was not provided")
  return key === ctx.keys.polygon ? undefined : error(401, "Unknown API Key")
}

const aggsPath = /^\/v2\/aggs\/ticker\/([^/]+)\/range\/([^/]+)\/([^/]+)\/([^/]+)\/([^/]+)$/u

function aggregates(req: EmulatorRequest, ctx: EmulatorContext, match: RegExpExecArray): EmulatorResponse {
  const [, rawTicker = "", rawMultiplier = "", timespan = "", rawFrom = "", rawTo = ""] = match
  const ticker = decodeURIComponent(rawTicker)
  const multiplier = Number(rawMultiplier)
  const unit = spans[timespan]
  if (unit === undefined) return error(400, `Unsupported timespan '${timespan}' (emulated: minute, hour, day)`)
  if (!Number.isInteger(multiplier) || multiplier < 1 || (unit === 1440 && multiplier !== 1)) {
    return error(400, `Unsupported multiplier '${rawMultiplier}' for timespan '${timespan}'`)
  }
  const from = timeParam(decodeURIComponent(rawFrom), "from")
  const to = timeParam(decodeURIComponent(rawTo), "to")
  if (from === undefined) return error(400, "Could not parse the time parameter: 'from'. Use YYYY-MM-DD or Unix MS.")
  if (to === undefined) return error(400, "Could not parse the time parameter: 'to'. Use YYYY-MM-DD or Unix MS.")

  const cursorText = req.query.get("cursor")
  const params = cursorText === null ? req.query : decodeCursor(cursorText)
  if (params === undefined) return error(400, "Invalid cursor")
  const adjustedText = (params.get("adjusted") ?? "true").toLowerCase()
  if (adjustedText !== "true" && adjustedText !== "false") return error(400, "adjusted must be true or false")
  const adjusted = adjustedText === "true"
  const limit = Number(params.get("limit") ?? 5000)
  if (!Number.isInteger(limit) || limit < 1 || limit > 50_000) return error(400, "limit must be 1 to 50000")
  const sort = (params.get("sort") ?? "asc").toLowerCase()
  if (sort !== "asc" && sort !== "desc") return error(400, "sort must be asc or desc")

  const minutes = multiplier * unit
  const basis = adjusted ? "continuous" : "raw"
  const all = rollUp(ctx.dataset.bars(ticker, from, to + 1, true, basis), (t) => bucketOf(t, minutes), 4)
  if (sort === "desc") all.reverse()
  const page = all.slice(0, limit)
  const body: Record<string, unknown> = {
    ticker,
    queryCount: page.length,
    resultsCount: page.length,
    adjusted
  }
  // No data: `resultsCount: 0` and no `results` key at all.
  if (page.length > 0) body.results = page.map(wire)
  body.status = "OK"
  body.request_id = requestId()
  body.count = page.length
  const next = all[limit]
  if (next !== undefined) {
    // The next page starts at the next bar: asc moves `from` up, desc moves `to` down.
    const [nextFrom, nextTo] =
      sort === "asc" ? [next.t, to] : [from, Math.min(to, bucketOf(next.t, minutes) + minutes * 60_000 - 1)]
    const cursor = encodeCursor({ adjusted, limit, sort })
    body.next_url = `${ctx.origin}/v2/aggs/ticker/${encodeURIComponent(ticker)}/range/${multiplier}/${timespan}/${nextFrom}/${nextTo}?cursor=${cursor}`
  }
  return json(200, body)
}

export const polygonRoutes: ProviderRoutes = {
  provider: "polygon",
  matches: (req) =>
    req.path.startsWith("/v2/aggs/") ||
    req.path.startsWith("/v3/reference/tickers") ||
    servesCorporateActions(req.path),
  handle: (req, ctx) => {
    const denied = unauthorized(req, ctx)
    if (denied !== undefined) return denied
    const aggs = aggsPath.exec(req.path)
    if (aggs !== null) return aggregates(req, ctx, aggs)
    if (req.path === "/v3/reference/tickers") return referenceTickers(req, ctx)
    if (servesCorporateActions(req.path)) return corporateActionsPage(req, ctx)
    const details = /^\/v3\/reference\/tickers\/([^/]+)$/u.exec(req.path)
    if (details !== null) return tickerDetails(req, ctx, decodeURIComponent(details[1] as string))
    const grouped = /^\/v2\/aggs\/grouped\/locale\/us\/market\/stocks\/([^/]+)$/u.exec(req.path)
    if (grouped !== null) return groupedDaily(req, ctx, decodeURIComponent(grouped[1] as string))
    return json(404, { status: "NOT_FOUND", request_id: requestId(), message: "Not found." })
  },
  documentedLimit: { requests: 5, perSeconds: 60 },
  keyOf: (req) => keyIn(req) ?? "anonymous",
  // Polygon documents no rate-limit headers and no Retry-After: the 429 is only its JSON body.
  tooManyRequests: () => ({
    status: 429,
    body: { ...(fixture(fixturesDir, "error_429_rate_limited.json") as object), request_id: requestId() }
  })
}

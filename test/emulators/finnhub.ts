/**
 * Finnhub `/stock/candle` (parallel arrays, `t` in Unix seconds, `from`/`to` inclusive, one month of intraday per
 * request, `{"s":"no_data"}` when empty, 403 for free keys), `/stock/symbol` and `/stock/profile2` from
 * `test/fixtures/providers/finnhub`. Served under `/api/v1` and at the root; the key comes as the `X-Finnhub-Token`
 * header or the `token` query parameter. Any key starting with `free-` is a valid free-plan key.
 */
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { tradingDayOf } from "../../src/domain/partition.ts"
import { type EmulatedBar, rollUp } from "./dataset.ts"
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
    rows = rollUp(ctx.dataset.bars(symbol, from * 1000, to * 1000 + 1, true), (t) => t - (t % ms)).filter(
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

function symbolList(req: EmulatorRequest, ctx: EmulatorContext): EmulatorResponse {
  if (planOf(req, ctx) === undefined) return invalidKey()
  const q = req.query
  if (q.get("exchange") === null) return json(422, { error: "Wrong exchange." })
  if (q.get("exchange") !== "US") return json(200, [])
  const all = JSON.parse(readFileSync(join(ctx.fixtures, "finnhub/stock_symbol_US.json"), "utf8")) as Array<
    Record<string, unknown>
  >
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

function profile2(req: EmulatorRequest, ctx: EmulatorContext): EmulatorResponse {
  if (planOf(req, ctx) === undefined) return invalidKey()
  const symbol = req.query.get("symbol") ?? ""
  const file = join(ctx.fixtures, `finnhub/profile2_${symbol}.json`)
  // Only plain tickers name a file; anything else (and any unknown symbol) is `{}`, as Finnhub answers.
  if (!/^[A-Z][A-Z0-9.-]{0,14}$/u.test(symbol) || !existsSync(file)) return json(200, {})
  return json(200, JSON.parse(readFileSync(file, "utf8")))
}

const handlers: Record<string, (req: EmulatorRequest, ctx: EmulatorContext) => EmulatorResponse> = {
  "/stock/candle": candle,
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

/**
 * Alpaca Market Data v2 bars (multi- and single-symbol, `page_token` pagination with `limit` counted across
 * symbols), as described in `test/fixtures/providers/alpaca`, market data `/v1/corporate-actions` from the corporate
 * actions register (`corporate-actions.ts`), and Trading API assets from the company register (`reference.ts`) as it
 * stands on the emulator's today. The `iex` feed serves the `sip` feed's bars, except that with `iexVolumeShare` set
 * its volumes are that share of them, as IEX sees only its own part of the trading. Bars follow `adjustment`: `raw`
 * (Alpaca's default) and `dividend` serve raw prices, `split` and `all` split-adjusted ones; the emulator applies no
 * dividends, so `dividend` is `raw` and `all` is `split`.
 */
import { createHash } from "node:crypto"
import { tradingDayOf } from "../../src/domain/partition.ts"
import { actionsWhere, type RegisteredAction } from "./corporate-actions.ts"
import { type EmulatedBar, type PriceBasis, rollUp } from "./dataset.ts"
import { delistedBy, type Listing, listedOn, listings } from "./reference.ts"
import type { EmulatorContext, EmulatorRequest, EmulatorResponse, ProviderRoutes } from "./types.ts"

const frames: Record<string, number> = { "1Min": 1, "5Min": 5, "15Min": 15, "30Min": 30, "1Hour": 60, "1Day": 1440 }

const json = (status: number, body: unknown): EmulatorResponse => ({ status, body })
const wire = (b: EmulatedBar) => ({
  t: new Date(b.t).toISOString().replace(".000Z", "Z"),
  o: b.o,
  h: b.h,
  l: b.l,
  c: b.c,
  v: b.v,
  n: b.n,
  vw: b.vw
})

// The real token is opaque base64 of "SYMBOL|M|last-bar-ns"; clients must pass it back unchanged.
const token = (symbol: string, lastMs: number) =>
  Buffer.from(`${symbol}|M|${BigInt(lastMs) * 1_000_000n}`).toString("base64")
const untoken = (t: string): { symbol: string; afterMs: number } | undefined => {
  const [symbol, , ns] = Buffer.from(t, "base64").toString("utf8").split("|")
  return symbol && ns ? { symbol, afterMs: Number(BigInt(ns) / 1_000_000n) } : undefined
}

/** The prices each `adjustment` serves (no dividends are applied by the emulator). */
const bases: Readonly<Record<string, PriceBasis>> = {
  raw: "raw",
  dividend: "raw",
  split: "continuous",
  all: "continuous"
}

function bars(req: EmulatorRequest, ctx: EmulatorContext, single: string | undefined): EmulatorResponse {
  const { query: q } = req
  if (
    req.headers["apca-api-key-id"] !== ctx.keys.alpaca.id ||
    req.headers["apca-api-secret-key"] !== ctx.keys.alpaca.secret
  ) {
    return json(403, { message: "forbidden." })
  }
  const symbols = single !== undefined ? [single] : (q.get("symbols") ?? "").split(",").filter((s) => s !== "")
  if (symbols.length === 0) return json(400, { message: "symbols is required" })
  const minutes = frames[q.get("timeframe") ?? ""]
  if (minutes === undefined) return json(422, { message: `invalid timeframe: ${q.get("timeframe")}` })
  const start = Date.parse(q.get("start") ?? "")
  const end = q.get("end") === null ? ctx.now() : Date.parse(q.get("end") ?? "")
  if (!Number.isFinite(start) || !Number.isFinite(end)) return json(422, { message: "invalid start or end" })
  const limit = Number(q.get("limit") ?? 1000)
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
    return json(422, { message: "invalid limit: must be 1 to 10000" })
  const feed = q.get("feed") ?? "sip"
  if (!["iex", "sip", "otc"].includes(feed)) return json(422, { message: `invalid feed: ${feed}` })
  const adjustment = q.get("adjustment") ?? "raw"
  const basis = bases[adjustment]
  if (basis === undefined) return json(422, { message: `invalid adjustment: ${adjustment}` })
  if (feed === "sip" && end > ctx.now() - 15 * 60_000) {
    return json(403, { message: "subscription does not permit querying recent SIP data" })
  }
  const resume = q.get("page_token") === null ? undefined : untoken(q.get("page_token") ?? "")
  const out: Record<string, Array<ReturnType<typeof wire>>> = {}
  let left = limit
  let next: string | null = null
  const ordered = [...symbols].sort()
  const share = feed === "iex" ? ctx.iexVolumeShare : undefined
  const onFeed = (minutes: ReadonlyArray<EmulatedBar>) =>
    share === undefined ? minutes : minutes.map((b) => ({ ...b, v: Math.round(b.v * share) }))
  for (const symbol of ordered) {
    if (resume !== undefined && symbol < resume.symbol) continue
    // `end` is inclusive on Alpaca.
    const all = rollUp(onFeed(ctx.dataset.bars(symbol, start, end + 1, true, basis)), (t) =>
      minutes === 1440 ? t - ((t - 5 * 3_600_000) % 86_400_000) : t - (t % (minutes * 60_000))
    )
    const from = resume !== undefined && symbol === resume.symbol ? all.findIndex((b) => b.t > resume.afterMs) : 0
    if (from < 0) continue
    const take = all.slice(from, from + left)
    if (take.length > 0) out[symbol] = [...(out[symbol] ?? []), ...take.map(wire)]
    left -= take.length
    if (left === 0) {
      const last = take[take.length - 1]
      const more = from + take.length < all.length || ordered.indexOf(symbol) < ordered.length - 1
      if (more && last !== undefined) next = token(symbol, last.t)
      break
    }
  }
  if (single !== undefined) {
    const list = out[single]
    return json(200, { bars: list === undefined ? null : list, symbol: single, next_page_token: next })
  }
  return json(200, { bars: out, next_page_token: next })
}

/** Alpaca's names for the register's MICs; a listing with no exchange Alpaca knows trades over the counter. */
const exchangeNames: Readonly<Record<string, string>> = {
  XNAS: "NASDAQ",
  XNYS: "NYSE",
  ARCX: "ARCA",
  XASE: "AMEX",
  BATS: "BATS",
  IEXG: "IEX",
  OTCM: "OTC"
}
const exchangeOf = (l: Listing): string => (l.mic === undefined ? undefined : exchangeNames[l.mic]) ?? "OTC"

/** A stable uuid per ticker (name-based, version 5 layout), so the same asset keeps its id across runs. */
function assetId(ticker: string): string {
  const h = createHash("sha1").update(`alpaca-asset|${ticker}`).digest("hex")
  const variant = ((Number.parseInt(h.slice(16, 17), 16) & 0x3) | 0x8).toString(16)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`
}

/**
 * The asset object Alpaca sends. An inactive asset can be neither traded nor margined; OTC assets are listed but
 * not margin- or shortable on Alpaca. Alpaca sends `""` for a name it does not have.
 */
function assetOf(l: Listing, active: boolean) {
  const exchange = exchangeOf(l)
  const full = active && exchange !== "OTC"
  return {
    id: assetId(l.ticker),
    class: "us_equity",
    exchange,
    symbol: l.ticker,
    name: l.name ?? "",
    status: active ? "active" : "inactive",
    tradable: active,
    marginable: full,
    maintenance_margin_requirement: full ? 30 : 100,
    shortable: full,
    easy_to_borrow: full,
    fractionable: full,
    attributes: []
  }
}

type Asset = ReturnType<typeof assetOf>

/** Every asset as of `day`: listed ones active, delisted ones inactive, ones not listed yet absent. */
const assetsOn = (day: string): Array<Asset> =>
  listings.flatMap((l) => (listedOn(l, day) ? [assetOf(l, true)] : delistedBy(l, day) ? [assetOf(l, false)] : []))

/** Alpaca's order: class, then exchange, then symbol. */
const byListOrder = (a: Asset, b: Asset) =>
  a.class.localeCompare(b.class) || a.exchange.localeCompare(b.exchange) || a.symbol.localeCompare(b.symbol)

function assets(req: EmulatorRequest, ctx: EmulatorContext, symbol: string | undefined): EmulatorResponse {
  if (
    req.headers["apca-api-key-id"] !== ctx.keys.alpaca.id ||
    req.headers["apca-api-secret-key"] !== ctx.keys.alpaca.secret
  ) {
    return json(401, { message: "unauthorized." })
  }
  const all = assetsOn(tradingDayOf(ctx.now()))
  if (symbol !== undefined) {
    // `/v2/assets/{symbol_or_id}`.
    const one = all.find((a) => a.symbol === symbol || a.id === symbol)
    return one === undefined ? json(404, { code: 40410000, message: "asset not found" }) : json(200, one)
  }
  const { query: q } = req
  const wanted = (param: string, value: string) => q.get(param) === null || q.get(param) === value
  return json(
    200,
    all
      .filter((a) => wanted("status", a.status) && wanted("asset_class", a.class) && wanted("exchange", a.exchange))
      .sort(byListOrder)
  )
}

/** Every type the endpoint accepts; the register holds splits and cash dividends only. */
const actionTypes = new Set([
  "reverse_split",
  "forward_split",
  "unit_split",
  "cash_dividend",
  "stock_dividend",
  "spin_off",
  "cash_merger",
  "stock_merger",
  "stock_and_cash_merger",
  "redemption",
  "name_change",
  "worthless_removal",
  "rights_distribution"
])

/** An action's Alpaca type. */
const typeOf = (a: RegisteredAction) =>
  a.kind === "dividend" ? "cash_dividend" : a.to > a.from ? "forward_split" : "reverse_split"

/** The day Alpaca processes an action: a split on its ex-date, a cash dividend on its payable date. */
const processDateOf = (a: RegisteredAction) => (a.kind === "split" ? a.exDate : a.payDate)

/** A stable uuid per action (name-based, version 5 layout). */
function actionId(a: RegisteredAction): string {
  const h = createHash("sha1").update(`alpaca-ca|${a.kind}|${a.symbol}|${a.exDate}`).digest("hex")
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`
}

/** The action as Alpaca writes it, under its type's key. */
function actionRow(a: RegisteredAction): Record<string, unknown> {
  if (a.kind === "split") {
    return {
      ex_date: a.exDate,
      id: actionId(a),
      new_rate: a.to,
      old_rate: a.from,
      payable_date: a.payDate,
      process_date: processDateOf(a),
      record_date: a.recordDate,
      symbol: a.symbol
    }
  }
  return {
    ex_date: a.exDate,
    foreign: false,
    id: actionId(a),
    payable_date: a.payDate,
    process_date: processDateOf(a),
    rate: a.amount,
    record_date: a.recordDate,
    special: a.special,
    symbol: a.symbol
  }
}

// Opaque to clients, like Alpaca's: base64 of where the next page starts.
const actionsToken = (offset: number) => Buffer.from(`corporate-actions|${offset}`).toString("base64")
const actionsOffset = (t: string): number | undefined => {
  const m = /^corporate-actions\|(\d+)$/u.exec(Buffer.from(t, "base64").toString("utf8"))
  return m === null ? undefined : Number(m[1])
}

const isDay = (text: string) => /^\d{4}-\d{2}-\d{2}$/u.test(text) && Number.isFinite(Date.parse(`${text}T00:00:00Z`))

/**
 * `/v1/corporate-actions`: `symbols` and `types` (comma-separated; absent: all), `start`/`end` an inclusive interval
 * on the process date (default: today), `limit` 1 to 1000 (default 100) counted across types, `sort` by process date,
 * `page_token`. Actions are grouped by type, a type with none left out.
 */
function corporateActions(req: EmulatorRequest, ctx: EmulatorContext): EmulatorResponse {
  if (
    req.headers["apca-api-key-id"] !== ctx.keys.alpaca.id ||
    req.headers["apca-api-secret-key"] !== ctx.keys.alpaca.secret
  ) {
    return json(403, { message: "forbidden." })
  }
  const { query: q } = req
  const list = (name: string) => (q.get(name) ?? "").split(",").filter((s) => s !== "")
  const symbols = list("symbols")
  const types = list("types")
  const unknown = types.find((t) => !actionTypes.has(t))
  if (unknown !== undefined) return json(400, { message: `invalid type: ${unknown}` })
  const today = tradingDayOf(ctx.now())
  const start = q.get("start") ?? today
  const end = q.get("end") ?? today
  if (!isDay(start)) return json(400, { message: `invalid start: ${start}` })
  if (!isDay(end)) return json(400, { message: `invalid end: ${end}` })
  const limit = Number(q.get("limit") ?? 100)
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    return json(400, { message: "invalid limit: must be 1 to 1000" })
  }
  const sort = q.get("sort") ?? "asc"
  if (sort !== "asc" && sort !== "desc") return json(400, { message: `invalid sort: ${sort}` })
  const offset = q.get("page_token") === null ? 0 : actionsOffset(q.get("page_token") ?? "")
  if (offset === undefined) return json(400, { message: "invalid page token" })
  const all = actionsWhere({
    ...(symbols.length === 0 ? {} : { symbols: new Set(symbols) }),
    from: start,
    to: end,
    dateOf: processDateOf
  })
    .filter((a) => types.length === 0 || types.includes(typeOf(a)))
    .sort(
      (a, b) =>
        processDateOf(a).localeCompare(processDateOf(b)) ||
        a.symbol.localeCompare(b.symbol) ||
        typeOf(a).localeCompare(typeOf(b))
    )
  if (sort === "desc") all.reverse()
  const grouped: Record<string, Array<Record<string, unknown>>> = {}
  for (const a of all.slice(offset, offset + limit)) {
    const key = `${typeOf(a)}s`
    grouped[key] = [...(grouped[key] ?? []), actionRow(a)]
  }
  return json(200, {
    corporate_actions: grouped,
    next_page_token: offset + limit < all.length ? actionsToken(offset + limit) : null
  })
}

export const alpacaRoutes: ProviderRoutes = {
  provider: "alpaca",
  matches: (req) =>
    req.path === "/v2/stocks/bars" ||
    /^\/v2\/stocks\/[^/]+\/bars$/u.test(req.path) ||
    req.path === "/v1/corporate-actions" ||
    req.path.startsWith("/v2/assets"),
  handle: (req, ctx) => {
    if (req.path === "/v2/stocks/bars") return bars(req, ctx, undefined)
    if (req.path === "/v1/corporate-actions") return corporateActions(req, ctx)
    const single = /^\/v2\/stocks\/([^/]+)\/bars$/u.exec(req.path)
    if (single !== null) return bars(req, ctx, decodeURIComponent(single[1] as string))
    const asset = /^\/v2\/assets\/([^/]+)$/u.exec(req.path)
    return assets(req, ctx, asset === null ? undefined : decodeURIComponent(asset[1] as string))
  },
  documentedLimit: { requests: 200, perSeconds: 60 },
  keyOf: (req) => req.headers["apca-api-key-id"] ?? "anonymous",
  tooManyRequests: (resetAtS, limit) => ({
    status: 429,
    headers: {
      "x-ratelimit-limit": String(limit),
      "x-ratelimit-remaining": "0",
      "x-ratelimit-reset": String(resetAtS)
    },
    body: { message: "too many requests." }
  }),
  rateHeaders: (limit, remaining, resetAtS) => ({
    "x-ratelimit-limit": String(limit),
    "x-ratelimit-remaining": String(remaining),
    "x-ratelimit-reset": String(resetAtS)
  })
}

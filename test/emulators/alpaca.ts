/**
 * Alpaca Market Data v2 bars (multi- and single-symbol, `page_token` pagination with `limit` counted across
 * symbols), as described in `test/fixtures/providers/alpaca`, and Trading API assets from the company register
 * (`reference.ts`) as it stands on the emulator's today. The `iex` feed serves the `sip` feed's bars, except that with
 * `iexVolumeShare` set its volumes are that share of them, as IEX sees only its own part of the trading.
 */
import { createHash } from "node:crypto"
import { tradingDayOf } from "../../src/domain/partition.ts"
import { type EmulatedBar, rollUp } from "./dataset.ts"
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
    const all = rollUp(onFeed(ctx.dataset.bars(symbol, start, end + 1, true)), (t) =>
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

export const alpacaRoutes: ProviderRoutes = {
  provider: "alpaca",
  matches: (req) =>
    req.path === "/v2/stocks/bars" ||
    /^\/v2\/stocks\/[^/]+\/bars$/u.test(req.path) ||
    req.path.startsWith("/v2/assets"),
  handle: (req, ctx) => {
    if (req.path === "/v2/stocks/bars") return bars(req, ctx, undefined)
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

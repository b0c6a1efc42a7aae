/**
 * Massive/Polygon `/v3/reference/splits` and `/v3/reference/dividends` from the emulator's corporate actions register
 * (`corporate-actions.ts`). Filters: `ticker`, the date field (`execution_date` / `ex_dividend_date`, exact or with
 * `.gt .gte .lt .lte`), `dividend_type` (dividends), `order` (asc, the emulator's default, or desc) and `limit` (1 to
 * 1000, default 10); paged by an absolute `next_url` whose opaque `cursor` carries the whole query and the offset,
 * with no API key inside. Auth is checked by the Polygon routes before these run.
 */
import { createHash, randomUUID } from "node:crypto"
import {
  actionsWhere,
  type RegisteredAction,
  type RegisteredDividend,
  type RegisteredSplit
} from "./corporate-actions.ts"
import type { EmulatorContext, EmulatorRequest, EmulatorResponse } from "./types.ts"

const requestId = () => randomUUID().replaceAll("-", "")
const json = (status: number, body: unknown): EmulatorResponse => ({ status, body })
const badRequest = (message: string) => json(400, { status: "ERROR", request_id: requestId(), error: message })

const isDay = (text: string) => /^\d{4}-\d{2}-\d{2}$/u.test(text) && Number.isFinite(Date.parse(`${text}T00:00:00Z`))

/** A stable id per action, in the shape of Polygon's (`E` and 64 hex digits). */
const idOf = (a: RegisteredAction) =>
  `E${createHash("sha256").update(`${a.kind}|${a.symbol}|${a.exDate}`).digest("hex")}`

const splitRow = (s: RegisteredSplit) => ({
  execution_date: s.exDate,
  id: idOf(s),
  split_from: s.from,
  split_to: s.to,
  ticker: s.symbol
})

/** `CD` regular cash, `SC` special cash; `frequency` is payments a year, 0 for a one-off. */
const dividendRow = (d: RegisteredDividend) => ({
  cash_amount: d.amount,
  currency: d.currency,
  declaration_date: d.declarationDate,
  dividend_type: d.special ? "SC" : "CD",
  ex_dividend_date: d.exDate,
  frequency: d.special ? 0 : 4,
  id: idOf(d),
  pay_date: d.payDate,
  record_date: d.recordDate,
  ticker: d.symbol
})

const cursorOf = (params: URLSearchParams) => Buffer.from(params.toString()).toString("base64url")

/** The query a cursor continues, or `undefined` for one we did not hand out. */
function queryOfCursor(cursor: string): URLSearchParams | undefined {
  if (!/^[A-Za-z0-9_-]+$/u.test(cursor)) return undefined
  const params = new URLSearchParams(Buffer.from(cursor, "base64url").toString("utf8"))
  return params.has("offset") && params.has("limit") ? params : undefined
}

interface Endpoint {
  readonly path: string
  readonly kind: RegisteredAction["kind"]
  readonly dateField: string
  readonly row: (a: RegisteredAction) => Record<string, unknown>
}

const endpoints: ReadonlyArray<Endpoint> = [
  {
    path: "/v3/reference/splits",
    kind: "split",
    dateField: "execution_date",
    row: (a) => splitRow(a as RegisteredSplit)
  },
  {
    path: "/v3/reference/dividends",
    kind: "dividend",
    dateField: "ex_dividend_date",
    row: (a) => dividendRow(a as RegisteredDividend)
  }
]

/** Whether this module serves `path`. */
export const servesCorporateActions = (path: string) => endpoints.some((e) => e.path === path)

export function corporateActionsPage(req: EmulatorRequest, ctx: EmulatorContext): EmulatorResponse {
  const endpoint = endpoints.find((e) => e.path === req.path)
  if (endpoint === undefined) return json(404, { status: "NOT_FOUND", request_id: requestId(), message: "Not found." })
  const cursor = req.query.get("cursor")
  const params = cursor === null ? req.query : queryOfCursor(cursor)
  if (params === undefined) return badRequest("Invalid cursor")
  const limit = Number(params.get("limit") ?? 10)
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return badRequest("limit must be 1 to 1000")
  const offset = Number(params.get("offset") ?? 0)
  if (!Number.isInteger(offset) || offset < 0) return badRequest("Invalid cursor")
  const order = (params.get("order") ?? "asc").toLowerCase()
  if (order !== "asc" && order !== "desc") return badRequest("order must be asc or desc")

  // Date bounds, each inclusive once `.gt`/`.lt` are moved to the neighbouring day.
  const bounds: Array<(day: string) => boolean> = []
  for (const [suffix, test] of [
    ["", (d: string, v: string) => d === v],
    [".gte", (d: string, v: string) => d >= v],
    [".gt", (d: string, v: string) => d > v],
    [".lte", (d: string, v: string) => d <= v],
    [".lt", (d: string, v: string) => d < v]
  ] as const) {
    const value = params.get(`${endpoint.dateField}${suffix}`)
    if (value === null) continue
    if (!isDay(value)) {
      return badRequest(`Could not parse the ${endpoint.dateField}${suffix} parameter. Use YYYY-MM-DD.`)
    }
    bounds.push((d) => test(d, value))
  }
  const ticker = params.get("ticker")
  const type = endpoint.kind === "dividend" ? params.get("dividend_type") : null
  const all = actionsWhere({
    ...(ticker === null ? {} : { symbols: new Set([ticker]) }),
    kinds: new Set([endpoint.kind])
  })
    .filter((a) => bounds.every((inside) => inside(a.exDate)))
    .map(endpoint.row)
    .filter((row) => type === null || row.dividend_type === type)
  if (order === "desc") all.reverse()
  const page = all.slice(offset, offset + limit)
  const body: Record<string, unknown> = { results: page, status: "OK", request_id: requestId() }
  if (offset + limit < all.length) {
    const next = new URLSearchParams()
    for (const [k, v] of params) if (k !== "offset" && k !== "apiKey" && k !== "cursor") next.set(k, v)
    next.set("limit", String(limit))
    next.set("offset", String(offset + limit))
    next.sort()
    body.next_url = `${ctx.origin}${endpoint.path}?cursor=${cursorOf(next)}`
  }
  return json(200, body)
}

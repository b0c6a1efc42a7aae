/**
 * Finnhub wire format. `/stock/candle` answers in parallel arrays (`t` Unix seconds UTC bar start, `o h l c v`;
 * no VWAP, no trade count) with `s` = `"ok"` or `"no_data"`: the shape is checked with Schema and the arrays are
 * moved into columns in one loop. Also the `/stock/symbol` rows, `/stock/profile2` (money and shares in millions), and
 * the `/stock/split` and `/stock/dividend` arrays (`date` is the ex-date).
 */
import type { BarBatch, PluginHost, SecurityType, Symbol, SymbolMeta } from "../../mod.ts"

export const wireSchemas = (S: PluginHost["Schema"]) => {
  const column = S.optionalKey(S.NullOr(S.Array(S.Unknown)))
  const text = S.optionalKey(S.NullOr(S.String))
  const amount = S.optionalKey(S.NullOr(S.Number))
  return {
    candle: S.Struct({ s: S.String, t: column, o: column, h: column, l: column, c: column, v: column }),
    symbols: S.Array(
      S.Struct({ symbol: S.String, description: text, displaySymbol: text, mic: text, type: text, currency: text })
    ),
    // An unknown symbol is `{}`: every field is optional.
    profile: S.Struct({
      ticker: text,
      name: text,
      exchange: text,
      country: text,
      currency: text,
      finnhubIndustry: text,
      ipo: text,
      weburl: text,
      marketCapitalization: amount,
      shareOutstanding: amount
    })
  }
}

/** A calendar date as Finnhub writes the dates of corporate actions. */
export const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/u

/**
 * `/stock/split` and `/stock/dividend`: one unpaginated array each, the fields we read (`adjustedAmount`,
 * `declarationDate` and `freq` are let through unread). A row without its date or with a factor that is not positive
 * is a malformed answer, since a split left out would adjust every earlier bar wrongly.
 */
export const corporateActionSchemas = (S: PluginHost["Schema"]) => {
  const day = S.String.check(S.isPattern(DAY_PATTERN, { expected: "a YYYY-MM-DD date" }))
  const factor = S.Finite.check(S.isGreaterThan(0))
  const text = S.optionalKey(S.NullOr(S.String))
  return {
    // An unknown symbol or an empty range is `[]`; `null` is taken as the same.
    splits: S.NullOr(S.Array(S.Struct({ symbol: S.String, date: day, fromFactor: factor, toFactor: factor }))),
    dividends: S.NullOr(
      S.Array(
        S.Struct({
          symbol: S.String,
          date: day,
          amount: S.Finite.check(S.isGreaterThanOrEqualTo(0)),
          currency: text,
          payDate: text,
          recordDate: text
        })
      )
    )
  }
}

type CorporateActionSchemas = ReturnType<typeof corporateActionSchemas>
export type SplitWire = NonNullable<CorporateActionSchemas["splits"]["Type"]>[number]
export type DividendWire = NonNullable<CorporateActionSchemas["dividends"]["Type"]>[number]

/** A decoded `/stock/candle` body. */
export interface Candle {
  readonly s: string
  readonly t?: ReadonlyArray<unknown> | null
  readonly o?: ReadonlyArray<unknown> | null
  readonly h?: ReadonlyArray<unknown> | null
  readonly l?: ReadonlyArray<unknown> | null
  readonly c?: ReadonlyArray<unknown> | null
  readonly v?: ReadonlyArray<unknown> | null
}

/** Which rows to keep, and how to label daily bars. */
export interface CandleWindow {
  /** UTC ms, inclusive. */
  readonly start: number
  /** UTC ms, exclusive. */
  readonly end: number
  /**
   * Daily candles are stamped 00:00 UTC of their date; MarketPipe labels a daily bar by its session open, so the
   * stamp is moved there.
   */
  readonly daily: boolean
}

/** The trading day a Finnhub daily stamp names: its UTC date when it is midnight UTC, else its New York day. */
function sessionOpenOf(kit: PluginHost["kit"], ms: number): number {
  const day = ms % 86_400_000 === 0 ? new Date(ms).toISOString().slice(0, 10) : kit.tradingDayOf(ms)
  return kit.calendar.session(day, "regular")?.open ?? ms
}

/**
 * Moves one symbol's candle arrays into a column batch (rows outside `window` are dropped). A string names what is
 * malformed: a missing or short array, or a value that is not a finite number.
 */
export function toBatch(
  kit: PluginHost["kit"],
  symbol: Symbol,
  candle: Candle,
  window?: CandleWindow
): BarBatch | string {
  if (candle.s === "no_data") return kit.emptyBatch(symbol, 0)
  if (candle.s !== "ok") return `unexpected candle status "${String(candle.s).slice(0, 40)}" for ${symbol}`
  const { t, o, h, l, c, v } = candle
  if (!t || !o || !h || !l || !c || !v) return `candle arrays missing for ${symbol}`
  const n = t.length
  if (o.length !== n || h.length !== n || l.length !== n || c.length !== n || v.length !== n) {
    return `candle arrays of unequal length for ${symbol}: t ${n}, o ${o.length}, h ${h.length}, l ${l.length}, c ${c.length}, v ${v.length}`
  }
  const out = kit.batchBuilder(symbol, n)
  for (let i = 0; i < n; i++) {
    const ti = t[i]
    // Whole seconds in range only: anything else is malformed (and would not name a day for a daily stamp).
    const ms = typeof ti === "number" && kit.isBarTime(ti * 1000) ? ti * 1000 : Number.NaN
    const ts = window?.daily === true && Number.isFinite(ms) ? sessionOpenOf(kit, ms) : ms
    if (window !== undefined && (ts < window.start || ts >= window.end)) continue
    if (!out.add(ts, o[i], h[i], l[i], c[i], v[i])) {
      return `malformed candle ${i} for ${symbol}: ${kit.shownWire([ti, o[i], h[i], l[i], c[i], v[i]])}`
    }
  }
  return out.build()
}

/** `/stock/profile2` in plain units; `undefined` for the `{}` Finnhub sends for an unknown symbol. */
export interface CompanyProfile {
  readonly symbol: Symbol
  readonly name?: string
  readonly exchange?: string
  readonly country?: string
  readonly currency?: string
  readonly industry?: string
  readonly ipo?: string
  readonly website?: string
  /** US dollars (Finnhub sends millions). */
  readonly marketCap?: number
  /** Shares (Finnhub sends millions). */
  readonly sharesOutstanding?: number
}

export type ProfileWire = ReturnType<typeof wireSchemas>["profile"]["Type"]

const present = (s: string | null | undefined): s is string => typeof s === "string" && s !== ""
const millions = (n: number | null | undefined): number | undefined =>
  typeof n === "number" && Number.isFinite(n) ? Math.round(n * 1_000_000) : undefined

/** Maps a decoded profile to plain units; `undefined` when it names no company. */
export function profile(kit: PluginHost["kit"], asked: Symbol, p: ProfileWire): CompanyProfile | undefined {
  if (!present(p.ticker) && !present(p.name)) return undefined
  const symbol = (present(p.ticker) ? kit.parseSymbol(p.ticker) : undefined) ?? asked
  const marketCap = millions(p.marketCapitalization)
  const sharesOutstanding = millions(p.shareOutstanding)
  return {
    symbol,
    ...(present(p.name) ? { name: p.name } : {}),
    ...(present(p.exchange) ? { exchange: p.exchange } : {}),
    ...(present(p.country) ? { country: p.country } : {}),
    ...(present(p.currency) ? { currency: p.currency } : {}),
    ...(present(p.finnhubIndustry) ? { industry: p.finnhubIndustry } : {}),
    ...(present(p.ipo) ? { ipo: p.ipo } : {}),
    ...(present(p.weburl) ? { website: p.weburl } : {}),
    ...(marketCap === undefined ? {} : { marketCap }),
    ...(sharesOutstanding === undefined ? {} : { sharesOutstanding })
  }
}

export type SymbolRowWire = ReturnType<typeof wireSchemas>["symbols"]["Type"][number]

/**
 * Finnhub's security types (lower-cased: its spelling varies) as Polygon's codes. A REIT's shares are common stock;
 * limited partnerships have no code of their own. Types not here are left out rather than guessed.
 */
const securityTypes: Readonly<Record<string, SecurityType>> = {
  "common stock": "CS",
  reit: "CS",
  etp: "ETF",
  adr: "ADRC",
  gdr: "GDR",
  preference: "PFD",
  "preferred stock": "PFD",
  "closed-end fund": "FUND",
  "open-end fund": "FUND",
  "mutual fund": "FUND",
  unit: "UNIT",
  right: "RIGHT",
  warrant: "WARRANT",
  "ltd part": "OTHER",
  mlp: "OTHER"
}

/** Polygon's code for a Finnhub security type; `undefined` for one we do not know. */
export const securityTypeOf = (type: string | null | undefined): SecurityType | undefined => {
  const key = typeof type === "string" ? type.trim().toLowerCase() : ""
  return Object.hasOwn(securityTypes, key) ? securityTypes[key] : undefined
}

/**
 * One `/stock/symbol` row as symbol metadata; `undefined` when its ticker is not a symbol. Finnhub lists only what
 * trades now, so every row is active.
 */
export function symbolMeta(kit: PluginHost["kit"], row: SymbolRowWire): SymbolMeta | undefined {
  const symbol = kit.parseSymbol(row.symbol)
  if (symbol === undefined) return undefined
  const type = securityTypeOf(row.type)
  return {
    symbol,
    ...(present(row.description) ? { name: row.description } : {}),
    // A MIC is four letters or digits (ISO 10383); anything else is left out, not stored as an exchange.
    ...(present(row.mic) && /^[A-Z0-9]{4}$/u.test(row.mic) ? { exchange: row.mic } : {}),
    ...(type === undefined ? {} : { type }),
    ...(present(row.currency) ? { currency: row.currency } : {}),
    active: true
  }
}

const isDay = (text: string | undefined): text is string => text !== undefined && /^\d{4}-\d{2}-\d{2}$/u.test(text)
/** A company is never worth nothing: a zero cap or share count is a figure Finnhub does not have. */
const positive = (n: number | undefined): n is number => n !== undefined && n > 0

/** A listed symbol with its profile's detail fields added; a missing profile (`{}`) adds nothing. */
export function withProfile(meta: SymbolMeta, p: CompanyProfile | undefined): SymbolMeta {
  if (p === undefined) return meta
  return {
    ...meta,
    ...(positive(p.marketCap) ? { marketCap: p.marketCap } : {}),
    ...(positive(p.sharesOutstanding) ? { sharesOutstanding: p.sharesOutstanding } : {}),
    // `finnhubIndustry` is a sector-sized label ("Technology", "Banking"), not an industry.
    ...(p.industry === undefined ? {} : { sector: p.industry }),
    ...(isDay(p.ipo) ? { listDate: p.ipo } : {}),
    ...(p.currency === undefined ? {} : { currency: p.currency })
  }
}

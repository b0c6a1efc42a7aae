/**
 * `loadOhlcv`'s options: what a caller may pass (times as a `Date`, epoch ms or New York wall-clock strings, symbols,
 * columns, a session filter, the data dir) and their resolution into the one shape the rest of the load works with.
 * Everything is checked here, before any path is built: a bad value is a `UsageError` naming it.
 */
import { join, resolve } from "node:path"
import process from "node:process"
import { Effect } from "effect"
import { dayNumber, newYorkOffsetMinutes } from "../../domain/calendar.ts"
import type { AdjustMode } from "../../domain/corporate-action.ts"
import { UsageError } from "../../domain/errors.ts"
import { parseSymbol, type Symbol } from "../../domain/symbol.ts"
import { type Timeframe, timeframes } from "../../domain/timeframe.ts"
import { lakeRoots } from "../layout.ts"

/** The value columns `loadOhlcv` can return; `symbol` and `ts` always come. */
export const ohlcvColumns = ["open", "high", "low", "close", "volume", "trade_count", "vwap", "is_partial"] as const
export type OhlcvColumn = (typeof ohlcvColumns)[number]

/** A point in time: a `Date`, UTC epoch milliseconds, `YYYY-MM-DD` (New York midnight) or an ISO date-time. */
export type TimeInput = Date | number | string

/** Which bars to keep: everything stored (`all`), or only those starting inside the NYSE session of their day. */
export type SessionFilter = "regular" | "extended" | "all"

export interface LoadOhlcvOptions<C extends OhlcvColumn = OhlcvColumn> {
  /** One ticker or several (`BRK/B` is read as `BRK.B`); duplicates are dropped. */
  readonly symbols: string | ReadonlyArray<string>
  /** First bar start included. */
  readonly start: TimeInput
  /** First bar start excluded: the range is `[start, end)`. */
  readonly end: TimeInput
  /** Default `1m`. */
  readonly timeframe?: Timeframe | undefined
  /** Value columns to read (default: all of {@link ohlcvColumns}); `symbol` and `ts` always come. */
  readonly columns?: ReadonlyArray<C> | undefined
  /**
   * Default `all` (whatever is stored). `regular` keeps bars starting in 09:30–16:00 New York (13:00 on early
   * closes) on NYSE trading days; `extended` keeps 04:00–20:00 (17:00 on early closes).
   */
  readonly session?: SessionFilter | undefined
  /** Default `$MARKETPIPE_DATA_DIR`, else `./data`, relative to the working directory. */
  readonly dataDir?: string | undefined
  /**
   * Read the lake as it was at this time: every file as the version then in place (kept by later rewrites), files
   * written later left out. Needs the repository's manifest of file versions.
   */
  readonly asOf?: TimeInput | undefined
  /** The repository holding the manifest, for `asOf`: default `$DATABASE_URL`, else the data dir's SQLite file. */
  readonly databaseUrl?: string | undefined
  /**
   * Default `none`: prices as the provider sent them (the lake is raw). `split` divides prices (and multiplies
   * volume) by the cumulative ratio of every later split; `all` also applies cash dividends (`1 − dividend / previous
   * close`). Uses the corporate actions in the repository (`marketpipe actions refresh`), only those known at `asOf`
   * when it is given.
   */
  readonly adjust?: AdjustMode | undefined
}

const DAY_MS = 86_400_000

const isoDate = /^(\d{4})-(\d{2})-(\d{2})$/u
const wallClock = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?$/u
const withZone = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/iu

const realDate = (day: string): boolean => {
  const n = Date.parse(`${day}T00:00:00Z`)
  return Number.isFinite(n) && new Date(n).toISOString().slice(0, 10) === day
}

/** UTC ms of a New York wall-clock time. Before 02:00 the previous day's offset holds (DST switches at 02:00). */
const newYorkWallClock = (day: string, hour: number, minute: number, second: number, ms: number): number => {
  const n = dayNumber(day)
  const offset = newYorkOffsetMinutes(hour < 2 ? n - 1 : n)
  return n * DAY_MS + ((hour * 60 + minute + offset) * 60 + second) * 1000 + ms
}

/** Resolves a {@link TimeInput} to UTC epoch milliseconds. */
export function resolveTime(field: string, value: TimeInput): number {
  const bad = (what: string) =>
    new UsageError({
      field,
      reason: `${what} is not a time: use a Date, epoch milliseconds, YYYY-MM-DD (New York midnight), a New York wall-clock time YYYY-MM-DDTHH:mm, or an ISO date-time with Z or an offset`
    })
  if (value instanceof Date) {
    const t = value.getTime()
    if (!Number.isFinite(t)) throw bad("an invalid Date")
    return t
  }
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw bad(String(value))
    return value
  }
  if (typeof value !== "string") throw bad(`a ${typeof value}`)
  const s = value.trim()
  if (isoDate.test(s)) {
    if (!realDate(s)) throw bad(JSON.stringify(value))
    return newYorkWallClock(s, 0, 0, 0, 0)
  }
  const wall = wallClock.exec(s)
  if (wall !== null) {
    const [, day = "", h = "0", m = "0", sec = "0", frac = "0"] = wall
    const [hour, minute, second] = [Number(h), Number(m), Number(sec)]
    if (!realDate(day) || hour > 23 || minute > 59 || second > 59) throw bad(JSON.stringify(value))
    return newYorkWallClock(day, hour, minute, second, Number(frac.padEnd(3, "0")))
  }
  if (withZone.test(s)) {
    const t = Date.parse(s)
    if (Number.isFinite(t)) return t
  }
  throw bad(JSON.stringify(value))
}

const symbolRule = "a ticker of 1-15 characters: A-Z, 0-9, '.', '-' (share classes as BRK.B, BRK-B or BRK/B)"

function resolveSymbols(raw: string | ReadonlyArray<string>): Array<Symbol> {
  const list = typeof raw === "string" ? [raw] : raw
  if (!Array.isArray(list))
    throw new UsageError({ field: "symbols", reason: "expected a string or an array of strings" })
  const out = new Set<Symbol>()
  for (const s of list as ReadonlyArray<unknown>) {
    const symbol = typeof s === "string" ? parseSymbol(s) : undefined
    if (symbol === undefined) {
      throw new UsageError({ field: "symbols", reason: `${JSON.stringify(s)} is not a valid symbol (${symbolRule})` })
    }
    out.add(symbol)
  }
  return [...out].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}

function resolveColumns<C extends OhlcvColumn>(raw: ReadonlyArray<C> | undefined): Array<C> {
  if (raw === undefined) return [...ohlcvColumns] as Array<C>
  if (!Array.isArray(raw)) throw new UsageError({ field: "columns", reason: "expected an array of column names" })
  const known: ReadonlyArray<string> = ohlcvColumns
  const out: Array<C> = []
  for (const c of raw as ReadonlyArray<unknown>) {
    if (c === "ts" || c === "symbol") continue
    if (typeof c !== "string" || !known.includes(c)) {
      throw new UsageError({
        field: "columns",
        reason: `unknown column ${JSON.stringify(c)} (choose from ${ohlcvColumns.join(", ")}; ts and symbol always come)`
      })
    }
    if (!out.includes(c as C)) out.push(c as C)
  }
  return out
}

/** Options resolved: symbols valid and sorted, times in UTC ms, the lake's bars root as an absolute path. */
export interface Resolved<C extends OhlcvColumn> {
  readonly symbols: ReadonlyArray<Symbol>
  readonly start: number
  readonly end: number
  readonly timeframe: Timeframe
  readonly columns: ReadonlyArray<C>
  readonly session: SessionFilter
  readonly lake: string
  /** UTC ms of `asOf`, when the read is as of a past time. */
  readonly asOf?: number | undefined
  readonly databaseUrl: string
  readonly adjust: AdjustMode
  /** The data dir itself (the lake is `<dataDir>/ohlcv`). */
  readonly dataDir: string
}

export function resolveOptions<C extends OhlcvColumn>(options: LoadOhlcvOptions<C>): Resolved<C> {
  if (typeof options !== "object" || options === null) {
    throw new UsageError({ field: "options", reason: "expected { symbols, start, end, ... }" })
  }
  const timeframe = options.timeframe ?? "1m"
  if (!(timeframes as ReadonlyArray<string>).includes(timeframe)) {
    throw new UsageError({
      field: "timeframe",
      reason: `${JSON.stringify(timeframe)} is not a timeframe (choose from ${timeframes.join(", ")})`
    })
  }
  const session = options.session ?? "all"
  if (session !== "all" && session !== "regular" && session !== "extended") {
    throw new UsageError({ field: "session", reason: `${JSON.stringify(session)}: choose regular, extended or all` })
  }
  const env = process.env.MARKETPIPE_DATA_DIR
  const dataDir = options.dataDir ?? (env !== undefined && env !== "" ? env : "data")
  const url = options.databaseUrl ?? process.env.DATABASE_URL
  const adjust = options.adjust ?? "none"
  if (adjust !== "none" && adjust !== "split" && adjust !== "all") {
    throw new UsageError({ field: "adjust", reason: `${JSON.stringify(adjust)}: choose none, split or all` })
  }
  const root = resolve(process.cwd(), dataDir)
  return {
    symbols: resolveSymbols(options.symbols),
    start: resolveTime("start", options.start),
    end: resolveTime("end", options.end),
    timeframe,
    columns: resolveColumns(options.columns),
    session,
    lake: lakeRoots(root).ohlcv,
    dataDir: root,
    adjust,
    ...(options.asOf === undefined ? {} : { asOf: resolveTime("asOf", options.asOf) }),
    databaseUrl:
      url !== undefined && url !== "" ? url : `sqlite:${join(resolve(process.cwd(), dataDir), "marketpipe.db")}`
  }
}

/** {@link resolveOptions} as an Effect. */
export const resolveLoadOptions = <C extends OhlcvColumn>(
  options: LoadOhlcvOptions<C>
): Effect.Effect<Resolved<C>, UsageError> =>
  Effect.try({
    try: () => resolveOptions(options),
    catch: (e) => (e instanceof UsageError ? e : new UsageError({ field: "options", reason: String(e) }))
  })

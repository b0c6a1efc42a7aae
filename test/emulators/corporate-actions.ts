/**
 * The emulator's corporate actions: one register every provider's splits and dividends endpoints answer from, and the
 * rule that makes the dataset's raw bars show the splits. Symbols are fictional, so no other test's market changes:
 * - `SPLT`: a 4-for-1 forward split, ex-date 2024-06-10;
 * - `RVRS`: a 1-for-10 reverse split, ex-date 2024-06-10;
 * - `DIVQ`: regular quarterly dividends of 0.24 USD (ex 2024-02-09, 05-10, 08-09, 11-08) and a special one of 1.00 USD
 *   (ex 2024-12-16). The record date is the next trading day after the ex-date, the pay date a week after it,
 *   the declaration two weeks before it.
 *
 * The generated series is the split-adjusted (continuous) one. Raw bars, as the day traded, are the continuous ones
 * with every later split undone: on days before a split's ex-date prices are multiplied by its ratio to/from (×4 for
 * SPLT, ×0.1 for RVRS) and volume divided by it. Dividends are never applied to any bar.
 */
import { makeCalendar } from "../../mod.ts"
import { addDays, previousTradingDay as previousIn } from "../../src/domain/calendar.ts"
import type { EmulatedBar } from "./dataset.ts"

export interface RegisteredSplit {
  readonly kind: "split"
  readonly symbol: string
  /** The first trading day on the new basis. */
  readonly exDate: string
  /** Old shares … */
  readonly from: number
  /** … become this many new ones. */
  readonly to: number
  /** When the holders entitled were fixed, and when the new shares were issued (Alpaca sends both). */
  readonly recordDate: string
  readonly payDate: string
}

export interface RegisteredDividend {
  readonly kind: "dividend"
  readonly symbol: string
  readonly exDate: string
  /** Cash per share, as paid. */
  readonly amount: number
  readonly currency: string
  readonly recordDate: string
  readonly payDate: string
  readonly declarationDate: string
  readonly special: boolean
}

export type RegisteredAction = RegisteredSplit | RegisteredDividend

const calendar = makeCalendar()
/** The last trading day before a day. */
const previousOf = previousIn(calendar)

/** The first trading day after `day`. */
function nextTradingDay(day: string): string {
  for (let d = addDays(day, 1); ; d = addDays(d, 1)) if (calendar.isTradingDay(d)) return d
}

const dividend = (symbol: string, exDate: string, amount: number, special: boolean): RegisteredDividend => ({
  kind: "dividend",
  symbol,
  exDate,
  amount,
  currency: "USD",
  recordDate: nextTradingDay(exDate),
  payDate: addDays(exDate, 7),
  declarationDate: addDays(exDate, -14),
  special
})

/** Every action the emulator knows, sorted by ex-date, then symbol. */
export const corporateActions: ReadonlyArray<RegisteredAction> = [
  dividend("DIVQ", "2024-02-09", 0.24, false),
  dividend("DIVQ", "2024-05-10", 0.24, false),
  // A forward split's holders of record get the new shares before the ex-date; a reverse split happens at once.
  {
    kind: "split",
    symbol: "RVRS",
    exDate: "2024-06-10",
    from: 10,
    to: 1,
    recordDate: "2024-06-10",
    payDate: "2024-06-10"
  },
  {
    kind: "split",
    symbol: "SPLT",
    exDate: "2024-06-10",
    from: 1,
    to: 4,
    recordDate: "2024-06-03",
    payDate: previousOf("2024-06-10") as string
  },
  dividend("DIVQ", "2024-08-09", 0.24, false),
  dividend("DIVQ", "2024-11-08", 0.24, false),
  dividend("DIVQ", "2024-12-16", 1, true)
]

export interface ActionFilter {
  /** Only these symbols; `undefined`: every one. */
  readonly symbols?: ReadonlySet<string> | undefined
  readonly kinds?: ReadonlySet<RegisteredAction["kind"]> | undefined
  /** Inclusive bounds on `dateOf(action)` (the ex-date unless said otherwise); `undefined`: open. */
  readonly from?: string | undefined
  readonly to?: string | undefined
  readonly dateOf?: (action: RegisteredAction) => string
}

/** The register's actions that pass `filter`, in register order. */
export function actionsWhere(filter: ActionFilter): Array<RegisteredAction> {
  const dateOf = filter.dateOf ?? ((a: RegisteredAction) => a.exDate)
  return corporateActions.filter((a) => {
    const date = dateOf(a)
    return (
      (filter.symbols === undefined || filter.symbols.has(a.symbol)) &&
      (filter.kinds === undefined || filter.kinds.has(a.kind)) &&
      (filter.from === undefined || date >= filter.from) &&
      (filter.to === undefined || date <= filter.to)
    )
  })
}

/** A split's price ratio to/from: prices before its ex-date are this many times the continuous ones in raw bars. */
export const splitRatio = (s: RegisteredSplit): number => s.to / s.from

/**
 * How a trading day's raw bars of `symbol` differ from the continuous ones: prices times `price`, volume times
 * `volume`; `undefined` when they are the same (no split of the symbol has a later ex-date).
 */
export function rawFactors(
  symbol: string,
  day: string
): { readonly price: number; readonly volume: number } | undefined {
  let ratio = 1
  for (const a of corporateActions)
    if (a.kind === "split" && a.symbol === symbol && day < a.exDate) ratio *= splitRatio(a)
  return ratio === 1 ? undefined : { price: ratio, volume: 1 / ratio }
}

/** Prices to 6 decimals: exact for the dataset's 4-decimal prices times 4 or 0.1, without the float noise. */
const price = (p: number, factor: number) => Math.round(p * factor * 1e6) / 1e6

/**
 * One day's continuous bars as they traded raw. Volume is rounded to a whole share count, at least 1 (a bar that
 * traded traded something); trade counts do not change with a split.
 */
export function toRaw(
  bars: ReadonlyArray<EmulatedBar>,
  factors: { readonly price: number; readonly volume: number }
): Array<EmulatedBar> {
  const f = factors.price
  return bars.map((b) => ({
    t: b.t,
    o: price(b.o, f),
    h: price(b.h, f),
    l: price(b.l, f),
    c: price(b.c, f),
    v: Math.max(1, Math.round(b.v * factors.volume)),
    n: b.n,
    vw: price(b.vw, f)
  }))
}

/**
 * The emulator's listings: one company register every provider's reference endpoints answer from, with a history.
 * It holds a delisting (TWTR), a rename (FB became META on 2022-06-09: the old ticker is delisted that day and the
 * new one listed, the same company), a new listing (ARM, 2023), an ETF and an ADR, and one listing whose source
 * leaves most fields out (ZXZZT, a test-like ticker with no name, exchange or type). Prices come from the bar
 * dataset, so market caps move with the bars the same emulator serves.
 */
import { addDays, dayNumber, newYorkToUtc } from "../../src/domain/calendar.ts"
import type { Dataset } from "./dataset.ts"

export interface Listing {
  readonly ticker: string
  readonly name?: string
  /** Primary exchange MIC. */
  readonly mic?: string
  /** Polygon's type code. */
  readonly type?: string
  readonly sic?: string
  readonly sicDescription?: string
  /** Finnhub's industry, the closest any source comes to a sector. */
  readonly industry?: string
  readonly shares?: number
  /** `YYYY-MM-DD`, first trading day. */
  readonly listDate: string
  /** `YYYY-MM-DD`: the first day it no longer traded. */
  readonly delistDate?: string
  readonly compositeFigi?: string
  readonly cik?: string
}

export const listings: ReadonlyArray<Listing> = [
  {
    ticker: "A",
    name: "Agilent Technologies Inc.",
    mic: "XNYS",
    type: "CS",
    sic: "3826",
    sicDescription: "LABORATORY ANALYTICAL INSTRUMENTS",
    industry: "Life Sciences Tools & Services",
    shares: 293_000_000,
    listDate: "1999-11-18",
    compositeFigi: "BBG000C2V3D6",
    cik: "0001090872"
  },
  {
    ticker: "AAPL",
    name: "Apple Inc.",
    mic: "XNAS",
    type: "CS",
    sic: "3571",
    sicDescription: "ELECTRONIC COMPUTERS",
    industry: "Technology",
    shares: 15_441_881_000,
    listDate: "1980-12-12",
    compositeFigi: "BBG000B9XRY4",
    cik: "0000320193"
  },
  {
    ticker: "ARM",
    name: "Arm Holdings plc American Depositary Shares",
    mic: "XNAS",
    type: "ADRC",
    sic: "3674",
    sicDescription: "SEMICONDUCTORS & RELATED DEVICES",
    industry: "Semiconductors",
    shares: 1_025_000_000,
    listDate: "2023-09-14",
    compositeFigi: "BBG01HFVYYK1",
    cik: "0001973239"
  },
  {
    ticker: "FB",
    name: "Meta Platforms, Inc. Class A Common Stock",
    mic: "XNAS",
    type: "CS",
    sic: "7370",
    sicDescription: "SERVICES-COMPUTER PROGRAMMING, DATA PROCESSING, ETC.",
    industry: "Media",
    shares: 2_700_000_000,
    listDate: "2012-05-18",
    delistDate: "2022-06-09",
    compositeFigi: "BBG000MM2P62",
    cik: "0001326801"
  },
  {
    ticker: "JPM",
    name: "JPMorgan Chase & Co.",
    mic: "XNYS",
    type: "CS",
    sic: "6021",
    sicDescription: "NATIONAL COMMERCIAL BANKS",
    industry: "Banking",
    shares: 2_870_000_000,
    listDate: "1969-03-05",
    compositeFigi: "BBG000DMBXR2",
    cik: "0000019617"
  },
  {
    ticker: "META",
    name: "Meta Platforms, Inc. Class A Common Stock",
    mic: "XNAS",
    type: "CS",
    sic: "7370",
    sicDescription: "SERVICES-COMPUTER PROGRAMMING, DATA PROCESSING, ETC.",
    industry: "Media",
    shares: 2_540_000_000,
    listDate: "2022-06-09",
    compositeFigi: "BBG000MM2P62",
    cik: "0001326801"
  },
  {
    ticker: "MSFT",
    name: "Microsoft Corp",
    mic: "XNAS",
    type: "CS",
    sic: "7372",
    sicDescription: "SERVICES-PREPACKAGED SOFTWARE",
    industry: "Technology",
    shares: 7_430_000_000,
    listDate: "1986-03-13",
    compositeFigi: "BBG000BPH459",
    cik: "0000789019"
  },
  {
    ticker: "SPY",
    name: "SPDR S&P 500 ETF Trust",
    mic: "ARCX",
    type: "ETF",
    shares: 1_010_000_000,
    listDate: "1993-01-29",
    compositeFigi: "BBG000BDTBL9"
  },
  {
    ticker: "TWTR",
    name: "Twitter, Inc. Common Stock",
    mic: "XNYS",
    type: "CS",
    sic: "7370",
    sicDescription: "SERVICES-COMPUTER PROGRAMMING, DATA PROCESSING, ETC.",
    industry: "Media",
    shares: 765_000_000,
    listDate: "2013-11-07",
    delistDate: "2022-11-08",
    compositeFigi: "BBG000H6HNW3",
    cik: "0001418091"
  },
  { ticker: "ZXZZT", listDate: "2010-01-04" }
]

/** Whether the listing traded on `day` (`YYYY-MM-DD`): listed by then and not yet delisted. */
export const listedOn = (l: Listing, day: string): boolean =>
  l.listDate <= day && (l.delistDate === undefined || day < l.delistDate)

/** Whether the listing had been delisted by `day`. */
export const delistedBy = (l: Listing, day: string): boolean => l.delistDate !== undefined && l.delistDate <= day

export const listingOf = (ticker: string): Listing | undefined => listings.find((l) => l.ticker === ticker)

/**
 * The listing's last regular-session close on or before `day` (looking back up to ten days), from the bar dataset;
 * `undefined` when it did not trade in that time.
 */
export function closeOnOrBefore(dataset: Dataset, l: Listing, day: string): number | undefined {
  for (let back = 0; back < 10; back++) {
    const d = addDays(day, -back)
    if (!listedOn(l, d)) continue
    const n = dayNumber(d)
    const last = dataset.bars(l.ticker, newYorkToUtc(n, 0, 0), newYorkToUtc(n + 1, 0, 0), false).at(-1)
    if (last !== undefined) return last.c
  }
  return undefined
}

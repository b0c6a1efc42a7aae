/**
 * Session-anchored aggregation of 1-minute bars. Buckets start at the session open in New York (09:30, or 04:00 for
 * the extended session): 5m–1h every n minutes from the open, 4h as open–+4h and +4h–close, 1d as the whole
 * session. Bars are labelled by their bucket's start. A bucket is partial when an early close cuts it short or when
 * minutes inside it have no bar.
 */
import { type BarBatch, emptyBatch } from "./bar.ts"
import type { Session, SessionKind } from "./calendar.ts"

const MINUTE = 60_000
/** Length of a full (not early-closing) session. */
const fullSessionMinutes: Record<SessionKind, number> = { regular: 390, extended: 960 }

export interface Bucket {
  readonly start: number
  /** End of the bucket on this day (exclusive). */
  readonly end: number
  /** End the bucket would have on a full session day. */
  readonly nominalEnd: number
}

export function sessionBuckets(session: Session, kind: SessionKind, frameMinutes: number): Array<Bucket> {
  const nominalClose = session.open + fullSessionMinutes[kind] * MINUTE
  if (frameMinutes >= 1440) return [{ start: session.open, end: session.close, nominalEnd: nominalClose }]
  const out: Array<Bucket> = []
  for (let start = session.open; start < session.close; start += frameMinutes * MINUTE) {
    out.push({
      start,
      end: Math.min(start + frameMinutes * MINUTE, session.close),
      nominalEnd: Math.min(start + frameMinutes * MINUTE, nominalClose)
    })
  }
  return out
}

/**
 * Aggregates one session's 1-minute bars (sorted by ts) into `frameMinutes` buckets. Bars outside the session are
 * ignored; buckets with no bar produce no row. VWAP is volume-weighted over the minute VWAPs and unknown (NaN) when
 * any traded minute has none; trade counts add up and are unknown only when no minute reports one.
 */
export function aggregateSession(bars: BarBatch, session: Session, kind: SessionKind, frameMinutes: number): BarBatch {
  const buckets = sessionBuckets(session, kind, frameMinutes)
  const n = buckets.length
  const open = new Float64Array(n)
  const high = new Float64Array(n).fill(Number.NEGATIVE_INFINITY)
  const low = new Float64Array(n).fill(Number.POSITIVE_INFINITY)
  const close = new Float64Array(n)
  const volume = new Float64Array(n)
  const pv = new Float64Array(n)
  const trades = new Float64Array(n).fill(Number.NaN)
  const minutes = new Uint32Array(n)
  const vwapUnknown = new Uint8Array(n)
  const span = frameMinutes >= 1440 ? Number.POSITIVE_INFINITY : frameMinutes * MINUTE
  for (let i = 0; i < bars.ts.length; i++) {
    const ts = bars.ts[i] as number
    if (ts < session.open || ts >= session.close) continue
    const k = span === Number.POSITIVE_INFINITY ? 0 : Math.floor((ts - session.open) / span)
    if (minutes[k] === 0) open[k] = bars.open[i] as number
    minutes[k] = (minutes[k] as number) + 1
    high[k] = Math.max(high[k] as number, bars.high[i] as number)
    low[k] = Math.min(low[k] as number, bars.low[i] as number)
    close[k] = bars.close[i] as number
    const v = bars.volume[i] as number
    volume[k] = (volume[k] as number) + v
    const vw = bars.vwap[i] as number
    if (Number.isNaN(vw)) {
      if (v > 0) vwapUnknown[k] = 1
    } else pv[k] = (pv[k] as number) + vw * v
    const tc = bars.tradeCount[i] as number
    if (!Number.isNaN(tc)) trades[k] = (Number.isNaN(trades[k] as number) ? 0 : (trades[k] as number)) + tc
  }
  const filled = buckets.map((_, k) => k).filter((k) => (minutes[k] as number) > 0)
  const out = { ...emptyBatch(bars.symbol, filled.length), partial: new Uint8Array(filled.length) }
  filled.forEach((k, j) => {
    const b = buckets[k] as Bucket
    out.ts[j] = b.start
    out.open[j] = open[k] as number
    out.high[j] = high[k] as number
    out.low[j] = low[k] as number
    out.close[j] = close[k] as number
    out.volume[j] = volume[k] as number
    out.tradeCount[j] = trades[k] as number
    out.vwap[j] =
      vwapUnknown[k] === 1 || (volume[k] as number) === 0 ? Number.NaN : (pv[k] as number) / (volume[k] as number)
    const expectedMinutes = (b.end - b.start) / MINUTE
    out.partial[j] = b.end < b.nominalEnd || (minutes[k] as number) < expectedMinutes ? 1 : 0
  })
  return out
}

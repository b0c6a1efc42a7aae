/**
 * The bar rule set. Each rule has a severity (configurable, `validation.rules` in the config): `error` keeps the
 * bar out of the lake and sends it to quarantine, `warning` keeps it and reports it, `off` skips the rule. Structural
 * rules (non-finite values, duplicate or out-of-order timestamps) are always errors: such bars cannot be stored.
 * A rule judges single bars, never a batch: one bad bar must not take good bars of the same symbol with it.
 */
import { type BarBatch, selectRows } from "./bar.ts"
import type { SplitRule } from "./split-check.ts"

export const configurableRules = [
  "ohlc_consistency",
  "non_positive_price",
  "negative_volume",
  "misaligned_timestamp",
  "outside_session",
  "zero_volume_price_move",
  "price_jump",
  "volume_spike",
  "session_gap"
] as const
export const structuralRules = ["non_finite_value", "duplicate_timestamp", "out_of_order_timestamp"] as const

export type ConfigurableRule = (typeof configurableRules)[number]
/** `suspected_split` and `split_mismatch` (`split-check.ts`) judge days against corporate actions: always warnings. */
export type Rule = ConfigurableRule | (typeof structuralRules)[number] | SplitRule
export type Severity = "error" | "warning" | "off"

export interface RuleSettings {
  readonly severity: Readonly<Record<ConfigurableRule, Severity>>
  /** `price_jump`: relative move of the open against the previous close (0.5 = 50%). */
  readonly jumpThreshold: number
  /** `volume_spike`: volume above this many times the trailing median. */
  readonly spikeFactor: number
  /** `volume_spike`: bars in the trailing window. */
  readonly spikeWindow: number
  /** `session_gap`: report gaps of at least this many minutes between bars of one session. */
  readonly gapMinutes: number
}

export const defaultRuleSettings: RuleSettings = {
  severity: {
    ohlc_consistency: "error",
    non_positive_price: "error",
    negative_volume: "error",
    misaligned_timestamp: "error",
    outside_session: "error",
    zero_volume_price_move: "warning",
    price_jump: "warning",
    volume_spike: "warning",
    session_gap: "warning"
  },
  jumpThreshold: 0.5,
  spikeFactor: 10,
  spikeWindow: 30,
  gapMinutes: 15
}

export interface Finding {
  readonly symbol: string
  readonly ts: number
  readonly rule: Rule
  readonly severity: "error" | "warning"
  readonly detail: string
  readonly open: number
  readonly high: number
  readonly low: number
  readonly close: number
  readonly volume: number
}

export interface ValidationResult {
  /** Bars that go to the lake (warnings included). */
  readonly clean: BarBatch
  /** Bars that go to quarantine, and the error rules each broke (comma-separated). */
  readonly quarantined: BarBatch
  readonly quarantineRules: ReadonlyArray<string>
  readonly findings: ReadonlyArray<Finding>
}

export interface ValidationContext {
  /** Bars start on multiples of this (ms). */
  readonly alignMs: number
  /** The session window a bar start must fall in (any session of its day, extended hours included). */
  readonly sessionOf: (ts: number) => { readonly open: number; readonly close: number } | undefined
  /** Bar length, for gaps between bars (ms). */
  readonly frameMs: number
  readonly settings?: RuleSettings
}

/**
 * A sorted window for trailing medians: O(window) per bar instead of sorting each time. The window and its sorted
 * copy live in typed arrays (a ring and a sorted prefix), so a bar moves numbers and allocates nothing.
 */
export function trailingMedian(window: number) {
  const capacity = Math.max(0, window)
  const ring = new Float64Array(capacity)
  const order = new Float64Array(capacity)
  let head = 0
  let size = 0
  /** First index in `order` whose value is not below `x`. */
  const lowerBound = (x: number) => {
    let lo = 0
    let hi = size
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((order[mid] as number) < x) lo = mid + 1
      else hi = mid
    }
    return lo
  }
  return {
    median: () => (size === 0 ? Number.NaN : (order[size >> 1] as number)),
    size: () => size,
    push: (x: number) => {
      if (capacity === 0) return
      if (size === capacity) {
        // The oldest value leaves the window: drop one copy of it from the sorted prefix.
        const at = lowerBound(ring[head] as number)
        order.copyWithin(at, at + 1, size)
        size--
      }
      const at = lowerBound(x)
      order.copyWithin(at + 1, at, size)
      order[at] = x
      size++
      ring[head] = x
      head = (head + 1) % capacity
    }
  }
}

/** Runs every rule over one symbol's bars (in the order received). */
export function validateBars(batch: BarBatch, ctx: ValidationContext): ValidationResult {
  const settings = ctx.settings ?? defaultRuleSettings
  const sev = settings.severity
  const keep: Array<number> = []
  const quarantine: Array<number> = []
  const quarantineRules: Array<string> = []
  const findings: Array<Finding> = []
  const volumes = trailingMedian(settings.spikeWindow)
  let lastTs = Number.NEGATIVE_INFINITY
  let prevClose = Number.NaN
  let prevSessionOpen = Number.NaN
  let cached: { readonly open: number; readonly close: number } | undefined
  // The current bar and the error rules it broke, shared by every iteration: no closure or arrays per bar, since a
  // batch is hundreds of thousands of bars and almost all of them break nothing.
  let ts = 0
  let o = 0
  let h = 0
  let l = 0
  let c = 0
  let v = 0
  const errors: Array<Rule> = []
  const report = (rule: Rule, severity: Severity, detail: string) => {
    if (severity === "off") return
    findings.push({ symbol: batch.symbol, ts, rule, severity, detail, open: o, high: h, low: l, close: c, volume: v })
    if (severity === "error") errors.push(rule)
  }
  for (let i = 0; i < batch.ts.length; i++) {
    ts = batch.ts[i] as number
    o = batch.open[i] as number
    h = batch.high[i] as number
    l = batch.low[i] as number
    c = batch.close[i] as number
    v = batch.volume[i] as number
    errors.length = 0
    const finite =
      Number.isFinite(ts) &&
      Number.isFinite(o) &&
      Number.isFinite(h) &&
      Number.isFinite(l) &&
      Number.isFinite(c) &&
      Number.isFinite(v)
    if (!finite) report("non_finite_value", "error", "a value is not a finite number")
    else if (ts === lastTs) report("duplicate_timestamp", "error", "same bar start as the previous bar")
    else if (ts < lastTs) report("out_of_order_timestamp", "error", "earlier than the previous bar")
    else {
      if (o <= 0 || h <= 0 || l <= 0 || c <= 0)
        report("non_positive_price", sev.non_positive_price, "a price is zero or negative")
      if (l > Math.min(o, c) || h < Math.max(o, c) || l > h)
        report("ohlc_consistency", sev.ohlc_consistency, "low/high do not bound open/close")
      if (v < 0) report("negative_volume", sev.negative_volume, `volume ${v}`)
      if (ts % ctx.alignMs !== 0)
        report("misaligned_timestamp", sev.misaligned_timestamp, `not on a ${ctx.alignMs / 60_000}-minute boundary`)
      // Bars come in time order: the previous bar's session usually holds this one too (one lookup a day).
      const session = cached !== undefined && ts >= cached.open && ts < cached.close ? cached : ctx.sessionOf(ts)
      cached = session
      // Overlap, not containment: a daily bar stamped at midnight, or an hourly one at 09:00, covers the session.
      if (session === undefined || ts >= session.close || ts + ctx.frameMs <= session.open) {
        report("outside_session", sev.outside_session, "outside every trading session of its day")
      }
      if (v === 0 && (h !== l || o !== c))
        report("zero_volume_price_move", sev.zero_volume_price_move, "price moved with no volume")
      if (Number.isFinite(prevClose) && prevClose > 0 && Math.abs(o / prevClose - 1) > settings.jumpThreshold) {
        report(
          "price_jump",
          sev.price_jump,
          `open ${o} is ${((o / prevClose - 1) * 100).toFixed(1)}% from the previous close ${prevClose}`
        )
      }
      const median = volumes.median()
      if (volumes.size() >= Math.min(settings.spikeWindow, 10) && median > 0 && v > settings.spikeFactor * median) {
        report(
          "volume_spike",
          sev.volume_spike,
          `volume ${v} is ${(v / median).toFixed(1)}x the trailing median ${median}`
        )
      }
      if (
        session !== undefined &&
        session.open === prevSessionOpen &&
        ts - lastTs >= settings.gapMinutes * 60_000 + ctx.frameMs
      ) {
        report(
          "session_gap",
          sev.session_gap,
          `${Math.round((ts - lastTs - ctx.frameMs) / 60_000)} minutes without a bar before this one`
        )
      }
      prevSessionOpen = session?.open ?? Number.NaN
    }
    if (errors.length === 0) {
      keep.push(i)
      lastTs = ts
      prevClose = c
      volumes.push(v)
    } else {
      quarantine.push(i)
      quarantineRules.push(errors.join(","))
      // A structurally sound but rejected bar still fixes the order for the next ones.
      if (Number.isFinite(ts) && ts > lastTs) lastTs = ts
    }
  }
  return {
    clean: keep.length === batch.ts.length ? batch : selectRows(batch, keep),
    quarantined: selectRows(batch, quarantine),
    quarantineRules,
    findings
  }
}

/** Core checks only, with no session information (kept for callers that validate loose bars). */
export function validateBatch(batch: BarBatch, frameMs: number) {
  const result = validateBars(batch, {
    alignMs: frameMs,
    frameMs,
    sessionOf: () => ({ open: Number.NEGATIVE_INFINITY, close: Number.POSITIVE_INFINITY }),
    settings: {
      ...defaultRuleSettings,
      severity: {
        ...defaultRuleSettings.severity,
        zero_volume_price_move: "off",
        price_jump: "off",
        volume_spike: "off",
        session_gap: "off"
      }
    }
  })
  return { clean: result.clean, rejected: result.findings.filter((f) => f.severity === "error") }
}

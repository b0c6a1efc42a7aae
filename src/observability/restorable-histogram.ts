/**
 * A prom-client histogram that can start from stored totals. prom-client's `Histogram` only grows by `observe`, so
 * the totals of past runs (bucket counts, sum, count per label set) are kept beside it as a baseline and added to
 * what it reports: `get()` (which the registry renders) is the live histogram's output plus the baseline, and label
 * sets only the baseline knows are rendered from it alone. The live histogram is not registered anywhere; this
 * object is, under the histogram's name.
 */
import { Histogram, type LabelValues, type Metric, type MetricValueWithName, type Registry } from "prom-client"

/** One stored sample of a histogram: `<name>_bucket` (with `le`), `<name>_sum` or `<name>_count`. */
export interface HistogramSample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

interface Baseline {
  readonly labels: Record<string, string>
  /** Cumulative count per upper bound, as stored (`+Inf` as Infinity). */
  readonly buckets: Map<number, number>
  sum: number
  count: number
}

export interface RestorableHistogramConfig<L extends string> {
  readonly name: string
  readonly help: string
  readonly labelNames: ReadonlyArray<L>
  readonly buckets: ReadonlyArray<number>
  readonly registers: ReadonlyArray<Registry>
}

const upperBound = (le: string | number | undefined): number | undefined => {
  if (le === "+Inf") return Number.POSITIVE_INFINITY
  const n = typeof le === "number" ? le : Number(le)
  return le === undefined || le === "" || !Number.isFinite(n) ? undefined : n
}

export class RestorableHistogram<L extends string = string> {
  readonly name: string
  readonly help: string
  readonly type = "histogram" as const
  readonly aggregator = "sum" as const
  readonly labelNames: ReadonlyArray<L>
  readonly buckets: ReadonlyArray<number>
  private readonly live: Histogram<L>
  private readonly liveKeys = new Set<string>()
  private readonly baseline = new Map<string, Baseline>()

  constructor(config: RestorableHistogramConfig<L>) {
    this.name = config.name
    this.help = config.help
    this.labelNames = config.labelNames
    this.buckets = [...config.buckets].sort((a, b) => a - b)
    this.live = new Histogram({
      name: config.name,
      help: config.help,
      labelNames: [...config.labelNames],
      buckets: [...this.buckets],
      registers: []
    })
    // The registry only needs name, help, type, get() and reset(); it is typed for its own classes.
    for (const r of config.registers) r.registerMetric(this as unknown as Metric)
  }

  /** The label set's identity: its values in `labelNames` order (`le` and unknown labels left out). */
  private keyOf(labels: Readonly<Record<string, string | number | undefined>>): string {
    return JSON.stringify(this.labelNames.map((n) => (labels[n] === undefined ? "" : String(labels[n]))))
  }

  private own(labels: Readonly<Record<string, string | number | undefined>>): Record<string, string> {
    const out: Record<string, string> = {}
    for (const n of this.labelNames) if (labels[n] !== undefined) out[n] = String(labels[n])
    return out
  }

  observe(labels: LabelValues<L>, value: number): void {
    this.live.observe(labels, value)
    this.liveKeys.add(this.keyOf(labels))
  }

  /** Makes the label set exist at zero (all buckets), unless it already has observations or a baseline. */
  zero(labels: LabelValues<L>): void {
    const key = this.keyOf(labels)
    if (this.liveKeys.has(key) || this.baseline.has(key)) return
    this.live.zero(labels)
    this.liveKeys.add(key)
  }

  /** Adds one stored sample (`_bucket`, `_sum` or `_count`) to the baseline; false when it is not this histogram's. */
  restore(sample: HistogramSample): boolean {
    const suffix = sample.name.startsWith(this.name) ? sample.name.slice(this.name.length) : undefined
    if (suffix !== "_bucket" && suffix !== "_sum" && suffix !== "_count") return false
    if (!Number.isFinite(sample.value)) return false
    const bound = suffix === "_bucket" ? upperBound(sample.labels.le) : undefined
    if (suffix === "_bucket" && bound === undefined) return false
    const key = this.keyOf(sample.labels)
    let base = this.baseline.get(key)
    if (base === undefined) {
      base = { labels: this.own(sample.labels), buckets: new Map(), sum: 0, count: 0 }
      this.baseline.set(key, base)
    }
    if (bound !== undefined) base.buckets.set(bound, (base.buckets.get(bound) ?? 0) + sample.value)
    else if (suffix === "_sum") base.sum += sample.value
    else base.count += sample.value
    return true
  }

  /**
   * The baseline's cumulative count at `bound`. Stored bounds that are no longer buckets are dropped; a bucket added
   * since takes the count of the largest stored bound below it, which keeps the buckets cumulative.
   */
  private baselineAt(base: Baseline, bound: number): number {
    if (bound === Number.POSITIVE_INFINITY) return base.buckets.get(bound) ?? base.count
    let best = 0
    for (const [b, n] of base.buckets) if (b <= bound && b !== Number.POSITIVE_INFINITY) best = Math.max(best, n)
    return best
  }

  private baselineValue(base: Baseline, v: MetricValueWithName<string>): number {
    if (v.metricName === `${this.name}_sum`) return base.sum
    if (v.metricName === `${this.name}_count`) return base.count
    const bound = upperBound(v.labels.le)
    return bound === undefined ? 0 : this.baselineAt(base, bound)
  }

  private rendered(base: Baseline): Array<MetricValueWithName<string>> {
    const bucket = (le: number | string, value: number) => ({
      labels: { le, ...base.labels },
      value,
      metricName: `${this.name}_bucket`
    })
    return [
      ...this.buckets.map((b) => bucket(b, this.baselineAt(base, b))),
      bucket("+Inf", this.baselineAt(base, Number.POSITIVE_INFINITY)),
      { labels: { ...base.labels }, value: base.sum, metricName: `${this.name}_sum` },
      { labels: { ...base.labels }, value: base.count, metricName: `${this.name}_count` }
    ]
  }

  /** Live values plus the baseline, in prom-client's shape (what the registry renders). */
  async get() {
    const own = await this.live.get()
    if (this.baseline.size === 0) return own
    const values: Array<MetricValueWithName<string>> = []
    for (const v of own.values) {
      const base = this.baseline.get(this.keyOf(v.labels))
      values.push(base === undefined ? v : { ...v, value: v.value + this.baselineValue(base, v) })
    }
    for (const [key, base] of this.baseline) if (!this.liveKeys.has(key)) values.push(...this.rendered(base))
    return { ...own, values }
  }

  /** Forgets observations and the baseline. */
  reset(): void {
    this.live.reset()
    this.liveKeys.clear()
    this.baseline.clear()
  }
}

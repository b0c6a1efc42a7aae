/**
 * The Grafana dashboard and the Prometheus alert rules only name metrics and labels MarketPipe really exports.
 * A live scrape comes from in-process runs that make every series exist: an Alpaca ingest through the emulator with
 * 5xx faults and a tight rate limit (errors, retries, rate-limit waits), a fake-provider ingest with broken bars and
 * missing minutes (quarantined and warned bars), a backfill (gaps found and filled), then the ledger gauges. Every
 * PromQL expression (panel targets, template variables, annotations, alert rules) is scanned for metric names and
 * label names, and each must be in that scrape. `grafana-prometheus.test.ts` goes further with a real Prometheus:
 * every expression must return series there, after CLI runs and through `metrics serve`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { Effect, Option } from "effect"
import { parse } from "yaml"
import { makeCalendar } from "../../src/domain/calendar.ts"
import { refreshLedgerGauges } from "../../src/observability/history.ts"
import { makeMetrics, metricNames } from "../../src/observability/metrics.ts"
import { sqliteLayer } from "../../src/repository/layer.ts"
import { alpacaEnv, type Emulator, startEmulator } from "../emulators/server.ts"
import { backfillFlags, backfillIn } from "../support/backfill.ts"
import { capture } from "../support/capture.ts"
import { ingestFlags, ingestIn } from "../support/ingest.ts"
import { runServices } from "../support/run-services.ts"
import { removeDir, tempDir } from "../support/temp.ts"

const grafanaDir = resolve(import.meta.dir, "../../grafana")
const readText = (name: string) => readFileSync(join(grafanaDir, name), "utf8")

// ------------------------------------------------------------------------------------------------ the scrape

/** What the scrape says about one series name (a histogram gives three: `_bucket`, `_sum`, `_count`). */
interface SeriesInfo {
  readonly family: string
  readonly type: string
  readonly labels: Set<string>
  samples: number
}

type Scrape = Map<string, SeriesInfo>

/** Label names of one sample line's `{...}` (values may hold `,`, `}` and escaped quotes). */
const sampleLabelNames = (line: string, open: number): Array<string> => {
  const names: Array<string> = []
  let i = open + 1
  while (i < line.length) {
    while (line[i] === " " || line[i] === ",") i++
    if (line[i] === "}") break
    const name = /^[a-zA-Z_][a-zA-Z0-9_]*/u.exec(line.slice(i))?.[0]
    if (name === undefined || line[i + name.length] !== "=" || line[i + name.length + 1] !== '"') {
      throw new Error(`unreadable labels in exposition line: ${line}`)
    }
    names.push(name)
    i += name.length + 2
    while (i < line.length && line[i] !== '"') i += line[i] === "\\" ? 2 : 1
    i++
  }
  return names
}

/** Parses the Prometheus text exposition into series name -> family, type and label names. */
function parseExposition(text: string): Scrape {
  const scrape: Scrape = new Map()
  const register = (name: string, family: string, type: string, labels: ReadonlyArray<string> = []) => {
    if (!scrape.has(name)) scrape.set(name, { family, type, labels: new Set(labels), samples: 0 })
  }
  for (const raw of text.split("\n")) {
    const line = raw.trim()
    if (line === "") continue
    if (line.startsWith("#")) {
      const typed = /^#\s+TYPE\s+(\S+)\s+(\S+)/u.exec(line)
      if (typed === null) continue
      const [, family = "", type = ""] = typed
      if (type === "histogram") {
        register(`${family}_bucket`, family, type, ["le"])
        register(`${family}_sum`, family, type)
        register(`${family}_count`, family, type)
      } else if (type === "summary") {
        register(family, family, type, ["quantile"])
        register(`${family}_sum`, family, type)
        register(`${family}_count`, family, type)
      } else {
        register(family, family, type)
      }
      continue
    }
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/u.exec(line)?.[0]
    if (name === undefined) throw new Error(`unreadable exposition line: ${line}`)
    register(name, name, "untyped")
    const info = scrape.get(name) as SeriesInfo
    info.samples++
    if (line[name.length] === "{") for (const label of sampleLabelNames(line, name.length)) info.labels.add(label)
  }
  return scrape
}

// ------------------------------------------------------------------------------------------------ PromQL scanner

interface Token {
  readonly kind: "ident" | "string" | "number" | "range" | "var" | "punct"
  readonly text: string
}

const functions = new Set(
  [
    "abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes clamp clamp_max",
    "clamp_min cos cosh count_over_time day_of_month day_of_week day_of_year days_in_month deg delta deriv",
    "double_exponential_smoothing exp floor histogram_avg histogram_count histogram_fraction histogram_quantile",
    "histogram_stddev histogram_stdvar histogram_sum holt_winters hour idelta increase info irate label_join",
    "label_replace last_over_time ln log10 log2 mad_over_time max_over_time min_over_time minute month pi",
    "predict_linear present_over_time quantile_over_time rad rate resets round scalar sgn sin sinh sort",
    "sort_by_label sort_by_label_desc sort_desc sqrt stddev_over_time stdvar_over_time sum_over_time tan tanh",
    "time timestamp vector year start end"
  ]
    .join(" ")
    .split(" ")
)
const aggregations = new Set(
  "sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio".split(" ")
)
const groupingKeywords = new Set(["by", "without", "on", "ignoring", "group_left", "group_right"])
const otherKeywords = new Set(["and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"])

function tokenize(expr: string): Array<Token> {
  const tokens: Array<Token> = []
  let i = 0
  const take = (re: RegExp): string | undefined => {
    re.lastIndex = i
    const m = re.exec(expr)
    return m === null ? undefined : m[0]
  }
  while (i < expr.length) {
    const c = expr[i] as string
    if (/\s/u.test(c)) {
      i++
      continue
    }
    if (c === "#") {
      while (i < expr.length && expr[i] !== "\n") i++
      continue
    }
    if (c === '"' || c === "'" || c === "`") {
      let j = i + 1
      while (j < expr.length && expr[j] !== c) j += expr[j] === "\\" && c !== "`" ? 2 : 1
      if (j >= expr.length) throw new Error(`unterminated string at ${i}`)
      tokens.push({ kind: "string", text: expr.slice(i + 1, j) })
      i = j + 1
      continue
    }
    if (c === "[") {
      const j = expr.indexOf("]", i)
      if (j < 0) throw new Error(`unterminated range at ${i}`)
      tokens.push({ kind: "range", text: expr.slice(i, j + 1) })
      i = j + 1
      continue
    }
    if (c === "$") {
      const v = take(/\$(?:\{[^}]*\}|[a-zA-Z0-9_]+)/uy)
      if (v === undefined) throw new Error(`stray $ at ${i}`)
      tokens.push({ kind: "var", text: v })
      i += v.length
      continue
    }
    const number = take(/(?:\d|\.\d)[0-9a-zA-Z_.]*/uy)
    if (number !== undefined) {
      tokens.push({ kind: "number", text: number })
      i += number.length
      continue
    }
    const ident = take(/[a-zA-Z_:][a-zA-Z0-9_:]*/uy)
    if (ident !== undefined) {
      tokens.push({ kind: "ident", text: ident })
      i += ident.length
      continue
    }
    const op = take(/=~|!~|!=|==|>=|<=|[{}(),=<>+\-*/%^@]/uy)
    if (op === undefined) throw new Error(`unexpected character ${JSON.stringify(c)} at ${i}`)
    tokens.push({ kind: "punct", text: op })
    i += op.length
  }
  return tokens
}

interface Matcher {
  readonly label: string
  readonly op: string
  readonly value: string
}

interface Selector {
  readonly metric: string
  readonly matchers: Array<Matcher>
}

interface ScanResult {
  readonly selectors: Array<Selector>
  /** Labels named in by/without/on/ignoring/group_left/group_right clauses. */
  readonly grouping: Array<{ readonly clause: string; readonly label: string }>
}

/** Finds the metric selectors (name and label matchers) and grouping labels of one PromQL expression. */
function scanPromQL(expr: string): ScanResult {
  const tokens = tokenize(expr)
  const selectors: Array<Selector> = []
  const grouping: Array<{ clause: string; label: string }> = []
  const isPunct = (t: Token | undefined, text: string) => t?.kind === "punct" && t.text === text

  /** Reads `{label op "value", ...}` from tokens[open]; returns the matchers and the index of `}`. */
  const matchersAt = (open: number): { matchers: Array<Matcher>; close: number } => {
    const matchers: Array<Matcher> = []
    let i = open + 1
    while (!isPunct(tokens[i], "}")) {
      const label = tokens[i]
      const op = tokens[i + 1]
      const value = tokens[i + 2]
      if (
        label?.kind !== "ident" ||
        op?.kind !== "punct" ||
        !["=", "!=", "=~", "!~"].includes(op.text) ||
        (value?.kind !== "string" && value?.kind !== "var")
      ) {
        throw new Error(`unreadable label matcher near token ${i}`)
      }
      matchers.push({ label: label.text, op: op.text, value: value.text })
      i += 3
      if (isPunct(tokens[i], ",")) i++
      else if (!isPunct(tokens[i], "}")) throw new Error(`expected , or } after a label matcher near token ${i}`)
    }
    return { matchers, close: i }
  }

  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as Token
    const next = tokens[i + 1]
    if (isPunct(t, "{")) {
      const { matchers, close } = matchersAt(i)
      const name = matchers.find((m) => m.label === "__name__" && m.op === "=")
      if (name === undefined) throw new Error("a selector without a metric name cannot be checked")
      selectors.push({ metric: name.value, matchers: matchers.filter((m) => m !== name) })
      i = close
      continue
    }
    if (t.kind !== "ident") continue
    const word = t.text.toLowerCase()
    if (groupingKeywords.has(word)) {
      if (!isPunct(next, "(")) continue
      let j = i + 2
      while (!isPunct(tokens[j], ")")) {
        const label = tokens[j]
        if (label?.kind !== "ident") throw new Error(`unreadable ${word} (...) clause`)
        grouping.push({ clause: word, label: label.text })
        j++
        if (isPunct(tokens[j], ",")) j++
      }
      i = j
      continue
    }
    if (otherKeywords.has(word)) continue
    if (functions.has(word) && isPunct(next, "(")) continue
    if (
      aggregations.has(word) &&
      (isPunct(next, "(") || (next?.kind === "ident" && ["by", "without"].includes(next.text.toLowerCase())))
    ) {
      continue
    }
    if (isPunct(next, "{")) {
      const { matchers, close } = matchersAt(i + 1)
      selectors.push({ metric: t.text, matchers })
      i = close
    } else {
      selectors.push({ metric: t.text, matchers: [] })
    }
  }
  return { selectors, grouping }
}

/** Grafana's `label_values(selector, label)` / `label_values(label)` / `query_result(expr)`, or plain PromQL. */
const grafanaQuery = (query: string): { promql: string | undefined; label: string | undefined } => {
  const labelValues = /^\s*label_values\(\s*(?:(.*)\s*,\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$/su.exec(query)
  if (labelValues !== null) return { promql: labelValues[1], label: labelValues[2] }
  const result = /^\s*query_result\((.*)\)\s*$/su.exec(query)
  if (result !== null) return { promql: result[1], label: undefined }
  return { promql: query, label: undefined }
}

/** Labels Prometheus attaches to every scraped series itself (for legends and alert templates only). */
const targetLabels = new Set(["instance", "job"])

interface Expression {
  /** "panel 'CPU usage' target A", "alert MarketPipeStaleData", ... */
  readonly where: string
  readonly query: string
  /** `{{label}}` in a legend or `$labels.label` in alert annotations. */
  readonly templateLabels: ReadonlyArray<string>
}

/** Everything wrong with one expression against the scrape, as readable messages (empty when it is fine). */
function checkExpression(e: Expression, scrape: Scrape): Array<string> {
  const problems: Array<string> = []
  const say = (what: string) => problems.push(`${e.where}: ${what}\n    in: ${e.query.trim()}`)
  const { promql, label } = grafanaQuery(e.query)
  let scanned: ScanResult
  try {
    scanned = promql === undefined ? { selectors: [], grouping: [] } : scanPromQL(promql)
  } catch (error) {
    say(`cannot scan the expression: ${(error as Error).message}`)
    return problems
  }
  const known = scanned.selectors.flatMap((s) => {
    const info = scrape.get(s.metric)
    return info === undefined ? [] : [{ selector: s, info }]
  })
  const allLabels = new Set(known.flatMap(({ info }) => [...info.labels]))
  for (const s of scanned.selectors) {
    const info = scrape.get(s.metric)
    if (info === undefined) {
      const histogram = scrape.get(`${s.metric}_bucket`)
      say(
        histogram === undefined
          ? `unknown metric "${s.metric}" (not in the scrape)`
          : `"${s.metric}" is a histogram: use ${s.metric}_bucket, _sum or _count`
      )
      continue
    }
    const labelled = s.matchers.filter((m) => m.label !== "__name__")
    if (labelled.length > 0 && info.samples === 0) {
      say(`no series of "${s.metric}" in the scrape to check its labels against (the test setup must produce one)`)
      continue
    }
    for (const m of labelled) {
      if (!info.labels.has(m.label)) {
        say(`unknown label "${m.label}" on "${s.metric}" (its labels: ${[...info.labels].join(", ") || "none"})`)
      }
    }
  }
  // With an unknown metric its labels are unknown too: the grouping and template checks would only add noise.
  if (known.length < scanned.selectors.length) return problems
  for (const g of scanned.grouping) {
    if (!allLabels.has(g.label))
      say(`unknown label "${g.label}" in ${g.clause} (...): no metric of the expression has it`)
  }
  if (label !== undefined) {
    const pool = promql === undefined ? new Set([...scrape.values()].flatMap((i) => [...i.labels])) : allLabels
    if (!pool.has(label)) say(`unknown label "${label}" in label_values(...)`)
  }
  for (const l of e.templateLabels) {
    if (!allLabels.has(l) && !targetLabels.has(l)) say(`template names label "${l}", which no metric of it has`)
  }
  return problems
}

// ------------------------------------------------------------------------------------------------ the files

interface Target {
  readonly refId?: string
  readonly expr?: string
  readonly legendFormat?: string
}

interface Panel {
  readonly type: string
  readonly title?: string
  readonly targets?: ReadonlyArray<Target>
  readonly panels?: ReadonlyArray<Panel>
  readonly fieldConfig?: { readonly defaults?: { readonly unit?: string } }
}

interface Dashboard {
  readonly title: string
  readonly uid: string
  readonly schemaVersion: number
  readonly panels: ReadonlyArray<Panel>
  readonly templating: {
    readonly list: ReadonlyArray<{
      readonly name: string
      readonly type: string
      readonly query?: string | { readonly query?: string }
      readonly definition?: string
      readonly multi?: boolean
      readonly includeAll?: boolean
    }>
  }
  readonly annotations?: { readonly list: ReadonlyArray<{ readonly name: string; readonly expr?: string }> }
}

interface AlertRule {
  readonly alert?: string
  readonly record?: string
  readonly expr: string
  readonly for?: string
  readonly labels?: Record<string, string>
  readonly annotations?: Record<string, string>
}

const dashboard = JSON.parse(readText("marketpipe_dashboard.json")) as Dashboard
const alertRules = (parse(readText("alerts.yml")) as { groups: Array<{ name: string; rules: Array<AlertRule> }> })
  .groups
const prometheusConfig = parse(readText("prometheus.yml")) as {
  global?: { scrape_interval?: string }
  rule_files?: Array<string>
  scrape_configs: Array<{
    job_name: string
    scrape_interval?: string
    metrics_path?: string
    static_configs: Array<{ targets: Array<string> }>
  }>
}

/** Every panel, rows' nested panels included. */
const allPanels = (list: ReadonlyArray<Panel>): Array<Panel> => list.flatMap((p) => [p, ...allPanels(p.panels ?? [])])

const legendLabels = (legend: string | undefined) =>
  [...(legend ?? "").matchAll(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/gu)].map((m) => m[1] as string)

const dashboardExpressions = (): Array<Expression & { readonly panel: boolean }> => [
  ...allPanels(dashboard.panels).flatMap((p) =>
    (p.targets ?? []).map((t) => ({
      where: `panel "${p.title}" target ${t.refId ?? "?"}`,
      query: t.expr ?? "",
      templateLabels: legendLabels(t.legendFormat),
      panel: true
    }))
  ),
  ...dashboard.templating.list
    .filter((v) => v.type === "query")
    .map((v) => ({
      where: `template variable $${v.name}`,
      query: typeof v.query === "string" ? v.query : (v.query?.query ?? v.definition ?? ""),
      templateLabels: [],
      panel: false
    })),
  ...(dashboard.annotations?.list ?? [])
    .filter((a) => a.expr !== undefined)
    .map((a) => ({ where: `annotation "${a.name}"`, query: a.expr ?? "", templateLabels: [], panel: false }))
]

const alertExpressions = (): Array<Expression> =>
  alertRules.flatMap((g) =>
    g.rules.map((r) => ({
      where: `alert rule ${r.alert ?? r.record ?? "?"} (group ${g.name})`,
      query: r.expr,
      templateLabels: Object.values(r.annotations ?? {}).flatMap((text) =>
        [...text.matchAll(/\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)/gu)].map((m) => m[1] as string)
      )
    }))
  )

// ------------------------------------------------------------------------------------------------ live scrape

let emulator: Emulator
let cwd = ""
let scrape: Scrape = new Map()

beforeAll(async () => {
  cwd = tempDir("mp-grafana-")
  writeFileSync(
    join(cwd, "marketpipe.yaml"),
    [
      "config_version: 1",
      "providers:",
      "  fake: { invalid_every: 50, missing_rate: 0.05 }",
      "  alpaca: { rate_limit: { requests: 5, per_seconds: 1 }, retry_base_ms: 5, page_limit: 500 }",
      "validation: { gap_minutes: 1 }",
      ""
    ].join("\n")
  )
  emulator = await startEmulator({ rateLimits: { alpaca: { requests: 5, perSeconds: 1 } } })
  emulator.setFaults({ error5xxRate: 0.3 })
  const emulatorEnv = alpacaEnv(emulator)
  // One registry for the three runs, as a long-lived process would hold; the scrape below reads it.
  const metrics = makeMetrics()
  await capture(() =>
    ingestIn(
      cwd,
      ingestFlags({
        symbols: "AAPL,MSFT",
        start: "2024-03-04",
        end: "2024-03-08",
        provider: Option.some("alpaca"),
        feed: Option.some("sip")
      }),
      emulatorEnv,
      runServices(metrics)
    )
  )
  await capture(() =>
    ingestIn(cwd, ingestFlags({ symbols: "SPY", start: "2024-03-04", end: "2024-03-06" }), {}, runServices(metrics))
  )
  await backfillIn(
    cwd,
    backfillFlags({ symbols: Option.some("QQQ"), from: Option.some("2024-03-04"), to: Option.some("2024-03-06") }),
    {},
    runServices(metrics)
  )
  await Effect.runPromise(
    refreshLedgerGauges(metrics, makeCalendar()).pipe(Effect.provide(sqliteLayer(join(cwd, "data", "marketpipe.db"))))
  )
  scrape = parseExposition(await metrics.registry.metrics())
}, 120_000)

afterAll(async () => {
  await emulator?.stop()
  if (cwd !== "") removeDir(cwd)
})

// ------------------------------------------------------------------------------------------------ tests

describe("the PromQL scanner", () => {
  test("finds metrics, matchers and grouping labels; skips functions, keywords, durations, strings and variables", () => {
    const r = scanPromQL(
      'histogram_quantile(0.99, sum by (le, provider) (rate(x_bucket{provider=~"$provider", feed!="a,b"}[$__rate_interval])))' +
        " / on (provider) group_left (feed) max without (frame) (y offset 1d) > bool 2 and z unless sum(w)"
    )
    expect(r.selectors).toEqual([
      {
        metric: "x_bucket",
        matchers: [
          { label: "provider", op: "=~", value: "$provider" },
          { label: "feed", op: "!=", value: "a,b" }
        ]
      },
      { metric: "y", matchers: [] },
      { metric: "z", matchers: [] },
      { metric: "w", matchers: [] }
    ])
    expect(r.grouping.map((g) => `${g.clause}:${g.label}`)).toEqual([
      "by:le",
      "by:provider",
      "on:provider",
      "group_left:feed",
      "without:frame"
    ])
    expect(scanPromQL('{__name__="up", job="a"}').selectors).toEqual([
      { metric: "up", matchers: [{ label: "job", op: "=", value: "a" }] }
    ])
  })

  test("reports unknown metrics, labels, histogram base names and label_values labels, naming where", () => {
    const fake = parseExposition(
      [
        "# TYPE a_total counter",
        'a_total{provider="p",feed="f"} 1',
        "# TYPE h_seconds histogram",
        'h_seconds_bucket{le="1",provider="p"} 1',
        'h_seconds_sum{provider="p"} 1',
        'h_seconds_count{provider="p"} 1',
        "# TYPE empty_total counter",
        ""
      ].join("\n")
    )
    const check = (query: string, templateLabels: Array<string> = []) =>
      checkExpression({ where: "panel X", query, templateLabels }, fake)
    expect(check('sum by (provider, le) (rate(h_seconds_bucket{provider="p"}[5m]))')).toEqual([])
    expect(check('a_total{provider="p", frame="1m"}')[0]).toContain('panel X: unknown label "frame" on "a_total"')
    expect(check("rate(b_total[5m])")[0]).toContain('unknown metric "b_total"')
    expect(check("h_seconds")[0]).toContain("is a histogram")
    expect(check("sum by (rule) (a_total)")[0]).toContain('unknown label "rule" in by (...)')
    expect(check('h_seconds_sum{le="1"}')[0]).toContain('unknown label "le"')
    expect(check('empty_total{provider="p"}')[0]).toContain("no series")
    expect(check("label_values(a_total, status)")[0]).toContain('unknown label "status" in label_values')
    expect(check("a_total", ["provider", "instance"])).toEqual([])
    expect(check("a_total", ["state"])[0]).toContain('label "state"')
    expect(check("a_total{provider=p}")[0]).toContain("cannot scan")
  })
})

describe("grafana/ against a live scrape", () => {
  test("the scrape holds every MarketPipe metric with its labels, and prom-client's process metrics", () => {
    for (const name of Object.values(metricNames)) {
      const present = scrape.has(name) || scrape.has(`${name}_bucket`)
      expect(present, name).toBe(true)
    }
    const seriesOf = (name: string) => scrape.get(name)?.samples ?? 0
    // The setup must make these series exist, or their labels could not be checked.
    for (const name of [
      metricNames.requests,
      metricNames.errors,
      `${metricNames.latency}_bucket`,
      metricNames.retries,
      metricNames.rateLimitWaits,
      metricNames.rateLimitWaitSeconds,
      metricNames.barsIngested,
      metricNames.barsQuarantined,
      metricNames.barsWarned,
      metricNames.partitions,
      metricNames.gapsFound,
      metricNames.gapsFilled,
      metricNames.jobs,
      metricNames.completeness,
      metricNames.freshness,
      metricNames.buildInfo,
      "process_cpu_seconds_total",
      "process_resident_memory_bytes"
    ]) {
      expect(seriesOf(name), name).toBeGreaterThan(0)
    }
    expect([...(scrape.get(`${metricNames.latency}_bucket`)?.labels ?? [])].sort()).toEqual(["feed", "le", "provider"])
    expect([...(scrape.get(metricNames.barsQuarantined)?.labels ?? [])].sort()).toEqual([
      "feed",
      "frame",
      "provider",
      "rule"
    ])
  })

  test("every PromQL expression of the dashboard and the alert rules names only exported metrics and labels", () => {
    const expressions = [...dashboardExpressions(), ...alertExpressions()]
    expect(expressions.length).toBeGreaterThan(30)
    for (const e of expressions) expect(e.query.trim(), e.where).not.toBe("")
    const problems = expressions.flatMap((e) => checkExpression(e, scrape))
    expect(problems.join("\n")).toBe("")
  })

  test("every provider series in a panel is filtered by $provider and $feed", () => {
    const problems: Array<string> = []
    for (const e of dashboardExpressions().filter((x) => x.panel)) {
      for (const s of scanPromQL(e.query).selectors) {
        if (scrape.get(s.metric)?.labels.has("provider") !== true) continue
        const has = (label: string) =>
          s.matchers.some((m) => m.label === label && m.op === "=~" && m.value === `$${label}`)
        if (!has("provider") || !has("feed")) problems.push(`${e.where}: ${s.metric} without provider/feed filters`)
      }
    }
    expect(problems).toEqual([])
  })
})

describe("grafana/marketpipe_dashboard.json", () => {
  const panels = allPanels(dashboard.panels).filter((p) => p.type !== "row")

  test("is a Grafana dashboard with a Prometheus data source variable and provider/feed variables", () => {
    expect(dashboard.uid).toBe("marketpipe")
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36)
    const vars = new Map(dashboard.templating.list.map((v) => [v.name, v]))
    expect(vars.get("DS_PROMETHEUS")?.type).toBe("datasource")
    for (const name of ["provider", "feed"]) {
      const v = vars.get(name)
      expect(v?.type, name).toBe("query")
      expect(v?.multi, name).toBe(true)
      expect(v?.includeAll, name).toBe(true)
    }
    expect(JSON.stringify(vars.get("provider")?.query)).toContain("label_values(marketpipe_provider_requests_total")
    expect(JSON.stringify(vars.get("feed")?.query)).toContain('provider=~\\"$provider\\"')
  })

  test("every panel has a title, a unit and a query", () => {
    expect(panels.length).toBeGreaterThan(15)
    for (const p of panels) {
      expect(p.title ?? "", JSON.stringify(p).slice(0, 80)).not.toBe("")
      expect(p.fieldConfig?.defaults?.unit ?? "", p.title).not.toBe("")
      expect((p.targets ?? []).length, p.title).toBeGreaterThan(0)
    }
  })

  test("has the panels the issue asks for", () => {
    const titles = panels.map((p) => (p.title ?? "").toLowerCase())
    const required: Array<[string, RegExp]> = [
      ["CPU", /cpu/u],
      ["memory", /memory/u],
      ["event-loop lag", /event.loop lag/u],
      ["request rate", /request rate/u],
      ["errors", /error/u],
      ["error ratio", /error ratio/u],
      ["latency", /latency/u],
      ["rate-limit waits", /rate.limit wait/u],
      ["ingestion throughput", /bars ingested|throughput/u],
      ["validation rejects", /quarantine|reject/u],
      ["validation warnings", /warn/u],
      ["partitions", /partitions/u],
      ["backfill gaps", /gaps/u],
      ["jobs", /jobs/u],
      ["completeness", /completeness/u],
      ["freshness", /freshness/u]
    ]
    const missing = required.filter(([, re]) => !titles.some((t) => re.test(t))).map(([name]) => name)
    expect(missing).toEqual([])
    const latency = panels.find((p) => /latency p50/iu.test(p.title ?? ""))
    const quantiles = (latency?.targets ?? []).map((t) => /histogram_quantile\(([0-9.]+)/u.exec(t.expr ?? "")?.[1])
    expect(quantiles).toEqual(["0.5", "0.95", "0.99"])
  })
})

describe("grafana/alerts.yml, prometheus.yml, provisioning and compose", () => {
  test("alerts.yml has the four alerts, each with expr, for, severity, summary and description", () => {
    const rules = alertRules.flatMap((g) => g.rules)
    expect(rules.map((r) => r.alert).sort()).toEqual([
      "MarketPipeCompletenessDrop",
      "MarketPipeProviderErrorSpike",
      "MarketPipeRateLimitSaturation",
      "MarketPipeStaleData"
    ])
    for (const r of rules) {
      expect(r.expr.trim(), r.alert).not.toBe("")
      expect(r.for ?? "", r.alert).toMatch(/^\d+[smh]$/u)
      expect(["info", "warning", "critical"], r.alert).toContain(r.labels?.severity ?? "")
      expect(r.annotations?.summary ?? "", r.alert).not.toBe("")
      expect(r.annotations?.description ?? "", r.alert).not.toBe("")
    }
  })

  test("prometheus.yml scrapes MarketPipe every 15s and loads the alert rules", () => {
    expect(prometheusConfig.rule_files).toEqual(["alerts.yml"])
    for (const file of prometheusConfig.rule_files ?? []) expect(existsSync(join(grafanaDir, file))).toBe(true)
    const job = prometheusConfig.scrape_configs.find((c) => c.job_name === "marketpipe")
    expect(job?.scrape_interval ?? prometheusConfig.global?.scrape_interval).toBe("15s")
    expect(job?.metrics_path ?? "/metrics").toBe("/metrics")
    const targets = (job?.static_configs ?? []).flatMap((s) => s.targets)
    expect(targets).toContain("worker:9464")
    expect(targets).toContain("host.docker.internal:9464")
  })

  test("provisioning and the compose sample point at files that exist, and at each other", () => {
    const datasources = parse(readText("provisioning/datasources/prometheus.yaml")) as {
      datasources: Array<{ type: string; url: string; isDefault?: boolean }>
    }
    expect(datasources.datasources[0]).toMatchObject({ type: "prometheus", url: "http://prometheus:9090" })
    const providers = parse(readText("provisioning/dashboards/marketpipe.yaml")) as {
      providers: Array<{ type: string; options: { path: string } }>
    }
    const dashboardsPath = providers.providers[0]?.options.path ?? ""
    expect(providers.providers[0]?.type).toBe("file")
    const compose = parse(readText("docker-compose.yml")) as {
      services: Record<string, { command?: Array<string> | string; volumes?: Array<string> }>
    }
    expect(Object.keys(compose.services).sort()).toEqual(["grafana", "prometheus", "worker"])
    const command = compose.services.worker?.command
    expect(Array.isArray(command) ? command.join(" ") : command).toContain("worker --follow --metrics-port 9464")
    const mounts = Object.values(compose.services).flatMap((s) => s.volumes ?? [])
    for (const mount of mounts) {
      const [source = "", target = ""] = mount.split(":")
      // Sources inside grafana/ must exist; ../dist and ../data are made by `npm run build` and the first run.
      if (source.startsWith("./")) expect(existsSync(join(grafanaDir, source)), mount).toBe(true)
      if (source === "./marketpipe_dashboard.json") expect(target.startsWith(`${dashboardsPath}/`)).toBe(true)
      if (source === "./prometheus.yml") expect(target).toBe("/etc/prometheus/prometheus.yml")
    }
    expect(mounts).toContain("./alerts.yml:/etc/prometheus/alerts.yml:ro")
    expect(mounts).toContain("./provisioning:/etc/grafana/provisioning:ro")
  })
})

/**
 * The Grafana dashboard and the alert rules against a real Prometheus, the way they are used: CLI runs end (an
 * Alpaca backfill on feed `iex` without faults, then one on `sip` through an emulator that answers 5xx and 429, with
 * a tight client rate limit, so it retries and waits), then `metrics serve` starts and a Prometheus scrapes it every
 * second. Every panel query, template variable, annotation and alert expression is evaluated by that Prometheus and
 * must return at least one series (a zero, or a NaN ratio of zeros, counts): for "All" and for each provider/feed
 * the variables offer. Latency histograms must survive the runs, and the series of things that did not happen on a
 * feed (retries and rate-limit waits on `iex`, quarantined bars) must exist at zero.
 *
 * Needs `prometheus` and `promtool` on PATH (`.ci/run` installs them); without them this file fails, it never skips.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import { type AddressInfo, createServer } from "node:net"
import { join, resolve } from "node:path"
import { parse } from "yaml"
import { alpacaEnv, type Emulator, startEmulator } from "../emulators/server.ts"
import { bunBin, mainTs, runSourceAsync } from "../support/cli.ts"
import { removeDir, tempDir } from "../support/temp.ts"

const grafanaDir = resolve(import.meta.dir, "../../grafana")
const alertsFile = join(grafanaDir, "alerts.yml")

// ------------------------------------------------------------------------------------------------ the files

interface Panel {
  readonly type: string
  readonly title?: string
  readonly targets?: ReadonlyArray<{ readonly refId?: string; readonly expr?: string }>
  readonly panels?: ReadonlyArray<Panel>
}

interface Dashboard {
  readonly panels: ReadonlyArray<Panel>
  readonly templating: {
    readonly list: ReadonlyArray<{
      readonly name: string
      readonly type: string
      readonly query?: string | { readonly query?: string }
      readonly definition?: string
      readonly allValue?: string
    }>
  }
  readonly annotations?: { readonly list?: ReadonlyArray<{ readonly name: string; readonly expr?: string }> }
}

const dashboard = JSON.parse(readFileSync(join(grafanaDir, "marketpipe_dashboard.json"), "utf8")) as Dashboard
const alertRules = (
  parse(readFileSync(alertsFile, "utf8")) as {
    groups: Array<{ name: string; rules: Array<{ alert?: string; record?: string; expr: string }> }>
  }
).groups.flatMap((g) => g.rules)

const allPanels = (list: ReadonlyArray<Panel>): Array<Panel> => list.flatMap((p) => [p, ...allPanels(p.panels ?? [])])
const panelTargets = allPanels(dashboard.panels).flatMap((p) =>
  (p.targets ?? []).map((t) => ({ where: `panel "${p.title}" target ${t.refId ?? "?"}`, expr: t.expr ?? "" }))
)
const queryVariables = dashboard.templating.list
  .filter((v) => v.type === "query")
  .map((v) => ({ name: v.name, query: typeof v.query === "string" ? v.query : (v.query?.query ?? v.definition ?? "") }))

// ------------------------------------------------------------------------------------------------ Grafana's part

/**
 * Grafana's built-in interval variables, for a 1 s scrape interval. Grafana's `$__rate_interval` would be 4 s
 * (4 × scrape); 10 s keeps two samples in the window for `rate()` even if a scrape or two of a loaded machine fail.
 */
const intervals: Record<string, string> = {
  __rate_interval: "10s",
  __interval: "1s",
  __interval_ms: "1000",
  __range: "5m",
  __range_s: "300",
  __range_ms: "300000"
}

const regexEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/gu, "\\$&")

/** What Grafana sends for a multi-value variable inside a regex matcher: `(a|b)`, or the `allValue` for "All". */
const variableValue = (values: ReadonlyArray<string> | "all") =>
  values === "all"
    ? ".*"
    : values.length === 1
      ? regexEscape(values[0] as string)
      : `(${values.map(regexEscape).join("|")})`

/** Substitutes `$name` / `${name}` / `[[name]]`; any variable left over is a test failure, not a silent pass. */
const interpolate = (expr: string, vars: Readonly<Record<string, string>>): string => {
  const all = { ...intervals, ...vars }
  const out = expr.replace(
    /\$\{([a-zA-Z0-9_]+)(?::[a-z]+)?\}|\$([a-zA-Z0-9_]+)|\[\[([a-zA-Z0-9_]+)\]\]/gu,
    (m, a, b, c) => {
      const name = (a ?? b ?? c) as string
      const value = all[name]
      if (value === undefined) throw new Error(`no value for Grafana variable ${m} in: ${expr}`)
      return value
    }
  )
  return out
}

/**
 * Turns every comparison outside label matchers into a `bool` comparison, so an alert or annotation expression keeps
 * its series (0 or 1) instead of filtering them: the test asks whether the data is there, not whether it fires.
 */
const keepSeries = (expr: string): string => {
  let out = ""
  let braces = 0
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i] as string
    if (c === '"' || c === "'" || c === "`") {
      let j = i + 1
      while (j < expr.length && expr[j] !== c) j += expr[j] === "\\" ? 2 : 1
      out += expr.slice(i, j + 1)
      i = j
      continue
    }
    if (c === "{") braces++
    if (c === "}") braces--
    const op = braces === 0 ? /^(?:==|!=|>=|<=|>|<)/u.exec(expr.slice(i))?.[0] : undefined
    if (op === undefined) {
      out += c
      continue
    }
    const rest = expr.slice(i + op.length)
    out += /^\s*bool\b/u.test(rest) ? op : /^\s/u.test(rest) ? `${op} bool` : `${op} bool `
    i += op.length - 1
  }
  return out
}

// ------------------------------------------------------------------------------------------------ processes

const children: Array<{ readonly name: string; readonly child: ChildProcess; output: string }> = []

const start = (
  name: string,
  cmd: string,
  args: ReadonlyArray<string>,
  options: { cwd: string; env?: Record<string, string> }
) => {
  const child = spawn(cmd, args, {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...options.env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  const entry = { name, child, output: "" }
  const keep = (d: unknown) => {
    entry.output = (entry.output + String(d)).slice(-20_000)
  }
  child.stdout?.on("data", keep)
  child.stderr?.on("data", keep)
  children.push(entry)
  return entry
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null

const stop = async (child: ChildProcess) => {
  if (exited(child)) return
  const gone = new Promise<void>((ok) => child.once("exit", () => ok()))
  child.kill("SIGTERM")
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
  await gone
  clearTimeout(timer)
}

const freePort = () =>
  new Promise<number>((ok, fail) => {
    const server = createServer()
    server.once("error", fail)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      server.close(() => ok(port))
    })
  })

/** Polls `check` until it returns a value (not undefined), or fails with `what` and the children's output. */
const until = async <A>(what: string, check: () => Promise<A | undefined>, timeoutMs = 60_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined) return value
    } catch (error) {
      last = error
    }
    const dead = children.find((c) => exited(c.child))
    if (dead !== undefined)
      throw new Error(`${dead.name} exited (${dead.child.exitCode}) while waiting for ${what}:\n${dead.output}`)
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}${last === undefined ? "" : ` (last error: ${String(last)})`}\n` +
          children.map((c) => `--- ${c.name}:\n${c.output}`).join("\n")
      )
    }
    await Bun.sleep(200)
  }
}

// ------------------------------------------------------------------------------------------------ Prometheus API

let promUrl = ""

interface VectorSample {
  readonly metric: Record<string, string>
  readonly value: [number, string]
}

const api = async <A>(path: string, params: Record<string, string | Array<string>>): Promise<A> => {
  const query = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) query.append(k, x)
  const res = await fetch(`${promUrl}${path}?${query}`)
  const json = (await res.json()) as { status: string; data: A; error?: string; errorType?: string }
  if (json.status !== "success") throw new Error(`${path}: ${json.errorType ?? ""} ${json.error ?? res.status}`)
  return json.data
}

const instant = async (expr: string): Promise<Array<VectorSample>> => {
  const data = await api<{ resultType: string; result: unknown }>("/api/v1/query", { query: expr })
  if (data.resultType === "scalar") {
    const [t, v] = data.result as [number, string]
    return [{ metric: {}, value: [t, v] }]
  }
  if (data.resultType !== "vector") throw new Error(`expected a vector, got ${data.resultType}`)
  return data.result as Array<VectorSample>
}

const scalar = async (expr: string): Promise<number> => {
  const r = await instant(expr)
  if (r.length !== 1) throw new Error(`${expr}: expected one series, got ${r.length}`)
  return Number(r[0]?.value[1])
}

/** Grafana's `label_values(selector, label)` as the Prometheus data source runs it (the series API). */
const labelValues = async (query: string, vars: Readonly<Record<string, string>>): Promise<Array<string>> => {
  const m = /^\s*label_values\(\s*(?:(.*?)\s*,\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$/su.exec(query)
  if (m === null) throw new Error(`not a label_values(...) query: ${query}`)
  const [, selector, label = ""] = m
  return api<Array<string>>(
    `/api/v1/label/${label}/values`,
    selector === undefined ? {} : { "match[]": interpolate(selector, vars) }
  )
}

// ------------------------------------------------------------------------------------------------ setup

let cwd = ""
let emulator: Emulator | undefined
const runs: Array<{ feed: string; code: number; stderr: string }> = []

const promtool = (...args: Array<string>) => spawnSync("promtool", args, { encoding: "utf8" })

beforeAll(async () => {
  const missing = ["prometheus", "promtool"].filter((bin) => Bun.which(bin) === null)
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(" and ")} not on PATH: this test needs a real Prometheus ` +
        "(apt-get install -y --no-install-recommends prometheus; .ci/run does it)"
    )
  }
  cwd = tempDir("mp-grafana-prom-")
  emulator = await startEmulator()
  const env = alpacaEnv(emulator)
  const backfill = async (feed: string, symbols: string, to: string) => {
    const r = await runSourceAsync(
      [
        "ohlcv",
        "backfill",
        "--provider",
        "alpaca",
        "--feed",
        feed,
        "--symbols",
        symbols,
        "--from",
        "2024-03-04",
        "--to",
        to,
        "--json"
      ],
      { cwd, env }
    )
    runs.push({ feed, code: r.code, stderr: r.stderr })
  }
  // First run of the day: a clean one on iex, with the plugin's own (generous) rate limit: no retry, no wait.
  await backfill("iex", "AAPL", "2024-03-06")
  // Second: sip through a faulty emulator and a tight client limit, so it retries and waits for tokens.
  writeFileSync(
    join(cwd, "marketpipe.yaml"),
    [
      "config_version: 1",
      "providers:",
      "  alpaca: { rate_limit: { requests: 5, per_seconds: 1 }, retry_base_ms: 5, page_limit: 500 }",
      ""
    ].join("\n")
  )
  emulator.setFaults({ error5xxRate: 0.15, error429Rate: 0.1 })
  await backfill("sip", "AAPL,MSFT", "2024-03-15")
  emulator.setFaults({})

  // The runs have ended; `metrics serve` starts from what they stored.
  const serve = start("metrics serve", bunBin, [mainTs, "metrics", "serve", "--port", "0"], { cwd })
  const metricsUrl = await until(
    "metrics serve to listen",
    async () => /metrics on (http:\/\/\S+)/u.exec(serve.output)?.[1]
  )
  const target = new URL(metricsUrl).host

  const promDir = join(cwd, "prometheus")
  const config = join(cwd, "prometheus.yml")
  writeFileSync(
    config,
    [
      "global: { scrape_interval: 1s, evaluation_interval: 1s }",
      `rule_files: [${JSON.stringify(alertsFile)}]`,
      "scrape_configs:",
      "  - job_name: marketpipe",
      "    scrape_interval: 1s",
      "    scrape_timeout: 1s",
      "    metrics_path: /metrics",
      `    static_configs: [{ targets: [${JSON.stringify(target)}] }]`,
      ""
    ].join("\n")
  )
  const checked = promtool("check", "config", config)
  if (checked.status !== 0) throw new Error(`promtool check config failed:\n${checked.stdout}${checked.stderr}`)
  // A port taken between freePort() and the bind makes Prometheus exit; try another.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    const prom = start(
      "prometheus",
      "prometheus",
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${promDir}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=warn"
      ],
      { cwd }
    )
    promUrl = `http://127.0.0.1:${port}`
    try {
      await until(
        "Prometheus to be ready",
        async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined),
        30_000
      )
      break
    } catch (error) {
      if (attempt >= 3 || !exited(prom.child)) throw error
      children.splice(children.indexOf(prom), 1)
    }
  }
  await until("the marketpipe target to be up", async () => {
    const data = await api<{ activeTargets: Array<{ health: string; lastError: string }> }>("/api/v1/targets", {})
    const t = data.activeTargets[0]
    if (t !== undefined && t.health === "down") throw new Error(`target down: ${t.lastError}`)
    return t?.health === "up" ? true : undefined
  })
  // Enough scrapes for rate() over $__rate_interval, and every alert rule evaluated at least once since.
  await until("4 successful scrapes of metrics serve", async () => {
    const n = await instant(`sum_over_time(up{job="marketpipe"}[${intervals.__rate_interval}])`)
    return Number(n[0]?.value[1] ?? 0) >= 4 ? true : undefined
  })
  await until("every alert rule evaluated", async () => {
    const data = await api<{ groups: Array<{ rules: Array<{ lastEvaluation: string }> }> }>("/api/v1/rules", {})
    const rules = data.groups.flatMap((g) => g.rules)
    return rules.length === alertRules.length && rules.every((r) => Date.parse(r.lastEvaluation) > Date.now() - 1_500)
      ? true
      : undefined
  })
}, 180_000)

afterAll(async () => {
  for (const c of [...children].reverse()) await stop(c.child)
  await emulator?.stop()
  if (cwd !== "") removeDir(cwd)
})

// ------------------------------------------------------------------------------------------------ tests

describe("the helpers", () => {
  test("keepSeries turns comparisons into bool ones, outside label matchers and strings only", () => {
    expect(keepSeries('sum(a{x!="1>2", y=~"b"}) > 0.1 and b >= bool 10 or c<3')).toBe(
      'sum(a{x!="1>2", y=~"b"}) > bool 0.1 and b >= bool 10 or c< bool 3'
    )
    expect(interpolate('rate(x{p=~"$provider"}[$__rate_interval])', { provider: "a" })).toBe('rate(x{p=~"a"}[10s])')
    expect(() => interpolate("x[$__nope]", {})).toThrow("no value")
    expect(variableValue(["a.b", "c"])).toBe("(a\\.b|c)")
  })
})

describe("grafana/ against a real Prometheus scraping metrics serve after two CLI runs", () => {
  test("promtool accepts alerts.yml and prometheus.yml", () => {
    const rules = promtool("check", "rules", alertsFile)
    expect(rules.status, rules.stdout + rules.stderr).toBe(0)
    const config = promtool("check", "config", join(grafanaDir, "prometheus.yml"))
    expect(config.status, config.stdout + config.stderr).toBe(0)
  })

  test("the runs ended (a partition may fail after its retries: exit 3), and the sip run met faults", () => {
    for (const r of runs) expect([0, 3], `${r.feed} run: ${r.stderr}`).toContain(r.code)
    const faults = emulator?.stats().faults ?? {}
    expect((faults.http5xx ?? 0) + (faults.http429 ?? 0)).toBeGreaterThan(0)
  })

  test("what the runs did is in Prometheus: latency histograms, retries and waits on sip, zeros on iex", async () => {
    for (const feed of ["iex", "sip"]) {
      const requests = await scalar(`sum(marketpipe_provider_requests_total{feed="${feed}"})`)
      expect(requests, feed).toBeGreaterThan(0)
      // Every try is timed and counted once, so the histogram's count is the request total.
      expect(await scalar(`sum(marketpipe_provider_request_duration_seconds_count{feed="${feed}"})`), feed).toBe(
        requests
      )
      expect(
        await scalar(`sum(marketpipe_provider_request_duration_seconds_bucket{feed="${feed}", le="+Inf"})`),
        feed
      ).toBe(requests)
      expect(
        await scalar(`sum(marketpipe_provider_request_duration_seconds_sum{feed="${feed}"})`),
        feed
      ).toBeGreaterThan(0)
    }
    expect(await scalar('sum(marketpipe_provider_retries_total{feed="sip"})')).toBeGreaterThan(0)
    expect(await scalar('sum(marketpipe_rate_limit_waits_total{feed="sip"})')).toBeGreaterThan(0)
    expect(await scalar('sum(marketpipe_provider_retries_total{feed="iex"})')).toBe(0)
    expect(await scalar('sum(marketpipe_rate_limit_waits_total{feed="iex"})')).toBe(0)
    expect(await scalar('sum(marketpipe_rate_limit_wait_seconds_total{feed="iex"})')).toBe(0)
    expect(await scalar('sum(marketpipe_provider_errors_total{feed="iex"})')).toBe(0)
  })

  test("every panel query returns a series, for All and for each provider and feed the variables offer", async () => {
    const [providerVar, feedVar] = ["provider", "feed"].map((n) => queryVariables.find((v) => v.name === n))
    expect(providerVar).toBeDefined()
    expect(feedVar).toBeDefined()
    const providers = await labelValues(providerVar?.query ?? "", {})
    expect(providers).toEqual(["alpaca"])
    const selections: Array<Record<string, string>> = [{ provider: variableValue("all"), feed: variableValue("all") }]
    for (const provider of providers) {
      const feeds = await labelValues(feedVar?.query ?? "", { provider: variableValue([provider]) })
      expect(feeds, provider).toEqual(["iex", "sip"])
      for (const feed of feeds) selections.push({ provider: variableValue([provider]), feed: variableValue([feed]) })
    }
    expect(panelTargets.length).toBeGreaterThan(25)
    const problems: Array<string> = []
    for (const vars of selections) {
      for (const t of panelTargets) {
        const expr = interpolate(t.expr, vars)
        try {
          if ((await instant(expr)).length === 0)
            problems.push(`${t.where} [${JSON.stringify(vars)}]: no series\n    ${expr}`)
        } catch (error) {
          problems.push(`${t.where}: ${(error as Error).message}\n    ${expr}`)
        }
      }
    }
    expect(problems.join("\n")).toBe("")
  })

  test("every alert rule and annotation has series to judge; Prometheus evaluates each rule without error", async () => {
    const expressions = [
      ...alertRules.map((r) => ({ where: `alert ${r.alert ?? r.record}`, expr: r.expr })),
      ...(dashboard.annotations?.list ?? [])
        .filter((a) => a.expr !== undefined)
        .map((a) => ({ where: `annotation "${a.name}"`, expr: interpolate(a.expr ?? "", {}) }))
    ]
    expect(expressions.length).toBe(alertRules.length + 1)
    const problems: Array<string> = []
    for (const e of expressions) {
      try {
        await instant(e.expr) // as written: must evaluate
        if ((await instant(keepSeries(e.expr))).length === 0)
          problems.push(`${e.where}: no series\n    ${keepSeries(e.expr)}`)
      } catch (error) {
        problems.push(`${e.where}: ${(error as Error).message}`)
      }
    }
    expect(problems.join("\n")).toBe("")
    const data = await api<{ groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> }>(
      "/api/v1/rules",
      {}
    )
    const rules = data.groups.flatMap((g) => g.rules)
    expect(rules.map((r) => r.name).sort()).toEqual(alertRules.map((r) => r.alert ?? r.record ?? "").sort())
    for (const r of rules) expect(r.health, `${r.name}: ${r.lastError ?? ""}`).toBe("ok")
  })
})

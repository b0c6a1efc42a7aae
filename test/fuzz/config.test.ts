/**
 * Fuzz: the config loader (`loadConfig`). Each case writes a generated YAML config into a fresh working directory and
 * loads it the way the CLI does (`--config`, `MARKETPIPE_CONFIG`, `./marketpipe.yaml`, `.env`, `--data-dir`, an
 * environment). Documents start from the config Schema's own arbitrary (`Arbitrary.schema(ConfigV1)`: valid configs)
 * and are then mutated: structural edits (wrong types, unknown keys, nesting), hostile YAML spliced in (alias bombs,
 * deep nesting, merge keys, tags, complex keys, directives, several documents, BOM, tabs, NUL), `${VAR}` references
 * with odd names and defaults, huge scalars and wide mappings, and text edits.
 *
 * Property: the load succeeds (with an absolute data dir and a sqlite:/postgres URL) or fails with a `UsageError`
 * naming a field and a reason; never a defect, never over the per-case bound, nothing written (the working directory
 * holds only what the case wrote and the data dir does not exist), and no prototype pollution.
 */
import { describe, expect, test } from "bun:test"
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { isAbsolute, join } from "node:path"
import { Arbitrary, Cause, Effect, Exit } from "effect"
import { stringify } from "yaml"
import { CONFIG_MAX_BYTES, loadConfig } from "../../src/config/load.ts"
import { ConfigV1 } from "../../src/config/schema.ts"
import { UsageError } from "../../src/domain/errors.ts"
import { useTempDirs } from "../support/temp.ts"
import {
  hostileStrings,
  type JsonMutation,
  jsonMutations,
  mutateJson,
  mutateText,
  type TextMutation,
  textMutations
} from "./mutate.ts"
import { anyIndex, CASE_TIMEOUT_MS, checkProperty, constant, int, label, oneOf, union } from "./runs.ts"

const fresh = useTempDirs("mp-fuzz-config-")

/** A data dir outside the working directory that no case may create. */
const ELSEWHERE = join(tmpdir(), `mp-fuzz-config-elsewhere-${process.pid}`)

// The yaml package reports unknown tags (`!!js/function`) and collection keys through process warnings: thousands of
// cases would flood the output, so this file drops them (the loader's result is what is checked).
const emitWarning = process.emitWarning.bind(process)
process.emitWarning = ((warning: string | Error, ...rest: Array<unknown>) =>
  (warning as { name?: unknown }).name === "YAMLWarning" || String(warning).startsWith("Keys with collection values")
    ? undefined
    : (emitWarning as (...args: Array<unknown>) => void)(warning, ...rest)) as typeof process.emitWarning

// ---------------------------------------------------------------------------------------------------------------
// Environment: variable names a config may reference, with odd ones, and values that look like what they configure

const varNames = [
  "HOME",
  "X",
  "Y",
  "A_B",
  "_",
  "a1",
  "MARKETPIPE_DATA_DIR",
  "DATABASE_URL",
  "MARKETPIPE_CONFIG",
  "MARKETPIPE_ALPACA_BASE_URL",
  "POLYGON_API_KEY"
] as const
const oddNames = ["A-B", "1X", "", "ä", "X Y", "X=Y"] as const

const envValues = [
  "lake",
  `${ELSEWHERE}/lake`,
  "sqlite:db.sqlite",
  "sqlite:",
  "sqlite::memory:",
  "postgres://u:p@localhost:5432/db",
  "postgresql://localhost",
  "postgres://",
  "postgres://u:p@h:99999/db",
  "mysql://x",
  "c.yaml",
  "marketpipe.yaml",
  "nope.yaml",
  "/dev/null",
  ".",
  "https://example.com",
  "${X}",
  ...hostileStrings.filter((s) => s.length < 100)
] as const

const envArb: Arbitrary.Arbitrary<Record<string, string>> = Arbitrary.map(
  Arbitrary.array(Arbitrary.all([oneOf([...varNames, ...varNames, ...oddNames]), oneOf(envValues)]), { maxLength: 5 }),
  (entries) => {
    const out: Record<string, string> = {}
    for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true })
    return out
  }
)

const dotEnvArb: Arbitrary.Arbitrary<string | undefined> = union<string | undefined>([
  constant(undefined),
  constant(undefined),
  Arbitrary.map(
    Arbitrary.array(
      Arbitrary.all([
        oneOf([...varNames, ...oddNames, "export X"]),
        oneOf(envValues),
        oneOf(["=", "= ", '="', "='", ":"])
      ]),
      { maxLength: 4 }
    ),
    (lines) =>
      lines.map(([k, v, eq]) => `${k}${eq}${v}${eq.endsWith('"') ? '"' : eq.endsWith("'") ? "'" : ""}`).join("\n")
  ),
  Arbitrary.map(textMutations(3), (m) => mutateText("X=1\nMARKETPIPE_CONFIG=c.yaml\nY='two words'\n", m))
])

// ---------------------------------------------------------------------------------------------------------------
// YAML snippets spliced into a document

const deepFlow = (depth: number, open: string) => {
  const close = open === "[" ? "]" : "}"
  return `retention: ${open === "[" ? "[".repeat(depth) : "{a: ".repeat(depth)}${open === "[" ? "" : "1"}${close.repeat(depth)}`
}

/** Billion laughs: `levels` anchors, each aliasing the previous one `width` times. */
const laughs = (levels: number, width: number) => {
  const lines = ["retention:", `  l0: &l0 [${Array(width).fill("lol").join(", ")}]`]
  for (let i = 1; i < levels; i++)
    lines.push(
      `  l${i}: &l${i} [${Array(width)
        .fill(`*l${i - 1}`)
        .join(", ")}]`
    )
  return lines.join("\n")
}

/** One mapping with `keys` keys (the loader must not take time quadratic in it). */
const wide = (keys: number, flow: boolean) =>
  flow
    ? `retention:\n  w: {${Array.from({ length: keys }, (_, i) => `k${i}: ${i}`).join(", ")}}`
    : `retention:\n  w:\n${Array.from({ length: keys }, (_, i) => `    k${i}: ${i}`).join("\n")}`

const staticSnippets = [
  "a: &a [x, y]\nb: *a",
  "retention: *nope",
  "retention: &self {a: *self}",
  "<<: {data_dir: merged}",
  "base: &b {data_dir: x}\n<<: *b",
  "ingest: &i {concurrency: 2}\nquery: *i",
  "data_dir: !!binary aGVsbG8=",
  "data_dir: !!js/function 'function () {}'",
  "data_dir: !custom x",
  "data_dir: !!timestamp 2024-01-01",
  "data_dir: !!int 12",
  "plugins: !!set {a, b}",
  "providers: !!omap [{a: 1}]",
  "? [a, b]\n: c",
  "? {a: 1}\n: x",
  "%YAML 1.1\n---",
  "%TAG ! tag:x,2024:\n---",
  "---\ndata_dir: other",
  "...",
  "\tdata_dir: tab",
  'data_dir: "\\0"',
  "\ufeffdata_dir: bom",
  "data_dir: 'it''s'",
  "data_dir: |\n  multi\n  line",
  "data_dir: >-\n  folded",
  "data_dir: ~",
  "data_dir: 0x10",
  "data_dir: .inf",
  "data_dir: [a, b]",
  "data_dir: {a: b}",
  "data_dir: ''",
  "config_version: 1.0",
  "config_version: 0x1",
  "config_version: 99999999999999999999",
  "config_version: -1",
  "config_version: .nan",
  "config_version: '1'",
  "config_version: 2",
  "config_version: [1]",
  "ingest: {concurrency: 1e3}",
  "ingest: {concurrency: 65}",
  "ingest: {frame: 2m, session: all}",
  "query: {memory_limit: 9999999999999999999999TB}",
  "query: {memory_limit: 63MB, threads: 0}",
  "validation: {rules: {price_jump: fatal}, volume_spike_factor: 1}",
  "calendar: {closures: [2024-02-29, 2023-02-29, 0000-01-01, 9999-12-31]}",
  "calendar: {early_closes: [2024-13-01, '2024-1-1', 20240101]}",
  "database_url: postgres://u:p@[::1",
  "database_url: postgres://u:p@h:99999/db",
  "database_url: postgres://u:secret@/db",
  "database_url: sqlite:",
  "database_url: sqlite::memory:",
  "database_url: sqlite:../../etc/passwd",
  "database_url: mysql://root@localhost/db",
  "providers: {alpaca: {base_url: 'http://x y'}}",
  "providers: {alpaca: {base_url: 'javascript:alert(1)'}}",
  "providers: {'': {}}",
  "providers: {alpaca: null}",
  "providers: {alpaca: {rate_limit: {requests: 0, per_seconds: -1}}}",
  "providers: {alpaca: {rate_limit: {requests: 1e400, per_seconds: .inf}}}",
  "providers: {alpaca: {page_limit: [1], anything: {deep: {er: [1, 2]}}}}",
  "data_dir: ${HOME}",
  "data_dir: ${}",
  "data_dir: ${A-B}",
  "data_dir: $${X}",
  "data_dir: ${X:-${Y}}",
  "data_dir: ${X:-}",
  "data_dir: '${'",
  "data_dir: ${X}${Y}${HOME}${A_B}",
  "database_url: ${DATABASE_URL:-sqlite:${HOME}/db}",
  "plugins: [../../evil.ts, 'file:///etc/passwd', 'https://x/y.ts', '', ${X}]",
  "metrics: {__proto__: {polluted: true}}",
  "__proto__: {polluted: true}",
  "constructor: {prototype: {polluted: true}}",
  "providers: {__proto__: {feed: x}}",
  "retention: {toString: 1, valueOf: 2, hasOwnProperty: 3}"
] as const

/**
 * Nesting depths and mapping widths that keep a case to milliseconds; the widest and deepest configs the size limit
 * allows have their own test below.
 */
const DEPTHS = [2, 100, 1000, 10_000] as const
const MAX_WIDE = 2_000

const snippetArb: Arbitrary.Arbitrary<string> = union<string>([
  oneOf(staticSnippets),
  oneOf(staticSnippets),
  oneOf(staticSnippets),
  Arbitrary.map(Arbitrary.all([oneOf(DEPTHS), oneOf(["[", "{"] as const)]), ([d, o]) => deepFlow(d, o)),
  Arbitrary.map(Arbitrary.all([int(2, 9), int(2, 10)]), ([levels, width]) => laughs(levels, width)),
  Arbitrary.map(Arbitrary.all([int(1, MAX_WIDE), oneOf([true, false] as const)]), ([n, flow]) => wide(n, flow)),
  Arbitrary.map(
    Arbitrary.all([oneOf(["data_dir", "database_url", "plugins", "retention"] as const), int(0, 300_000)]),
    ([key, n]) => `${key}: ${"x".repeat(n)}`
  ),
  Arbitrary.map(
    Arbitrary.all([
      oneOf(["data_dir", "database_url"] as const),
      oneOf([...varNames, ...oddNames]),
      oneOf(["", ":-", ":-x", ":-${Y}", ":-${", "}", ":=y", "-y"] as const)
    ]),
    ([key, name, tail]) => `${key}: "\${${name}${tail}}"`
  )
])

interface Splice {
  readonly snippet: string
  readonly line: number
  readonly indent: number
}

const spliceArb: Arbitrary.Arbitrary<Splice> = Arbitrary.all({
  snippet: snippetArb,
  line: anyIndex,
  indent: union([constant(0), constant(0), int(0, 6)])
})

function splice(text: string, s: Splice): string {
  const lines = text.split("\n")
  const at = s.line % (lines.length + 1)
  const pad = " ".repeat(s.indent)
  lines.splice(at, 0, ...s.snippet.split("\n").map((l) => pad + l))
  return lines.join("\n")
}

// ---------------------------------------------------------------------------------------------------------------
// A case: the document, where the loader finds it, the environment, flags

const sources = [
  "--config",
  "--config",
  "--config",
  "MARKETPIPE_CONFIG",
  "./marketpipe.yaml",
  ".env",
  "missing",
  "dir",
  "device"
] as const
type Source = (typeof sources)[number]

interface Case {
  readonly doc: unknown
  readonly mutations: ReadonlyArray<JsonMutation>
  readonly splices: ReadonlyArray<Splice>
  readonly text: ReadonlyArray<TextMutation>
  readonly source: Source
  readonly env: Record<string, string>
  readonly dotEnv: string | undefined
  readonly dataDir: string | undefined
}

const caseArb: Arbitrary.Arbitrary<Case> = Arbitrary.all({
  doc: Arbitrary.schema(ConfigV1),
  mutations: union<ReadonlyArray<JsonMutation>>([constant([]), constant([]), jsonMutations(3)]),
  splices: union<ReadonlyArray<Splice>>([constant([]), Arbitrary.array(spliceArb, { minLength: 1, maxLength: 3 })]),
  text: union<ReadonlyArray<TextMutation>>([constant([]), constant([]), constant([]), textMutations(2)]),
  source: oneOf(sources),
  env: envArb,
  dotEnv: dotEnvArb,
  dataDir: union<string | undefined>([constant(undefined), constant(undefined), oneOf(envValues)])
})

/** The YAML text of a case. */
function yamlOf(c: Case): string {
  let text: string
  try {
    text = stringify(mutateJson(c.doc, c.mutations))
  } catch {
    text = "{}"
  }
  for (const s of c.splices) text = splice(text, s)
  return mutateText(text, c.text)
}

const listing = (dir: string) => readdirSync(dir).sort()

const before = Object.getOwnPropertyNames(Object.prototype).sort().join(",")

/** Runs one case in `cwd` (emptied first); resolves with what is wrong, or `undefined`. */
async function runCase(cwd: string, c: Case): Promise<string | undefined> {
  for (const name of readdirSync(cwd)) rmSync(join(cwd, name), { recursive: true, force: true })
  const yaml = yamlOf(c)
  const written: Array<string> = []
  const write = (name: string, text: string) => {
    writeFileSync(join(cwd, name), text)
    written.push(name)
  }
  const env: Record<string, string> = { ...c.env }
  let path: string | undefined
  switch (c.source) {
    case "--config":
      write("c.yaml", yaml)
      path = "c.yaml"
      break
    case "MARKETPIPE_CONFIG":
      write("c.yaml", yaml)
      env.MARKETPIPE_CONFIG = "c.yaml"
      break
    case "./marketpipe.yaml":
      write("marketpipe.yaml", yaml)
      break
    case ".env":
      write("c.yaml", yaml)
      break
    case "missing":
      path = "nope.yaml"
      break
    case "dir":
      mkdirSync(join(cwd, "conf.d"))
      written.push("conf.d")
      path = "conf.d"
      break
    case "device":
      path = "/dev/null"
      break
  }
  const dotEnv = c.source === ".env" ? `MARKETPIPE_CONFIG=c.yaml\n${c.dotEnv ?? ""}` : c.dotEnv
  if (dotEnv !== undefined) write(".env", dotEnv)

  const exit = await Effect.runPromiseExit(loadConfig({ path, dataDir: c.dataDir, env, cwd }))

  const after = listing(cwd)
  if (after.join("/") !== [...written].sort().join("/")) return `the working directory changed: ${after.join(", ")}`
  if (Object.getOwnPropertyNames(Object.prototype).sort().join(",") !== before || "polluted" in {}) {
    return "Object.prototype was changed"
  }
  if (Exit.isSuccess(exit)) {
    const loaded = exit.value
    if (!isAbsolute(loaded.dataDir)) return `data dir ${loaded.dataDir} is not absolute`
    if (existsSync(ELSEWHERE)) return `${ELSEWHERE} was created`
    if (!/^(sqlite:|postgres:\/\/|postgresql:\/\/)/u.test(loaded.databaseUrl)) {
      return `database URL ${loaded.databaseUrl} is neither sqlite: nor postgres`
    }
    label(loaded.notices.length > 0 ? "loaded, with notices" : "loaded")
    return undefined
  }
  if (Cause.hasDies(exit.cause) || Cause.hasInterrupts(exit.cause))
    return `not a typed failure:\n${Cause.pretty(exit.cause)}`
  const error = Cause.findErrorOption(exit.cause)
  if (error._tag === "None") return Cause.pretty(exit.cause)
  const e = error.value
  if (!(e instanceof UsageError)) return `failed with ${String(e)}, not a UsageError`
  if (typeof e.field !== "string" || e.field === "" || typeof e.reason !== "string" || e.reason === "") {
    return `a UsageError without a field and reason: ${JSON.stringify(e)}`
  }
  label(
    `UsageError ${e.field.replace(/\[\d+\]|\.\d+/gu, "[n]").slice(0, 40)}: ${e.reason
      .replace(/\/tmp\/\S+/gu, "<file>")
      .replace(/\d+/gu, "#")
      .slice(0, 50)}`
  )
  return undefined
}

const preview = (c: Case) => ({ ...c, doc: undefined, yaml: yamlOf(c).slice(0, 3000) })

describe("fuzz: config loader", () => {
  test("generated and mutated config files load or fail with a UsageError, writing nothing", async () => {
    const cwd = fresh()
    const runs = await checkProperty(
      "config loader",
      caseArb,
      (c) =>
        Effect.flatMap(
          Effect.promise(() => runCase(cwd, c)),
          (bad) => (bad === undefined ? Effect.void : Effect.fail(bad))
        ),
      { ciRuns: 400, show: preview }
    )
    expect(runs).toBeGreaterThan(0)
  })

  // Found by this fuzzing (fixed in load.ts): the yaml package checked a mapping's keys for duplicates pairwise, and it
  // composes deep flow collections after a syntax error in time that grows about quadratically with their depth, so
  // configs under the old 1 MiB limit took from 20 s (45,000 keys) to minutes (300,000-deep nesting). The widest and
  // deepest configs that fit under CONFIG_MAX_BYTES must now load (or fail) within the per-case bound.
  test("the widest and deepest configs under the size limit load or fail within the per-case bound", async () => {
    const cwd = fresh()
    const room = Math.floor(CONFIG_MAX_BYTES * 0.95)
    const shapes = [
      wide(Math.floor(room / 16), true),
      wide(Math.floor(room / 19), false),
      `   retention:\n     w: {a: 1}\n${deepFlow(Math.floor((room - 40) / 2), "[")}`,
      `   retention:\n     w: {a: 1}\nretention: ${"{a: ".repeat(Math.floor((room - 40) / 5))}`
    ]
    for (const yaml of shapes) {
      const started = performance.now()
      const bad = await runCase(cwd, {
        doc: {},
        mutations: [],
        splices: [{ snippet: yaml, line: 0, indent: 0 }],
        text: [],
        source: "--config",
        env: {},
        dotEnv: undefined,
        dataDir: undefined
      })
      expect(bad).toBeUndefined()
      expect(performance.now() - started).toBeLessThan(CASE_TIMEOUT_MS)
    }
  }, 0)

  // Found by this fuzzing (fixed in load.ts): a NUL loaded, then failed when the database was opened (exit 1).
  test("a data_dir or database path with a NUL byte is a usage error, not a later crash", async () => {
    const cwd = fresh()
    for (const yaml of ['data_dir: "lake\\0x"\n', 'database_url: "sqlite:db\\0x"\n']) {
      writeFileSync(join(cwd, "c.yaml"), yaml)
      const exit = await Effect.runPromiseExit(loadConfig({ path: "c.yaml", env: {}, cwd }))
      expect(Exit.isFailure(exit)).toBe(true)
    }
  })
})

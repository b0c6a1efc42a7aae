import { afterEach, beforeEach, describe, expect, test } from "bun:test"
import { spawnSync } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { Effect, Exit } from "effect"
import { configJsonSchema } from "../../src/config/json-schema.ts"
import { loadConfig, providerBaseUrl } from "../../src/config/load.ts"
import { listFiles, removeDir, tempDir } from "../support/temp.ts"

let dir = ""
beforeEach(() => {
  dir = tempDir()
})
afterEach(() => removeDir(dir))

const load = (yaml: string | undefined, env: Record<string, string> = {}, flags: { dataDir?: string } = {}) => {
  if (yaml !== undefined) writeFileSync(join(dir, "marketpipe.yaml"), yaml)
  return Effect.runPromiseExit(loadConfig({ env, cwd: dir, dataDir: flags.dataDir }))
}
const errorOf = async (yaml: string, env: Record<string, string> = {}) => {
  const exit = await load(yaml, env)
  if (Exit.isSuccess(exit)) throw new Error("expected a config error")
  return String(
    (exit.cause as unknown as { reasons?: Array<{ error?: Error }> }).reasons?.[0]?.error?.message ?? exit.cause
  )
}
const valueOf = async (
  yaml: string | undefined,
  env: Record<string, string> = {},
  flags: { dataDir?: string } = {}
) => {
  const exit = await load(yaml, env, flags)
  if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
  return exit.value
}

describe("config v1", () => {
  test("no file: embedded defaults (./data, SQLite inside it)", async () => {
    const cfg = await valueOf(undefined)
    expect(cfg.file).toBeUndefined()
    expect(cfg.dataDir).toBe(join(dir, "data"))
    expect(cfg.databaseUrl).toBe(`sqlite:${join(dir, "data", "marketpipe.db")}`)
    expect(listFiles(dir)).toEqual([])
  })

  test("a file without config_version is read as the newest version (4) with a notice", async () => {
    const cfg = await valueOf("data_dir: lake\n")
    expect(cfg.dataDir).toBe(join(dir, "lake"))
    expect(cfg.notices.join()).toMatch(/no config_version; reading it as version 4/)
  })

  test("unsupported versions fail and name the field", async () => {
    expect(await errorOf("config_version: 0\n")).toMatch(
      /config_version: 0 is not supported; supported versions: 1, 2, 3, 4/
    )
    expect(await errorOf("config_version: one\n")).toMatch(/config_version: "one" is not supported/)
  })

  test("a newer version warns and parses best-effort, ignoring keys it does not know", async () => {
    const cfg = await valueOf("config_version: 5\ndata_dir: d2\nsomething_new: {a: 1}\n")
    expect(cfg.dataDir).toBe(join(dir, "d2"))
    expect(cfg.notices.join()).toMatch(/newer than this build knows/)
  })

  test("unknown keys, wrong types and out-of-range values name the field and what is allowed", async () => {
    expect(await errorOf("config_version: 1\ningset: {}\n")).toMatch(
      /config ingset: unknown key; allowed keys: config_version, data_dir/
    )
    expect(await errorOf("ingest:\n  concurrency: 0\n")).toMatch(/ingest\.concurrency/)
    expect(await errorOf("ingest:\n  frame: 2m\n")).toMatch(/ingest\.frame.*"1m"/s)
    expect(await errorOf("database_url: mysql://x\n")).toMatch(
      /database_url: .*sqlite:, postgres:\/\/ or postgresql:\/\//
    )
    expect(await errorOf("providers:\n  alpaca:\n    base_url: ftp://x\n")).toMatch(
      /providers\.alpaca\.base_url: .*http\(s\) URL/
    )
    expect(await errorOf("calendar:\n  closures: [2024-02-30]\n")).toMatch(/calendar\.closures\.0/)
    expect(await errorOf("- a\n- b\n")).toMatch(/must hold a YAML mapping/)
    expect(await errorOf("data_dir: [unclosed\n")).toMatch(/not valid YAML/)
  })

  test("an explicit config path that does not exist is an error", async () => {
    const exit = await Effect.runPromiseExit(loadConfig({ path: "nope.yaml", env: {}, cwd: dir }))
    expect(Exit.isFailure(exit) && String(exit.cause)).toMatch(/nope\.yaml does not exist/)
  })

  test("a config that is a device, a FIFO or over 256 KiB is refused without reading it", async () => {
    const fifo = join(dir, "pipe.yaml")
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0)
    writeFileSync(join(dir, "big.yaml"), `# ${"x".repeat(2 * 1024 * 1024)}\n`)
    const refusal = async (path: string) => {
      const exit = await Effect.runPromiseExit(loadConfig({ path, env: {}, cwd: dir }))
      return Exit.isFailure(exit) ? String(exit.cause) : "loaded"
    }
    expect(await refusal("/dev/zero")).toMatch(/--config: config file \/dev\/zero is not a regular file/u)
    expect(await refusal(fifo)).toMatch(/pipe\.yaml is not a regular file/u)
    expect(await refusal(join(dir, "big.yaml"))).toMatch(/big\.yaml is 2 MiB; at most 256 KiB is read/u)
  })

  test("a key given twice in one mapping is an error naming it; a 20,000-key mapping is an ordinary error", async () => {
    expect(await errorOf("config_version: 1\ningest:\n  provider: fake\n  provider: alpaca\n")).toMatch(
      /not valid YAML: the key "provider" appears twice in one mapping/u
    )
    const wide = Array.from({ length: 20_000 }, (_, i) => `k${i}: ${i}`).join("\n")
    expect(await errorOf(wide)).toMatch(/marketpipe\.yaml is 252 KiB|unknown key/u)
  })

  test("a path with a NUL character is a usage error naming where it came from", async () => {
    expect(await errorOf('data_dir: "a\\0b"\n')).toBe("config data_dir: a path may not hold a NUL character")
    expect(await errorOf("config_version: 1\n", { DATABASE_URL: "sqlite:/tmp/a\u0000b" })).toMatch(
      /^DATABASE_URL: 'sqlite:\/tmp\/a\\x00b' names a path with a NUL character/u
    )
  })

  test("${VAR} expansion, defaults, and a clear error for an unset variable", async () => {
    const cfg = await valueOf("data_dir: ${LAKE}/x\nproviders:\n  fake:\n    seed: ${SEED:-abc}\n", {
      LAKE: "/tmp/lake"
    })
    expect(cfg.dataDir).toBe("/tmp/lake/x")
    expect(cfg.config.providers?.fake?.seed).toBe("abc")
    expect(await errorOf("providers:\n  alpaca:\n    key: ${ALPACA_KEY}\n")).toMatch(
      /providers\.alpaca\.key: environment variable ALPACA_KEY is not set/
    )
  })

  test(".env is loaded, the process environment wins over it, and flags win over both", async () => {
    writeFileSync(join(dir, ".env"), "MARKETPIPE_DATA_DIR=from-dotenv\nDATABASE_URL=sqlite:db/x.db\n")
    expect((await valueOf("data_dir: from-file\n")).dataDir).toBe(join(dir, "from-dotenv"))
    expect((await valueOf("data_dir: from-file\n", { MARKETPIPE_DATA_DIR: "from-env" })).dataDir).toBe(
      join(dir, "from-env")
    )
    const flagged = await valueOf(
      "data_dir: from-file\n",
      { MARKETPIPE_DATA_DIR: "from-env" },
      { dataDir: "from-flag" }
    )
    expect(flagged.dataDir).toBe(join(dir, "from-flag"))
    expect(flagged.databaseUrl).toBe(`sqlite:${join(dir, "db/x.db")}`)
  })

  test("MARKETPIPE_<PROVIDER>_BASE_URL overrides providers.<name>.base_url", async () => {
    const cfg = await valueOf("providers:\n  alpaca:\n    base_url: http://a.example\n", {
      MARKETPIPE_ALPACA_BASE_URL: "http://127.0.0.1:9"
    })
    expect(providerBaseUrl(cfg, "alpaca")).toBe("http://127.0.0.1:9")
    expect(providerBaseUrl({ ...cfg, env: {} }, "alpaca")).toBe("http://a.example")
  })

  test("schemas/config.v1.json is exactly what the Schema generates", () => {
    const checkedIn = JSON.parse(readFileSync(resolve(import.meta.dir, "../../schemas/config.v1.json"), "utf8"))
    expect(checkedIn).toEqual(JSON.parse(JSON.stringify(configJsonSchema(1))))
  })
})

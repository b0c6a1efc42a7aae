import { afterEach, beforeEach, describe, expect, test } from "bun:test"
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { Effect, Exit } from "effect"
import { lockProblems } from "../../scripts/schema-lock.ts"
import { runMain } from "../../src/cli/main.ts"
import { configJsonSchema, configVersions } from "../../src/config/json-schema.ts"
import { loadConfig } from "../../src/config/load.ts"
import { migrateText } from "../../src/config/migrate.ts"
import { ageCutoff, parseAge } from "../../src/domain/age.ts"
import { capture } from "../support/capture.ts"
import { removeDir, tempDir } from "../support/temp.ts"

let dir = ""
beforeEach(() => {
  dir = tempDir("mp-config-")
})
afterEach(() => removeDir(dir))

const schemas = resolve(import.meta.dir, "../../schemas")

const loaded = async (yaml: string) => {
  const file = join(dir, "c.yaml")
  writeFileSync(file, yaml)
  return Effect.runPromiseExit(loadConfig({ path: file, env: {}, cwd: dir }))
}
const messageOf = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isSuccess(exit)
    ? "loaded"
    : String((exit.cause as unknown as { reasons?: Array<{ error?: Error }> }).reasons?.[0]?.error?.message)

/** A v1 file as users wrote them: comments, a retention v1 accepted as free-form, plugin options. */
const v1File = [
  "# MarketPipe config for the research box",
  "config_version: 1",
  "data_dir: ./lake # the lake",
  "providers:",
  "  alpaca:",
  "    feed: sip",
  "    page_limit: 500 # plugin option",
  "retention:",
  "  1m: 2y",
  "  1d: never",
  ""
].join("\n")

describe("config versions", () => {
  test("a v1 file is still read, into the v2 shape; v2's typed retention judges its retention", async () => {
    const exit = await loaded(v1File)
    if (Exit.isFailure(exit)) throw new Error(messageOf(exit))
    expect(exit.value.config.retention).toEqual({ "1m": "2y", "1d": "never" })
    expect(exit.value.config.providers?.alpaca).toEqual({ feed: "sip", page_limit: 500 })
    expect(messageOf(await loaded("config_version: 1\nretention:\n  1m: 2w\n"))).toMatch(
      /config retention\.1m: .*an age such as 30d, 18m or 2y \(days, months, years\), or never/u
    )
    // v2's new keys are not v1 keys: a v1 file with them is wrong, and says which version has them.
    expect(messageOf(await loaded("config_version: 1\nschedule: {}\n"))).toMatch(/config schedule: unknown key/u)
  })

  test("a v2 file takes retention and schedule; bad values name the key", async () => {
    const exit = await loaded(
      "config_version: 2\nretention: { 1m: 18m, db: 90d }\nschedule: { on_calendar: 'Mon..Fri 18:30 America/New_York', randomized_delay: 5min }\n"
    )
    if (Exit.isFailure(exit)) throw new Error(messageOf(exit))
    expect(exit.value.config.retention).toEqual({ "1m": "18m", db: "90d" })
    expect(exit.value.config.schedule?.randomized_delay).toBe("5min")
    expect(messageOf(await loaded("config_version: 2\nretention: { 2m: 1y }\n"))).toMatch(
      /config retention\.2m|retention.*2m/u
    )
    expect(messageOf(await loaded("config_version: 2\nschedule: { randomized_delay: soon }\n"))).toMatch(
      /schedule\.randomized_delay: .*30s, 5min or 1h/u
    )
  })

  test("a v3 file takes providers_chain, for every frame or per frame; a v2 file does not", async () => {
    const flat = await loaded("config_version: 3\nproviders_chain: [alpaca, polygon]\n")
    if (Exit.isFailure(flat)) throw new Error(messageOf(flat))
    expect(flat.value.config.providers_chain).toEqual(["alpaca", "polygon"])
    const perFrame = await loaded("config_version: 3\nproviders_chain: { default: [polygon], 1m: [alpaca, polygon] }\n")
    if (Exit.isFailure(perFrame)) throw new Error(messageOf(perFrame))
    expect(perFrame.value.config.providers_chain).toEqual({ default: ["polygon"], "1m": ["alpaca", "polygon"] })
    expect(messageOf(await loaded("config_version: 3\nproviders_chain: [alpaca, alpaca]\n"))).toMatch(
      /providers_chain.*a provider appears twice/su
    )
    expect(messageOf(await loaded("config_version: 2\nproviders_chain: [alpaca]\n"))).toMatch(
      /config providers_chain: unknown key/u
    )
  })

  test("a v4 file takes revalidate and retention.versions; a v3 file does not", async () => {
    const v4 = await loaded("config_version: 4\nrevalidate: 5d\nretention: { 1m: 2y, versions: 1y }\n")
    if (Exit.isFailure(v4)) throw new Error(messageOf(v4))
    expect(v4.value.config.revalidate).toBe("5d")
    expect(v4.value.config.retention).toEqual({ "1m": "2y", versions: "1y" })
    expect(messageOf(await loaded("config_version: 4\nrevalidate: 5 days\n"))).toMatch(
      /revalidate: .*5d, 2w or 1m, or off/u
    )
    expect(messageOf(await loaded("config_version: 3\nrevalidate: 5d\n"))).toMatch(/config revalidate: unknown key/u)
    expect(messageOf(await loaded("config_version: 3\nretention: { versions: 1y }\n"))).toMatch(
      /config retention\.versions: /u
    )
  })

  test("migrate v1 → v2 → v3 → v4 keeps every comment and line but the version, and reads back to the same config", async () => {
    expect(migrateText(v1File, 2).text).toContain("config_version: 2\n")
    const migrated = migrateText(v1File)
    expect(migrated).toMatchObject({ from: 1, to: 4 })
    const before = v1File.split("\n")
    const after = migrated.text.split("\n")
    expect(after.filter((l) => !l.startsWith("config_version"))).toEqual(
      before.filter((l) => !l.startsWith("config_version"))
    )
    expect(after).toContain("config_version: 4")
    const a = await loaded(v1File)
    const b = await loaded(migrated.text)
    if (Exit.isFailure(a) || Exit.isFailure(b)) throw new Error("expected both to load")
    // A v1 file is read upgraded: the same config as its migrated copy, version and all.
    expect(b.value.config).toEqual(a.value.config)
    // No version at all is version 1; the version goes first.
    expect(migrateText("data_dir: x\n").text).toBe("config_version: 4\ndata_dir: x\n")
    expect(migrateText(migrated.text)).toMatchObject({ from: 4, to: 4, text: migrated.text })
    expect(() => migrateText(migrated.text, 1)).toThrow(/migrations only go forward/u)
    expect(() => migrateText(v1File, 7)).toThrow(/--to: 7 is not a config version/u)
  })

  test("every version's JSON Schema is checked in as generated, and locked", () => {
    for (const v of configVersions) {
      const checkedIn = JSON.parse(readFileSync(join(schemas, `config.v${v}.json`), "utf8"))
      expect(checkedIn).toEqual(JSON.parse(JSON.stringify(configJsonSchema(v))))
    }
    expect(lockProblems(schemas)).toEqual([])
  })

  test("the schema lock bites: a released file changed, unlocked or deleted is reported", () => {
    const copy = join(dir, "schemas")
    cpSync(schemas, copy, { recursive: true })
    const v1 = join(copy, "config.v1.json")
    writeFileSync(v1, readFileSync(v1, "utf8").replace('"title": "MarketPipe config v1"', '"title": "changed"'))
    writeFileSync(join(copy, "config.v9.json"), "{}\n")
    rmSync(join(copy, "filters.v1.json"))
    expect(lockProblems(copy)).toEqual([
      expect.stringMatching(/^config\.v1\.json changed after its version was released/u),
      expect.stringMatching(/^config\.v9\.json is not in lock\.json/u),
      expect.stringMatching(/^filters\.v1\.json is locked in lock\.json but missing/u)
    ])
  })
})

describe("ages", () => {
  test("30d, 18m, 2y and never; anything else is not an age", () => {
    expect(["30d", "18m", "2y", "never"].map(parseAge)).toEqual([
      { count: 30, unit: "d" },
      { count: 18, unit: "m" },
      { count: 2, unit: "y" },
      "never"
    ])
    for (const bad of ["2w", "0d", "-1y", "1.5y", "y", "", "99999y", "30 d", "Never"])
      expect(parseAge(bad)).toBeUndefined()
  })

  test("cutoffs count calendar days, months and years back; month ends clamp", () => {
    const cut = (age: string, today: string) => {
      const a = parseAge(age)
      return a === undefined ? "bad" : ageCutoff(a, today)
    }
    expect(cut("30d", "2026-12-01")).toBe("2026-11-01")
    expect(cut("18m", "2026-12-01")).toBe("2025-06-01")
    expect(cut("2y", "2024-02-29")).toBe("2022-02-28")
    expect(cut("1m", "2024-03-31")).toBe("2024-02-29")
    expect(cut("12m", "2024-01-15")).toBe("2023-01-15")
    expect(cut("never", "2024-01-15")).toBeUndefined()
  })
})

describe("marketpipe config", () => {
  const cli = async (...argv: Array<string>) => {
    const printed: Array<string> = []
    const { value, stdout, stderr } = await capture(() => runMain(argv, { HOME: dir }, (l) => printed.push(l)))
    return { code: value, stdout, errors: `${printed.join("\n")}${stderr}` }
  }

  test("validate names every problem (exit 2); migrate writes a current copy; schema prints a version", async () => {
    const v1 = join(dir, "v1.yaml")
    writeFileSync(v1, v1File)
    expect(await cli("config", "validate", v1)).toMatchObject({ code: 0 })
    expect((await cli("config", "validate", v1)).stdout).toContain("valid, config_version 1 (read as version 4")
    const bad = join(dir, "bad.yaml")
    writeFileSync(bad, "config_version: 2\ningest: { concurrency: 0, frame: 2m }\n")
    const invalid = await cli("config", "validate", bad)
    expect(invalid.code).toBe(2)
    expect(invalid.errors).toMatch(/config ingest\.(concurrency|frame).*and 1 more/su)

    const out = join(dir, "v2.yaml")
    const migrated = await cli("config", "migrate", v1, "--out", out)
    expect(migrated.code).toBe(0)
    expect(migrated.errors).toContain("migrated from version 1 to 4")
    expect(readFileSync(out, "utf8")).toBe(migrateText(v1File).text)
    expect((await cli("config", "validate", out)).stdout).toContain("valid, config_version 4")
    expect((await cli("config", "migrate", v1)).stdout).toBe(migrateText(v1File).text)
    // A v1 file whose retention v2 refuses is not migrated: nothing is written.
    const refused = join(dir, "refused.yaml")
    writeFileSync(refused, "config_version: 1\nretention: { 1m: forever }\n")
    const target = join(dir, "never-written.yaml")
    expect((await cli("config", "migrate", refused, "--out", target)).code).toBe(2)
    expect(() => readFileSync(target)).toThrow()

    const schema = JSON.parse((await cli("config", "schema", "--version", "1")).stdout)
    expect(schema.title).toBe("MarketPipe config v1")
    expect(JSON.parse((await cli("config", "schema")).stdout).title).toBe("MarketPipe config v4")
    expect((await cli("config", "schema", "--version", "5")).code).toBe(2)
  })
})

/** CLI input that the flag parser cannot check alone: symbol lists, dates, spans and universe files. */
import { describe, expect, test } from "bun:test"
import { spawnSync } from "node:child_process"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { Option } from "effect"
import { resolveSymbols } from "../../src/cli/commands/backfill.ts"
import { lookbackStart, parseDay, parseRange, parseSymbols } from "../../src/cli/inputs.ts"
import { UsageError } from "../../src/domain/errors.ts"
import { findPlugin } from "../../src/providers/registry.ts"
import { parseUniverse } from "../../src/universe/file.ts"
import { useTempDirs } from "../support/temp.ts"

const fresh = useTempDirs("mp-inputs-")

/** The usage error `f` throws, as `field: reason`. */
const refusal = (f: () => unknown): string => {
  try {
    f()
  } catch (e) {
    if (e instanceof UsageError) return e.message
    throw e
  }
  throw new Error("expected a usage error")
}

describe("symbol lists", () => {
  test("entries are separated by commas; spaces around them are trimmed", () => {
    expect(parseSymbols("--symbols", " aapl, MSFT ,brk/b,,AAPL") as ReadonlyArray<string>).toEqual([
      "AAPL",
      "MSFT",
      "BRK.B"
    ])
  })

  test("a space inside an entry is an error naming the entry, not two symbols", () => {
    expect(refusal(() => parseSymbols("--symbols", "A A"))).toBe(
      "--symbols: 'A A' has a space in it; separate symbols with commas, e.g. AAPL,MSFT"
    )
    expect(refusal(() => parseSymbols("--symbols", "AAPL,MS\tFT"))).toMatch(/'MS\\x09FT' has a space in it/u)
  })

  test("a long bad entry is echoed cut, with its length", () => {
    const long = "X".repeat(5000)
    const message = refusal(() => parseSymbols("--symbols", `AAPL,${long}`))
    expect(message).toMatch(/^--symbols: 'X{40}…' \(5000 characters\) is not a valid symbol/u)
    expect(message.length).toBeLessThan(300)
  })
})

describe("provider names", () => {
  test("an unknown provider's long name is echoed cut", () => {
    const found = findPlugin("p".repeat(5000))
    const message = found._tag === "Unknown" ? found.error.message : ""
    expect(message).toMatch(/^--provider: unknown provider 'p{40}…' \(5000 characters\); available: fake/u)
  })
})

describe("dates", () => {
  test("1990 onwards is accepted, through the last year the calendar's rules cover", () => {
    expect(parseDay("--from", "1990-01-02") as string).toBe("1990-01-02")
    expect(parseDay("--to", "2100-12-31") as string).toBe("2100-12-31")
  })

  test("before 1990 and after 2100 are refused naming the flag and the range", () => {
    for (const day of ["0000-01-01", "1900-06-01", "1989-12-29"]) {
      expect(refusal(() => parseDay("--from", day))).toBe(
        `--from: ${day} is before 1990-01-01, the first day the NYSE calendar covers; earlier sessions, holidays and daylight-saving rules are not modelled`
      )
    }
    for (const day of ["2101-01-03", "2999-01-02", "9999-12-31"]) {
      expect(refusal(() => parseDay("--end", day))).toBe(
        `--end: ${day} is after 2100-12-31, the last day the NYSE calendar's rules are kept for`
      )
    }
    expect(refusal(() => parseRange("0000-01-01", "9999-12-31"))).toMatch(/^--start: 0000-01-01 is before 1990-01-01/u)
  })

  test("a long bad date is echoed cut", () => {
    expect(refusal(() => parseDay("--from", "2024-".repeat(1000)))).toMatch(
      /^--from: '(2024-){8}…' \(5000 characters\)/u
    )
  })

  test("a lookback reaching before 1990 is refused like a date", () => {
    expect(lookbackStart("30d", "2024-03-08") as string).toBe("2024-02-08")
    expect(refusal(() => lookbackStart("50y", "2024-03-08"))).toMatch(/^--lookback: 50y reaches back to 1974-03-09/u)
  })
})

describe("universe files", () => {
  test("/dev/zero, a FIFO, a directory and an oversized file are refused without reading them", () => {
    const cwd = fresh()
    const fifo = join(cwd, "pipe")
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0)
    writeFileSync(join(cwd, "big.txt"), Buffer.alloc(17 * 1024 * 1024, "A\n"))
    const cases: Array<[string, RegExp]> = [
      ["/dev/zero", /--universe: universe file \/dev\/zero is not a regular file/u],
      [fifo, /is not a regular file/u],
      [cwd, /is not a regular file/u],
      [join(cwd, "big.txt"), /universe file .*big\.txt is 17 MiB; at most 16 MiB is read/u]
    ]
    for (const [file, message] of cases) {
      expect(refusal(() => resolveSymbols({ symbols: Option.none(), universe: Option.some(file) }, cwd))).toMatch(
        message
      )
    }
  })

  test("a bad line is echoed cut", () => {
    expect(refusal(() => parseUniverse(`AAPL\n${"Z".repeat(5000)}\n`, "u.txt"))).toMatch(
      /^--universe: u\.txt line 2: 'Z{40}…' \(5000 characters\) is not a valid symbol/u
    )
  })
})

/**
 * Universe files (`--universe FILE`): generated and mutated symbol lists and CSVs. A file yields a non-empty list of
 * valid, distinct symbols or a `UsageError` on `--universe` whose message stays short; nothing else comes out.
 */
import { describe, expect, test } from "bun:test"
import { Arbitrary, Effect } from "effect"
import { shown, UsageError } from "../../src/domain/errors.ts"
import { isSymbol } from "../../src/domain/symbol.ts"
import { parseUniverse } from "../../src/universe/file.ts"
import { hostileStrings, mutateText, textMutations } from "./mutate.ts"
import { checkProperty, int, label, oneOf, union } from "./runs.ts"

const tickers = ["AAPL", "msft", "BRK.B", "brk/b", "BRK-B", "7203", "SPY", "A", "QQQQQQQQQQQQQQQ", "Q".repeat(16)]
const token = union([oneOf(tickers), oneOf(hostileStrings), oneOf(["#", "# note", "symbol", "Symbol", '"AAPL"'])])
const lineEnd = oneOf(["\n", "\r\n", "\r", ""])

/** A plain list: tokens, comments and blanks, mixed line ends, maybe a BOM. */
const plainFile = Arbitrary.map(
  Arbitrary.all([
    oneOf(["", "\ufeff"]),
    Arbitrary.array(Arbitrary.all([token, lineEnd, oneOf(["", " # c", "  "])]), { minLength: 0, maxLength: 30 })
  ]),
  ([bom, lines]) => bom + lines.map(([t, end, tail]) => `${t}${tail}${end}`).join("")
)

/** A CSV with a symbol column among others, quoted fields, ragged rows. */
const csvFile = Arbitrary.map(
  Arbitrary.all([
    oneOf(["symbol,name", "name,symbol,sector", '"symbol","name"', "Symbol", "SYMBOL;name"]),
    Arbitrary.array(Arbitrary.all([token, token, int(0, 3)]), { minLength: 0, maxLength: 20 }),
    lineEnd
  ]),
  ([header, rows, end]) =>
    [
      header,
      ...rows.map(([a, b, extra]) =>
        [a, b, ...Array(extra).fill("x")].map((c) => (c.includes(",") ? `"${c}"` : c)).join(",")
      )
    ].join(end === "" ? "\n" : end)
)

const universeText = union([
  plainFile,
  csvFile,
  Arbitrary.map(Arbitrary.all([union([plainFile, csvFile]), textMutations()]), ([text, edits]) =>
    mutateText(text, edits)
  )
])

describe("fuzz: universe files", () => {
  test("a list of valid distinct symbols, or a short usage error on --universe", async () => {
    const runs = await checkProperty(
      "universe file",
      universeText,
      (text) =>
        Effect.gen(function* () {
          let symbols: ReadonlyArray<string>
          try {
            symbols = parseUniverse(text, "u.txt")
          } catch (e) {
            if (!(e instanceof UsageError)) return yield* Effect.fail(`not a UsageError: ${String(e)}`)
            if (e.field !== "--universe") return yield* Effect.fail(`names ${e.field}, not --universe`)
            // The file name, a line number and a cut echo of the entry: never the file.
            if (e.message.length > 400) return yield* Effect.fail(`a ${e.message.length}-character message`)
            label("refused")
            return
          }
          if (symbols.length === 0) return yield* Effect.fail("an empty universe was accepted")
          const bad = symbols.find((s) => !isSymbol(s))
          if (bad !== undefined) return yield* Effect.fail(`accepted ${shown(bad)}, which is not a symbol`)
          if (new Set(symbols).size !== symbols.length) return yield* Effect.fail("a symbol is listed twice")
          label("accepted")
        }),
      { ciRuns: 2000 }
    )
    expect(runs).toBeGreaterThan(0)
  })
})

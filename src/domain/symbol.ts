/**
 * Ticker symbols. A symbol names a directory in the lake, so it is validated here once and nothing from outside
 * (CLI, config, provider payloads) can pick a path with it.
 */
import { Schema } from "effect"

// First character alphanumeric, so ".", ".." and "-x" can never appear; no path separators survive normalisation.
const pattern = /^[A-Z0-9][A-Z0-9.-]{0,14}$/u

export const Symbol = Schema.String.check(
  Schema.isPattern(pattern, {
    expected: "a ticker of 1-15 characters: A-Z, 0-9, '.', '-' (share classes as BRK.B, BRK-B or BRK/B)"
  })
).pipe(Schema.brand("Symbol"))
export type Symbol = typeof Symbol.Type

/**
 * Upper-cases, trims and maps the slash share-class style (BRK/B) to the dot style (BRK.B): a slash would split the
 * Hive directory, and providers that use slashes are mapped back inside their plugins.
 */
export const normaliseSymbol = (raw: string): string => raw.trim().toUpperCase().replaceAll("/", ".")

export const isSymbol = Schema.is(Symbol)

/** Parses one raw ticker; `undefined` when it cannot be a symbol. */
export const parseSymbol = (raw: string): Symbol | undefined => {
  const candidate = normaliseSymbol(raw)
  return isSymbol(candidate) ? candidate : undefined
}

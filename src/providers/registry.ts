/**
 * The plugins this build ships, and lookup by name over those plus any loaded from config. Retired providers get
 * an answer that says what to use instead.
 */
import alpaca from "../../plugins/alpaca/mod.ts"
import fake from "../../plugins/fake/mod.ts"
import finnhub from "../../plugins/finnhub/mod.ts"
import polygon from "../../plugins/polygon/mod.ts"
import yahoo from "../../plugins/yahoo/mod.ts"
import { shown, UsageError } from "../domain/errors.ts"
import type { ProviderPlugin } from "./contract.ts"

export const builtinPlugins: ReadonlyArray<ProviderPlugin> = [fake, alpaca, polygon, finnhub, yahoo]

const retired: Readonly<Record<string, string>> = {
  iex: "IEX Cloud shut down on 2024-08-31 and has no successor API; for IEX exchange data use --provider alpaca --feed iex",
  iexcloud:
    "IEX Cloud shut down on 2024-08-31 and has no successor API; for IEX exchange data use --provider alpaca --feed iex"
}

export type PluginLookup =
  | { readonly _tag: "Found"; readonly plugin: ProviderPlugin }
  | { readonly _tag: "Unknown"; readonly error: UsageError }

export function findPlugin(name: string, plugins: ReadonlyArray<ProviderPlugin> = builtinPlugins): PluginLookup {
  const plugin = plugins.find((p) => p.name === name)
  if (plugin !== undefined) return { _tag: "Found", plugin }
  const reason =
    retired[name.toLowerCase()] ??
    `unknown provider ${shown(name)}; available: ${plugins.map((p) => p.name).join(", ")}`
  return { _tag: "Unknown", error: new UsageError({ field: "--provider", reason }) }
}

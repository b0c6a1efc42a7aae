/** The plugins this build knows by name. Third-party plugins named in config join them at start-up (issue 3). */
import alpaca from "../../plugins/alpaca/mod.ts"
import fake from "../../plugins/fake/mod.ts"
import { UsageError } from "../domain/errors.ts"
import type { ProviderPlugin } from "./contract.ts"

export const builtinPlugins: ReadonlyArray<ProviderPlugin> = [fake, alpaca]

export const findPlugin = (name: string, plugins: ReadonlyArray<ProviderPlugin> = builtinPlugins) => {
  const plugin = plugins.find((p) => p.name === name)
  return plugin !== undefined
    ? { _tag: "Found" as const, plugin }
    : {
        _tag: "Unknown" as const,
        error: new UsageError({
          field: "--provider",
          reason: `unknown provider '${name}'; available: ${plugins.map((p) => p.name).join(", ")}`
        })
      }
}

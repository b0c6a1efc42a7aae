/** Which `providers_chain` a run goes along: none when `--provider` names one, else the frame's chain (if set). */
import { Option } from "effect"
import type { Timeframe } from "../domain/timeframe.ts"
import { chainFor } from "../pipeline/failover.ts"
import type { ProviderChoice } from "../pipeline/provider-choice.ts"
import type { App } from "./app.ts"

export const chainOf = (flags: ProviderChoice, app: App): ReadonlyArray<string> | undefined => {
  if (Option.isSome(flags.provider)) return undefined
  const frame: Timeframe = Option.getOrUndefined(flags.frame) ?? app.loaded.config.ingest?.frame ?? "1m"
  const chain = chainFor(app.loaded.config.providers_chain, frame)
  return chain === undefined || chain.length === 0 ? undefined : chain
}

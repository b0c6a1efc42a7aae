/**
 * The provider errors the kit builds for a plugin: always masked, and named by what they mean (an options object)
 * rather than by the position of three booleans.
 */
import { ProviderError } from "../../domain/errors.ts"
import { mask } from "./secrets.ts"

export interface ProviderErrorOptions {
  readonly reason: string
  /** The host tries the call again with backoff. */
  readonly retryable: boolean
  /** No request of the run can succeed (credentials missing or rejected): the run stops. */
  readonly fatal?: boolean
  /** About the symbol (unknown ticker), not the days asked for: asking for fewer days cannot help. */
  readonly aboutSymbol?: boolean
}

export const makeProviderError = (provider: string, options: ProviderErrorOptions): ProviderError =>
  new ProviderError({
    provider,
    reason: mask(options.reason),
    retryable: options.retryable,
    fatal: options.fatal === true,
    aboutSymbol: options.aboutSymbol === true
  })

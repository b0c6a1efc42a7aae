/**
 * The parts of a plugin's `providers.<name>` options every plugin repeats: decoding them with the plugin's schema
 * (a bad value is a non-retryable error naming the key), and the HTTP tuning keys every HTTP plugin takes
 * (`max_attempts`, `retry_base_ms`) with their mapping onto `kit.http`'s options.
 */
import { Effect, Schema } from "effect"
import type { ProviderError } from "../../domain/errors.ts"
import { makeProviderError } from "./errors.ts"
import type { HttpKitOptions } from "./http.ts"

/** Spread into a plugin's options struct: `S.Struct({ ...kit.httpTuningFields, page_limit: ... })`. */
export const httpTuningFields = {
  /** Tries per request, including the first. */
  max_attempts: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 20 }))),
  /** The first retry delay in ms; it doubles per retry. */
  retry_base_ms: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)))
}

export type HttpTuningFields = typeof httpTuningFields

export interface HttpTuning {
  readonly max_attempts?: number
  readonly retry_base_ms?: number
}

/** The tuning keys a user set, as `kit.http` options (unset keys keep the kit's defaults). */
export const httpTuning = (options: HttpTuning): Pick<HttpKitOptions, "maxAttempts" | "retryBaseMs"> => ({
  ...(options.max_attempts === undefined ? {} : { maxAttempts: options.max_attempts }),
  ...(options.retry_base_ms === undefined ? {} : { retryBaseMs: options.retry_base_ms })
})

/**
 * Decodes `settings.options` with the plugin's schema. A mismatch fails with `providers.<name>: <what is wrong>`, or
 * with the plugin's own words when `reason` is given.
 */
export const decodeOptions =
  (provider: string) =>
  <S extends Schema.Decoder<unknown>>(
    schema: S,
    options: Readonly<Record<string, unknown>>,
    reason?: (message: string) => string
  ): Effect.Effect<S["Type"], ProviderError> =>
    Schema.decodeUnknownEffect(schema)(options).pipe(
      Effect.mapError((e) =>
        makeProviderError(provider, {
          reason: reason === undefined ? `providers.${provider}: ${e.message}` : reason(e.message),
          retryable: false
        })
      )
    )

/**
 * Where a Nasdaq Trader directory comes from: a local file, or a URL (`https://www.nasdaqtrader.com/dynamic/SymDir/
 * nasdaqlisted.txt`, or an FTP mirror behind HTTP). A URL is fetched with a timeout and retried with backoff on
 * 5xx, 429 and dropped connections; a user name or password in it never reaches a message.
 */
import { resolve } from "node:path"
import { Duration, Effect, Schedule } from "effect"
import { readInputFile } from "../config/input-file.ts"
import { ProviderError, UsageError } from "../domain/errors.ts"
import { UNIVERSE_MAX_BYTES } from "./file.ts"

const TIMEOUT_MS = 30_000

export const isUrl = (spec: string) => /^https?:\/\//iu.test(spec)

/** The URL without credentials, for messages. */
export function shownUrl(spec: string): string {
  try {
    const url = new URL(spec)
    if (url.username !== "" || url.password !== "") {
      url.username = "***"
      url.password = ""
    }
    return url.toString()
  } catch {
    return "(unparsable URL)"
  }
}

const failure = (url: string, reason: string, retryable: boolean) =>
  new ProviderError({ provider: "nasdaqtrader", reason: `${shownUrl(url)}: ${reason}`, retryable })

/** One attempt: the body as text, or a `ProviderError` saying whether trying again can help. */
const fetchOnce = (url: string) =>
  Effect.tryPromise({
    try: async () => {
      const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS), redirect: "follow" })
      const retryable = response.status >= 500 || response.status === 429
      if (!response.ok) throw failure(url, `HTTP ${response.status}`, retryable)
      const declared = Number(response.headers.get("content-length") ?? 0)
      if (declared > UNIVERSE_MAX_BYTES) throw failure(url, `larger than ${UNIVERSE_MAX_BYTES} bytes`, false)
      const body = await response.arrayBuffer()
      if (body.byteLength > UNIVERSE_MAX_BYTES) throw failure(url, `larger than ${UNIVERSE_MAX_BYTES} bytes`, false)
      return new TextDecoder("utf-8").decode(body)
    },
    catch: (e) =>
      e instanceof ProviderError
        ? e
        : failure(url, `cannot fetch (${(e as Error).name}: ${(e as Error).message})`, true)
  })

/** The directory's text from a URL, with up to `attempts` tries. */
export const fetchDirectory = (url: string, attempts = 4) =>
  fetchOnce(url).pipe(
    Effect.retry({
      while: (e) => e.retryable,
      times: attempts - 1,
      schedule: Schedule.exponential(Duration.millis(250))
    })
  )

export interface DirectoryText {
  /** The file's path or the URL (without credentials), for messages. */
  readonly where: string
  readonly text: string
}

/** The directory's text from a file (relative to `cwd`) or a URL. */
export const readDirectory = (spec: string, cwd: string): Effect.Effect<DirectoryText, UsageError | ProviderError> =>
  isUrl(spec)
    ? Effect.map(fetchDirectory(spec), (text) => ({ where: shownUrl(spec), text }))
    : Effect.try({
        try: () => {
          const path = resolve(cwd, spec)
          return { where: path, text: readInputFile(path, UNIVERSE_MAX_BYTES, "--nasdaq", "directory file") }
        },
        catch: (e) => (e instanceof UsageError ? e : new UsageError({ field: "--nasdaq", reason: String(e) }))
      })

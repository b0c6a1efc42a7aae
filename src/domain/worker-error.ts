/** An uncaught error's words from a worker's `error` event: Bun puts a code frame before the error line, Deno the error alone. */
export const workerErrorLine = (message: string): string => {
  const lines = message.split("\n").map((l) => l.trim())
  return lines.find((l) => /^[\w ()]*error:/iu.test(l)) ?? lines.find((l) => l !== "") ?? "an uncaught error"
}

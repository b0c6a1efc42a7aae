/**
 * The bench emulator (`scripts/bench/emulator.ts`) as a process of its own, so serving pages takes none of the
 * client's CPU time beyond what the machine shares; stopped with SIGTERM to its own pid.
 */
import { resolve } from "node:path"
import type { EmulatorStats } from "../../../test/emulators/server.ts"
import { defaultKeys } from "../../../test/emulators/server.ts"

export interface EmulatorProcess {
  readonly url: string
  /** What the binary needs to reach it with the Alpaca plugin (base URL and the emulator's keys). */
  readonly alpacaEnv: Readonly<Record<string, string>>
  readonly stats: () => Promise<EmulatorStats>
  readonly resetStats: () => Promise<void>
  readonly stop: () => Promise<void>
}

export async function startEmulatorProcess(args: ReadonlyArray<string>): Promise<EmulatorProcess> {
  const child = Bun.spawn([resolve("node_modules/.bin/bun"), resolve("scripts/bench/emulator.ts"), ...args], {
    stdout: "pipe",
    stderr: "inherit"
  })
  const reader = child.stdout.getReader()
  let text = ""
  while (!text.includes("\n")) {
    const { value, done } = await reader.read()
    if (done) throw new Error(`the emulator exited before it listened (exit ${await child.exited})`)
    text += new TextDecoder().decode(value)
  }
  reader.releaseLock()
  const { url } = JSON.parse(text.slice(0, text.indexOf("\n"))) as { url: string }
  return {
    url,
    alpacaEnv: {
      MARKETPIPE_ALPACA_BASE_URL: url,
      ALPACA_KEY: defaultKeys.alpaca.id,
      ALPACA_SECRET: defaultKeys.alpaca.secret
    },
    stats: async () => (await fetch(`${url}/_emulator/stats`)).json() as Promise<EmulatorStats>,
    resetStats: async () => {
      await fetch(`${url}/_emulator/reset`, { method: "POST" })
    },
    stop: async () => {
      child.kill("SIGTERM")
      await child.exited
    }
  }
}

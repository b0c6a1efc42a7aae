/**
 * `marketpipe …` in this process with some variables in `process.env` for the run only (plugins read their base URL
 * and key from it), its stdout, and what it printed to stderr.
 */
import { runMain } from "../../src/cli/main.ts"
import { capture } from "./capture.ts"

export interface CliRun {
  readonly code: number
  readonly stdout: string
  /** Errors and notices: what the CLI reported and what it wrote to stderr. */
  readonly errors: string
}

export async function cliWithEnv(
  env: Readonly<Record<string, string>>,
  argv: ReadonlyArray<string>,
  home: string
): Promise<CliRun> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]))
  Object.assign(process.env, env)
  const printed: Array<string> = []
  try {
    const { value, stdout, stderr } = await capture(() =>
      runMain([...argv], { HOME: home, ...env }, (l) => printed.push(l))
    )
    return { code: value, stdout, errors: [...printed, stderr].join("\n") }
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}

/**
 * Starts the CLI under Deno with network access to exactly the hosts the run needs. Deno fixes permissions at launch,
 * so the `deno task` entries run this first (it may only read files and the environment, and start Deno); it works
 * out the hosts from the config and environment (`net.ts`), then runs
 *
 *   deno run --no-prompt <permissions before `--`> --allow-net=<hosts> src/cli/main.ts <arguments after `--`>
 *
 * with stdio inherited, and exits with the CLI's exit code. `--no-prompt`: a host that is still missing is an error
 * naming it, never a question on a terminal nobody watches. Signals: SIGINT, SIGTERM and SIGHUP are passed on, so the
 * CLI interrupts the run cleanly. The CLI runs in a session of its own and gets each signal once, from here: Ctrl-C
 * reaches this process both from the terminal and from `deno task`, and the CLI stops cleanly on the first SIGINT but
 * dies on a second one, so copies that arrive within 300 ms count as one (a second Ctrl-C later still forces it).
 * In `deno.json`:
 *
 *   "backfill": "node_modules/deno/deno run --no-prompt --allow-read --allow-env --allow-run=node_modules/deno/deno
 *                scripts/deno/run.ts --allow-read --allow-write --allow-env --allow-sys -- ohlcv backfill"
 */
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import { netGrant } from "./net.ts"

interface ChildProcess {
  readonly status: Promise<{ readonly code: number; readonly signal: string | null }>
  kill(signal: string): void
}

/** The little of the Deno API this needs (the project type-checks against Bun's types). */
declare const Deno: {
  readonly args: ReadonlyArray<string>
  execPath(): string
  cwd(): string
  exit(code: number): never
  readonly env: { toObject(): Record<string, string> }
  addSignalListener(signal: string, handler: () => void): void
  Command: new (
    command: string,
    options: {
      readonly args: ReadonlyArray<string>
      readonly stdin: "inherit"
      readonly stdout: "inherit"
      readonly stderr: "inherit"
      readonly detached: boolean
    }
  ) => { spawn(): ChildProcess }
}

const fail = (message: string): never => {
  console.error(`scripts/deno/run.ts: ${message}`)
  return Deno.exit(2)
}

const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const
const signalExit = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const
/** Copies of one signal closer together than this are one. */
const SAME_SIGNAL_MS = 300

let child: ChildProcess | undefined
let early: (typeof signals)[number] | undefined
const lastSent = new Map<string, number>()
const pass = (signal: string) => {
  try {
    child?.kill(signal)
  } catch {
    // Already gone.
  }
}
for (const signal of signals) {
  Deno.addSignalListener(signal, () => {
    if (child === undefined) {
      early ??= signal
      return
    }
    const now = Date.now()
    if (now - (lastSent.get(signal) ?? Number.NEGATIVE_INFINITY) < SAME_SIGNAL_MS) return
    lastSent.set(signal, now)
    pass(signal)
  })
}

const split = Deno.args.indexOf("--")
if (split < 0) fail("usage: run.ts <deno permission flags> -- <marketpipe arguments>")
const permissions = Deno.args.slice(0, split)
const argv = Deno.args.slice(split + 1)
const unexpected = permissions.find(
  (p) => !p.startsWith("--allow-") || p.startsWith("--allow-net") || p === "--allow-all"
)
if (unexpected !== undefined)
  fail(`'${unexpected}' is not a permission this launcher passes on (it grants the network itself)`)

const grant = await Effect.runPromise(netGrant({ argv, env: Deno.env.toObject(), cwd: Deno.cwd() }))
for (const warning of grant.warnings) console.error(`warning: ${warning}`)
if (early !== undefined) Deno.exit(signalExit[early])

child = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "--config",
    fileURLToPath(new URL("../../deno.json", import.meta.url)),
    "--no-prompt",
    ...permissions,
    `--allow-net=${grant.hosts.join(",")}`,
    fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url)),
    ...argv
  ],
  stdin: "inherit",
  stdout: "inherit",
  stderr: "inherit",
  // A session of its own: the terminal's Ctrl-C reaches the CLI only through us, once.
  detached: true
}).spawn()

const status = await child.status
Deno.exit(status.code)

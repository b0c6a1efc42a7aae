/** Runs the CLI in a child process (source or compiled binary) and captures what a user would see. */
import { spawn, spawnSync } from "node:child_process"
import { resolve } from "node:path"

export const root = resolve(import.meta.dir, "../..")
export const bunBin = resolve(root, "node_modules/.bin/bun")
export const mainTs = resolve(root, "src/cli/main.ts")

export interface RunResult {
  readonly code: number
  /** The signal that ended the process, if one did (`code` is then -1). */
  readonly signal?: string
  readonly stdout: string
  readonly stderr: string
}

export function run(
  cmd: string,
  args: ReadonlyArray<string>,
  options: { cwd: string; env?: Record<string, string> }
): RunResult {
  const r = spawnSync(cmd, args, {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...options.env },
    encoding: "utf8",
    timeout: 120_000
  })
  return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" }
}

export const runSource = (args: ReadonlyArray<string>, options: { cwd: string; env?: Record<string, string> }) =>
  run(bunBin, [mainTs, ...args], options)

/** Like `run`, but without blocking this process: needed when the test process also serves the emulator. */
export function runAsync(
  cmd: string,
  args: ReadonlyArray<string>,
  options: { cwd: string; env?: Record<string, string> }
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...options.env }
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => {
      stdout += String(d)
    })
    child.stderr.on("data", (d) => {
      stderr += String(d)
    })
    child.on("error", reject)
    child.on("close", (code, signal) =>
      resolvePromise({ code: code ?? -1, stdout, stderr, ...(signal === null ? {} : { signal }) })
    )
  })
}

export const runSourceAsync = (args: ReadonlyArray<string>, options: { cwd: string; env?: Record<string, string> }) =>
  runAsync(bunBin, [mainTs, ...args], options)

let built: string | undefined
/** Builds the compiled binary once per test process (`scripts/build.ts` → dist/marketpipe) and returns its path. */
export function compiledBinary(): string {
  if (built === undefined) {
    const r = run(bunBin, ["scripts/build.ts"], { cwd: root })
    if (r.code !== 0) throw new Error(`build failed: ${r.stderr}`)
    built = resolve(root, "dist/marketpipe")
  }
  return built
}

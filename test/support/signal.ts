/** Signals a CLI child process once it is busy, and reports how it ended (Linux: CPU time from /proc). */
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"

/** Hours of work for DuckDB over a lake with one symbol's week of 1m bars: every bar against ten million numbers. */
export const endlessQuery =
  "SELECT a.symbol, count(*) FROM bars_1m a, range(10000000) r WHERE hash(r.range + a.volume) % 7 = 3 GROUP BY ALL"

/** User + system CPU seconds the process has used so far (clock ticks are 100 a second on Linux). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return (Number(fields[11]) + Number(fields[12])) / 100
}

export interface Ended {
  readonly code: number | null
  readonly signal: string | null
  readonly stderr: string
}

/**
 * Starts `cmd args`, waits until it has used `busySeconds` of CPU (the work is under way: start-up alone uses
 * about one second), sends `signal` once, and waits up to `graceMs` for it to exit. Fails naming what happened
 * when it does not; the child is killed either way.
 */
export async function signalWhenBusy(
  cmd: string,
  args: ReadonlyArray<string>,
  options: { cwd: string; env?: Record<string, string>; signal: NodeJS.Signals; busySeconds: number; graceMs: number }
): Promise<Ended> {
  const child = spawn(cmd, args, {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...options.env }
  })
  let stderr = ""
  child.stderr.on("data", (d) => {
    stderr += String(d)
  })
  child.stdout.resume()
  const exited = new Promise<Ended>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal, stderr }))
  )
  let done: Ended | undefined
  void exited.then((e) => {
    done = e
  })
  const pid = child.pid ?? -1
  try {
    while (done === undefined && cpuSeconds(pid) < options.busySeconds) await Bun.sleep(50)
    if (done !== undefined) throw new Error(`exited (${done.code}) before it was busy:\n${done.stderr}`)
    child.kill(options.signal)
    const sent = `${options.signal} sent after ${cpuSeconds(pid).toFixed(1)} s of CPU`
    const deadline = new Promise<never>((_, reject) => {
      const t = setTimeout(
        () => reject(new Error(`still running ${options.graceMs} ms after ${sent}:\n${stderr}`)),
        options.graceMs
      )
      void exited.then(() => clearTimeout(t))
    })
    return await Promise.race([exited, deadline])
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
  }
}

/**
 * Runs a command as a child process the way a user's shell would, and reports its wall time, CPU time and peak RSS.
 *
 * Peak RSS is the kernel's high-water mark of the child's own address space (`VmHWM` in `/proc/<pid>/status`), read
 * every 20 ms while it runs: the mark only rises, so a spike between two reads is still counted, and only growth in
 * the child's last 20 ms could be missed. Not `ru_maxrss` from wait4(2): Linux folds the pre-exec image's mark into
 * it, and a child forked from this process starts as a copy of it, so a bench process that had grown to 3 GB (the
 * `load` case keeps 9.7 M rows twice) made every later child "peak" at 3 GB. Where `/proc` is missing, `ru_maxrss`
 * is all there is.
 */
import { existsSync, readFileSync, readlinkSync, realpathSync } from "node:fs"

/**
 * The child's `VmHWM` in bytes, or `undefined` once it has gone (or off Linux), or while it is still the forked copy
 * of this process that has not run `exe` yet (its mark would be ours).
 */
const highWaterMark = (pid: number, exe: string | undefined): number | undefined => {
  try {
    if (exe !== undefined && readlinkSync(`/proc/${pid}/exe`) !== exe) return undefined
    const kb = /^VmHWM:\s+(\d+) kB$/mu.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]
    return kb === undefined ? undefined : Number(kb) * 1024
  } catch {
    return undefined
  }
}

export interface ChildRun {
  /** Spawn to exit, as a user waits for it. */
  readonly ms: number
  readonly cpuMs: number
  readonly maxRssBytes: number
  readonly stdout: string
  readonly stderr: string
}

export interface ChildOptions {
  readonly cwd: string
  readonly env: Readonly<Record<string, string | undefined>>
}

/** The environment a child gets: this one without any MarketPipe setting, plus `extra`. */
export const cleanEnv = (extra: Readonly<Record<string, string>> = {}): Record<string, string> => ({
  ...Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] => !e[0].startsWith("MARKETPIPE_") && e[1] !== undefined
    )
  ),
  ...extra
})

export async function runChild(argv: ReadonlyArray<string>, options: ChildOptions): Promise<ChildRun> {
  const started = performance.now()
  const child = Bun.spawn([...argv], { cwd: options.cwd, env: { ...options.env }, stdout: "pipe", stderr: "pipe" })
  const first = argv[0] ?? ""
  const exe = existsSync(first) ? realpathSync(first) : undefined
  let peak: number | undefined
  const read = () => {
    const now = highWaterMark(child.pid, exe)
    if (now !== undefined) peak = Math.max(peak ?? 0, now)
  }
  read()
  const polling = setInterval(read, 20)
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited
  ]).finally(() => clearInterval(polling))
  const ms = performance.now() - started
  if (exitCode !== 0) {
    throw new Error(`${argv.join(" ")} exited ${exitCode}:\n${stderr.slice(-2000)}${stdout.slice(-2000)}`)
  }
  const usage = child.resourceUsage()
  if (usage === undefined) throw new Error(`no resource usage for ${argv[0]}`)
  return { ms, cpuMs: Number(usage.cpuTime.total) / 1000, maxRssBytes: peak ?? usage.maxRSS, stdout, stderr }
}

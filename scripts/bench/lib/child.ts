/**
 * Runs a command as a child process the way a user's shell would, and reports its wall time, CPU time and peak RSS.
 *
 * Peak RSS is exact: Bun reaps the child with wait4(2), whose rusage carries the kernel's high-water mark of the
 * child's resident set (`ru_maxrss`, what `/usr/bin/time -f %M` prints), and `Subprocess.resourceUsage()` hands it
 * over in bytes. Nothing is sampled, so a short spike between two polls cannot be missed.
 */

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
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited
  ])
  const ms = performance.now() - started
  if (exitCode !== 0) {
    throw new Error(`${argv.join(" ")} exited ${exitCode}:\n${stderr.slice(-2000)}${stdout.slice(-2000)}`)
  }
  const usage = child.resourceUsage()
  if (usage === undefined) throw new Error(`no resource usage for ${argv[0]}`)
  return { ms, cpuMs: Number(usage.cpuTime.total) / 1000, maxRssBytes: usage.maxRSS, stdout, stderr }
}

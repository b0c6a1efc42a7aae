/**
 * The compiled binary the cases run, as a user has it: `BENCH_BINARY` when given (another checkout's, for a
 * before/after pair), else `dist/marketpipe`, rebuilt first when it is missing or older than any source it is built
 * from.
 */
import { existsSync, readdirSync, statSync } from "node:fs"
import { join, resolve } from "node:path"

const sources = ["src", "plugins", "mod.ts", "package.json", "scripts/build.ts"]

const newestMtime = (path: string): number => {
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  let newest = stat.mtimeMs
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)))
  return newest
}

export function ensureBinary(): string {
  if (process.env.BENCH_BINARY !== undefined) return resolve(process.env.BENCH_BINARY)
  const binary = resolve("dist/marketpipe")
  const stale = !existsSync(binary) || sources.some((s) => existsSync(s) && newestMtime(s) > statSync(binary).mtimeMs)
  if (stale) {
    console.error("building dist/marketpipe (missing or older than its sources)...")
    const built = Bun.spawnSync([resolve("node_modules/.bin/bun"), "scripts/build.ts"], {
      stdout: "inherit",
      stderr: "inherit"
    })
    if (built.exitCode !== 0) throw new Error(`npm run build failed (exit ${built.exitCode})`)
  }
  return binary
}

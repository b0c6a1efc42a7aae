/**
 * Builds the single `dist/marketpipe` binary (and the `dist/mp` alias). It runs with nothing beside it, `query`
 * included: Bun embeds DuckDB's addon (`duckdb.node`) for this platform, and the build embeds the addon's library
 * (`libduckdb.so`, ~70 MB) as a file asset, which `src/query/native.ts` writes once to a cache directory and preloads
 * before the addon loads. Only `query` touches either, lazily, so other commands start as fast as before (the
 * embedded bytes are mapped, not read). Other platforms' addons are left out (`--external`). `--splitting` keeps each
 * lazily imported module (a command's handler, the tracing SDK, DuckDB) in its own chunk inside the binary, so start-up
 * loads only the command tree's chunks rather than the whole bundle (`npm run bench:start`).
 */

import { rmSync, symlinkSync } from "node:fs"
import { createRequire } from "node:module"
import { $ } from "bun"

const require = createRequire(import.meta.url)

/** The `@duckdb/node-bindings-*` packages (see its `optionalDependencies`): the host's is bundled, the rest not. */
const bindingPlatforms = [
  "darwin-arm64",
  "darwin-x64",
  "linux-arm64",
  "linux-arm64-musl",
  "linux-x64",
  "linux-x64-musl",
  "win32-arm64",
  "win32-x64"
]

const isMusl = (): boolean => {
  if (process.platform !== "linux") return false
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined
  return report?.header?.glibcVersionRuntime === undefined
}

const host = `${process.platform}-${process.arch}${isMusl() ? "-musl" : ""}`
if (!bindingPlatforms.includes(host)) throw new Error(`DuckDB has no native bindings for ${host}`)
const libraryName =
  process.platform === "darwin" ? "libduckdb.dylib" : process.platform === "win32" ? "duckdb.dll" : "libduckdb.so"
const library = require.resolve(`@duckdb/node-bindings-${host}/${libraryName}`)
const externals = bindingPlatforms
  .filter((p) => p !== host)
  .flatMap((p) => ["--external", `@duckdb/node-bindings-${p}/duckdb.node`])

const out = "dist/marketpipe"
// The lake writer threads' and the page decode thread's code: a binary runs a worker only from an entrypoint of its
// own (`lake/write-pool.ts`, `providers/kit/decode-pool.ts`).
const worker = ["src/lake/write-worker.ts", "src/providers/kit/decode-worker.ts"]
await $`node_modules/.bin/bun build --compile --splitting --minify --bytecode --format=esm src/cli/main.ts ${worker} ${library} --outfile ${out} ${externals}`
// `force` also removes a dangling link, which `existsSync` would call absent.
rmSync("dist/mp", { force: true })
symlinkSync("marketpipe", "dist/mp")
console.log(`built ${out} (DuckDB for ${host} embedded)`)

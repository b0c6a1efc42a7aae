/**
 * DuckDB's native library inside the compiled binary. `scripts/build.ts` embeds `libduckdb.so` (the host platform's
 * copy) next to `duckdb.node`, which Bun embeds by itself. The addon names `libduckdb.so` as a dependency and looks
 * for it beside itself, where a compiled binary has nothing; so before the addon loads, this module writes the
 * embedded library once to a cache directory and `dlopen`s it. The loader then finds the library already in the
 * process by its soname, and no `LD_LIBRARY_PATH` is needed.
 *
 * Only the compiled binary imports this module (Bun-only APIs); source runs load `@duckdb/node-api` directly.
 */
import { dlopen, FFIType } from "bun:ffi"
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
import { homedir, tmpdir } from "node:os"
import { dirname, join } from "node:path"
import bindings from "@duckdb/node-bindings/package.json" with { type: "json" }

/** The embedded library's file name, with or without the hash Bun's asset naming adds. */
const embeddedName = /^(?:lib)?duckdb(?:-[a-z0-9]+)?\.(?:so|dylib|dll)$/u

const libraryFile = (name: string) => name.replace(/-[a-z0-9]+(?=\.(?:so|dylib|dll)$)/u, "")

interface Preloaded {
  readonly path: string
  readonly version: string
  /** Held for the life of the process: closing it would unload the library under the addon. */
  readonly handle: { readonly close: () => void }
}

let preloaded: Preloaded | undefined

/**
 * Where the library may be written, best first: the user's cache, beside the binary, then a per-user temp dir.
 * Each is versioned, so an upgraded binary never loads an older library.
 */
function candidateDirs(env: Readonly<Record<string, string | undefined>>): ReadonlyArray<string> {
  const versioned = `duckdb-${bindings.version}`
  const home = env.HOME ?? homedir()
  const cache =
    env.XDG_CACHE_HOME !== undefined && env.XDG_CACHE_HOME !== "" ? env.XDG_CACHE_HOME : join(home, ".cache")
  const uid = typeof process.getuid === "function" ? process.getuid() : "user"
  return [
    join(cache, "marketpipe", versioned),
    join(dirname(process.execPath), `.marketpipe-${versioned}`),
    join(tmpdir(), `marketpipe-${uid}`, versioned)
  ]
}

/** A temp dir other users could have prepared is used only when it is ours and nobody else can write to it. */
function safeDir(dir: string): boolean {
  const s = statSync(dir)
  const mine = typeof process.getuid !== "function" || s.uid === process.getuid()
  return s.isDirectory() && mine && (s.mode & 0o022) === 0
}

/** Writes the library to `dir/name` once (temp file + rename: a concurrent run never loads half a file). */
async function materialise(dir: string, name: string, blob: Blob): Promise<string> {
  const path = join(dir, name)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  if (!safeDir(dir)) throw new Error("the directory is writable by other users")
  if (existsSync(path) && statSync(path).size === blob.size) return path
  const temp = `${path}.${process.pid}.tmp`
  try {
    writeFileSync(temp, new Uint8Array(await blob.arrayBuffer()), { mode: 0o755 })
    chmodSync(temp, 0o755)
    renameSync(temp, path)
  } finally {
    rmSync(temp, { force: true })
  }
  return path
}

/**
 * Makes the embedded DuckDB library loadable; returns its path and version, or `undefined` when the binary carries
 * no library (then the system loader's usual search applies).
 */
export async function preloadEmbeddedDuckDB(
  env: Readonly<Record<string, string | undefined>>
): Promise<Preloaded | undefined> {
  if (preloaded !== undefined) return preloaded
  const nameOf = (f: Blob) => (f as Blob & { readonly name?: string }).name ?? ""
  const blob = Bun.embeddedFiles.find((f) => embeddedName.test(nameOf(f)))
  if (blob === undefined) return undefined
  const name = libraryFile(nameOf(blob))
  const tried: Array<string> = []
  // A directory can be unwritable, or mounted noexec (then dlopen fails): try the next one.
  for (const dir of candidateDirs(env)) {
    try {
      const path = await materialise(dir, name, blob)
      const handle = dlopen(path, { duckdb_library_version: { args: [], returns: FFIType.cstring } })
      preloaded = { path, version: String(handle.symbols.duckdb_library_version()), handle }
      return preloaded
    } catch (error) {
      tried.push(`${dir}: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  throw new Error(`could not unpack DuckDB's library into any of: ${tried.join("; ")}`)
}

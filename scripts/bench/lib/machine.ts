/** Where and on what a benchmark ran: the machine, the runtimes' versions and the commit, for every recorded row. */
import { cpus, release, totalmem } from "node:os"
import { version as duckdbVersion } from "@duckdb/node-api"

export interface Machine {
  readonly cpu: string
  readonly cores: number
  readonly ramGiB: number
  readonly kernel: string
  readonly bun: string
  readonly deno: string
  readonly node: string
  readonly duckdb: string
  /** `git rev-parse --short HEAD`, with `+dirty` when src, plugins or mod.ts have uncommitted changes. */
  readonly commit: string
}

const firstLine = (argv: ReadonlyArray<string>): string => {
  try {
    const out = Bun.spawnSync([...argv], { stdout: "pipe", stderr: "pipe" })
    return out.exitCode === 0 ? (out.stdout.toString().split("\n")[0] ?? "").trim() : "?"
  } catch {
    return "?"
  }
}

export function describeMachine(): Machine {
  const dirty = firstLine(["git", "status", "--porcelain", "--", "src", "plugins", "mod.ts"]) !== ""
  return {
    cpu: cpus()[0]?.model.trim() ?? "?",
    cores: cpus().length,
    ramGiB: Math.round(totalmem() / 2 ** 30),
    kernel: `Linux ${release()}`,
    bun: Bun.version,
    deno: firstLine(["node_modules/.bin/deno", "--version"])
      .replace(/^deno /u, "")
      .replace(/ \(.*$/u, ""),
    node: firstLine(["node", "--version"]),
    duckdb: duckdbVersion(),
    commit: `${firstLine(["git", "rev-parse", "--short", "HEAD"])}${dirty ? "+dirty" : ""}`
  }
}

/** One table cell: `2 × AMD EPYC, 24 GiB, Bun 1.4.5, Deno 2.9.6, DuckDB v1.5.6, Node v20.20.2`. */
export const machineCell = (m: Machine): string =>
  `${m.cores} × ${m.cpu}, ${m.ramGiB} GiB, Bun ${m.bun}, Deno ${m.deno}, DuckDB ${m.duckdb}, Node ${m.node}`

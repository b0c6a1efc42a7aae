/**
 * Start-of-run recovery after a crash or `kill -9`: jobs whose process is gone are closed as abandoned (their
 * unfinished partitions failed, so the ledger-driven plan redoes them) and the temp files and findings spools they
 * left are removed.
 * Nothing a live process on this host is doing is touched; other hosts' work is left to their leases (Postgres).
 */
import { hostname } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { removeOrphanTemps } from "../lake/atomic-file.ts"
import { Jobs } from "../repository/jobs.ts"
import { removeOrphanSpools } from "../validation/findings-spool.ts"

export const processOwner = (): string => `${hostname()}:${process.pid}`

/**
 * What this machine can tell of the process named `host:pid`: on this host it is alive or gone; another host's
 * process cannot be judged from here.
 */
export type OwnerState =
  | { readonly state: "alive" | "gone"; readonly host: string; readonly pid: number }
  | { readonly state: "elsewhere"; readonly host: string }

export function ownerState(owner: string): OwnerState {
  const at = owner.lastIndexOf(":")
  const host = owner.slice(0, at)
  const pid = Number(owner.slice(at + 1))
  if (host !== hostname()) return { state: "elsewhere", host }
  if (at < 0 || !Number.isInteger(pid) || pid <= 0) return { state: "gone", host, pid }
  if (pid === process.pid) return { state: "alive", host, pid }
  try {
    process.kill(pid, 0)
    return { state: "alive", host, pid }
  } catch (e) {
    return { state: (e as NodeJS.ErrnoException).code === "EPERM" ? "alive" : "gone", host, pid }
  }
}

/** Whether the process named `host:pid` may still be running (unknown hosts are assumed alive). */
export const isOwnerAlive = (owner: string): boolean => ownerState(owner).state !== "gone"

export interface Recovered {
  readonly abandonedJobs: ReadonlyArray<number>
  readonly removedTemps: ReadonlyArray<string>
}

export const recover = (dataDir: string) =>
  Effect.gen(function* () {
    const jobs = yield* Jobs
    const abandonedJobs = yield* jobs.abandonStale(isOwnerAlive)
    const removedTemps = yield* Effect.sync(() => [
      ...removeOrphanTemps(join(dataDir, "ohlcv"), isOwnerAlive),
      ...removeOrphanSpools(dataDir, isOwnerAlive)
    ])
    return { abandonedJobs, removedTemps } satisfies Recovered
  })

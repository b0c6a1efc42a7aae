/**
 * The guard on released schemas: `schemas/lock.json` holds the SHA-256 of every versioned schema file
 * (`config.v1.json`, `filters.v1.json`, …). A released version's file must never change — files users wrote for it
 * would stop validating — so a change means a new version. `npm run schemas` refuses to rewrite a locked file, and a
 * test (`test/unit/schema-lock.test.ts`) fails CI when a checked-in file and the lock disagree.
 */
import { createHash } from "node:crypto"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"

export const LOCK_NAME = "lock.json"
const VERSIONED = /^[a-z][a-z0-9-]*\.v[1-9][0-9]*\.json$/u

export const sha256 = (bytes: string | Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`

export type Lock = Readonly<Record<string, string>>

export function readLock(dir: string): Lock {
  const path = join(dir, LOCK_NAME)
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as Lock) : {}
}

export const lockText = (lock: Lock) =>
  `${JSON.stringify(Object.fromEntries(Object.entries(lock).sort(([a], [b]) => (a < b ? -1 : 1))), null, 2)}\n`

/** What is wrong between the schema files in `dir` and its lock: empty when every file is locked and unchanged. */
export function lockProblems(dir: string): Array<string> {
  const lock = readLock(dir)
  const files = readdirSync(dir)
    .filter((f) => VERSIONED.test(f))
    .sort()
  const problems: Array<string> = []
  for (const file of files) {
    const locked = lock[file]
    if (locked === undefined) {
      problems.push(`${file} is not in ${LOCK_NAME}: run \`npm run schemas\` to lock a new version`)
      continue
    }
    if (sha256(readFileSync(join(dir, file))) !== locked) {
      problems.push(
        `${file} changed after its version was released (${LOCK_NAME}); files written for it would no longer validate — add the change as a new version instead`
      )
    }
  }
  for (const file of Object.keys(lock).sort()) {
    if (!files.includes(file))
      problems.push(`${file} is locked in ${LOCK_NAME} but missing: a released schema was deleted`)
  }
  return problems
}

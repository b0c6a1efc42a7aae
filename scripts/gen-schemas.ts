/**
 * Regenerates `schemas/*.json` from the `Schema`s of the files users write (each the one source of truth). A new
 * version's file is written and locked (`schemas/lock.json`); a locked file is never rewritten: if its Schema
 * changed, this stops and says to add a version (`schema-lock.ts`).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { configJsonSchema, configVersions } from "../src/config/json-schema.ts"
import { filtersV1JsonSchema } from "../src/universe/filters.ts"
import { LOCK_NAME, lockText, readLock, sha256 } from "./schema-lock.ts"

const dir = "schemas"
const lock: Record<string, string> = { ...readLock(dir) }
const documents: ReadonlyArray<readonly [string, unknown]> = [
  ...configVersions.map((v) => [`config.v${v}.json`, configJsonSchema(v)] as const),
  ["filters.v1.json", filtersV1JsonSchema()]
]

let refused = 0
for (const [file, schema] of documents) {
  const text = `${JSON.stringify(schema, null, 2)}\n`
  const path = join(dir, file)
  const locked = lock[file]
  if (locked !== undefined && sha256(text) !== locked) {
    refused++
    console.error(`${path} is released (${LOCK_NAME}) and its Schema changed: add a new version instead`)
    continue
  }
  if (!existsSync(path) || readFileSync(path, "utf8") !== text) writeFileSync(path, text)
  lock[file] = sha256(text)
  console.log(`${locked === undefined ? "wrote and locked" : "unchanged"} ${path}`)
}
writeFileSync(join(dir, LOCK_NAME), lockText(lock))
if (refused > 0) process.exit(1)

/** Regenerates `schemas/*.json` from the `Schema`s of the files users write (each the one source of truth). */
import { writeFileSync } from "node:fs"
import { configV1JsonSchema } from "../src/config/schema.ts"
import { filtersV1JsonSchema } from "../src/universe/filters.ts"

for (const [file, schema] of [
  ["schemas/config.v1.json", configV1JsonSchema()],
  ["schemas/filters.v1.json", filtersV1JsonSchema()]
] as const) {
  writeFileSync(file, `${JSON.stringify(schema, null, 2)}\n`)
  console.log(`wrote ${file}`)
}

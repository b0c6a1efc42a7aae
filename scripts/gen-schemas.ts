/** Regenerates `schemas/*.json` from the config `Schema` (the one source of truth). */
import { writeFileSync } from "node:fs"
import { configV1JsonSchema } from "../src/config/schema.ts"

writeFileSync("schemas/config.v1.json", `${JSON.stringify(configV1JsonSchema(), null, 2)}\n`)
console.log("wrote schemas/config.v1.json")

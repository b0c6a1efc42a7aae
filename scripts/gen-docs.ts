/** Regenerates `docs/providers.md` from the built-in plugins' declared capabilities. */
import { writeFileSync } from "node:fs"
import { matrixMarkdown } from "../src/providers/matrix.ts"
import { builtinPlugins } from "../src/providers/registry.ts"

writeFileSync("docs/providers.md", matrixMarkdown(builtinPlugins))
console.log("wrote docs/providers.md")

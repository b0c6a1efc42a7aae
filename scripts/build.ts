/**
 * Builds the single `dist/marketpipe` binary (and the `dist/mp` alias). DuckDB's native module is left out: only
 * query commands load it, lazily, so the ingest binary runs with no `node_modules` beside it.
 */

import { existsSync, rmSync, symlinkSync } from "node:fs"
import { $ } from "bun"

const out = "dist/marketpipe"
await $`node_modules/.bin/bun build --compile --minify --bytecode --format=esm src/cli/main.ts --outfile ${out} --external @duckdb/node-api --external @duckdb/node-bindings`
if (existsSync("dist/mp")) rmSync("dist/mp")
symlinkSync("marketpipe", "dist/mp")
console.log(`built ${out}`)

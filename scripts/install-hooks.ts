/**
 * `npm ci` / `npm install` run this (`prepare`): installs the lefthook pre-commit hook (biome on staged files and the
 * typecheck, `lefthook.yml`) in a git checkout. Skipped in CI, outside a git work tree, or with LEFTHOOK=0; a
 * failure is reported and never fails the install.
 */
import { spawnSync } from "node:child_process"

const skip = (why: string) => {
  console.log(`hooks: not installed (${why})`)
  process.exit(0)
}

if (process.env.CI !== undefined && process.env.CI !== "" && process.env.CI !== "false") skip("CI")
if (process.env.LEFTHOOK === "0") skip("LEFTHOOK=0")
const git = spawnSync("git", ["rev-parse", "--is-inside-work-tree"], { encoding: "utf8" })
if (git.status !== 0 || git.stdout.trim() !== "true") skip("not a git work tree")
const install = spawnSync("node_modules/.bin/lefthook", ["install"], { encoding: "utf8" })
if (install.status !== 0) {
  console.warn(`hooks: lefthook install failed; run \`npx lefthook install\` yourself\n${install.stderr ?? ""}`)
  process.exit(0)
}
console.log("hooks: lefthook pre-commit hook installed (biome check on staged files, typecheck)")

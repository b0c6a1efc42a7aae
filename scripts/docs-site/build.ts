/**
 * `npm run docs:site`: the docs site in `site/`. Guides (README, docs/, ARCHITECTURE, CONTRIBUTING, …, `pages.ts`)
 * are built by VitePress: a static site from the Markdown as written, offline, failing on a dead link between pages.
 * The API reference of `mod.ts` is `deno doc --html`: Deno's own TypeScript front end reads our sources, so it works
 * with the pinned TypeScript 7 (TypeDoc needs TypeScript's JS API, which 7 no longer has). Any warning from either,
 * a link to a missing file, or a link in the built HTML that reaches nothing fails the build.
 */
import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { brokenLinks } from "./check-links.ts"
import { pages, rewriteLinks } from "./pages.ts"

const root = resolve(import.meta.dir, "../..")
const source = join(root, "site-src")
const site = join(root, "site")
const base = process.env.MARKETPIPE_SITE_BASE ?? "/"

const fail = (what: string, lines: ReadonlyArray<string>) => {
  console.error(`docs:site: ${what}\n${lines.map((l) => `  ${l}`).join("\n")}`)
  process.exit(1)
}

/** Runs a tool; its output, or the build stops when it fails or warns. */
function run(what: string, command: string, args: ReadonlyArray<string>, cwd: string): string {
  const r = spawnSync(command, args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" }
  })
  const output = `${r.stdout ?? ""}${r.stderr ?? ""}`
  if (r.status !== 0) fail(`${what} failed (exit ${r.status})`, output.split("\n"))
  const warnings = output.split("\n").filter((l) => /\bwarn(ing)?\b|\(!\)/iu.test(l))
  if (warnings.length > 0) fail(`${what} warned`, warnings)
  return output
}

rmSync(source, { recursive: true, force: true })
rmSync(site, { recursive: true, force: true })

// 1. The guide pages, links rewritten.
const broken: Array<string> = []
for (const page of pages) {
  const { text, broken: bad } = rewriteLinks(root, page)
  broken.push(...bad)
  const target = join(source, `${page.page}.md`)
  mkdirSync(dirname(target), { recursive: true })
  writeFileSync(target, text)
}
if (broken.length > 0) fail("links to files that do not exist", broken)

const groups = [...new Set(pages.map((p) => p.group))].map((group) => ({
  text: group,
  items: pages
    .filter((p) => p.group === group)
    .map((p) => ({ text: p.title, link: `/${p.page === "index" ? "" : p.page}` }))
}))
mkdirSync(join(source, ".vitepress"), { recursive: true })
const config = {
  title: "MarketPipe",
  description: "OHLCV bars from provider plugins into a validated Parquet lake",
  base,
  outDir: "../site",
  themeConfig: {
    nav: [
      { text: "Guide", link: "/" },
      { text: "API", link: "/api/index.html", target: "_self" }
    ],
    sidebar: groups,
    search: { provider: "local" }
  }
}
writeFileSync(
  join(source, ".vitepress", "config.mts"),
  [
    "// Written by scripts/docs-site/build.ts: edit that, not this.",
    `const config = ${JSON.stringify(config, null, 2)}`,
    // The API reference is deno doc's, not a VitePress page (check-links.ts checks those links in the built HTML);
    // links to a local Grafana or Prometheus are what a reader runs, not pages.
    "export default { ...config, ignoreDeadLinks: [/^\\/api\\//, /^https?:\\/\\/(localhost|127\\.0\\.0\\.1)(:|\\/|$)/] }",
    ""
  ].join("\n")
)

// 2. VitePress builds the guides.
run("vitepress build", join(root, "node_modules/.bin/vitepress"), ["build", "site-src"], root)

// 3. deno doc builds the API reference, from a stage without @types/* and bun-types: their Node and Bun typings
// are for tsc and make Deno warn on every reference path; Deno has its own.
const stage = mkdtempSync(join(tmpdir(), "marketpipe-apidoc-"))
try {
  for (const entry of ["mod.ts", "src", "plugins", "package.json", "deno.json"]) {
    symlinkSync(join(root, entry), join(stage, entry))
  }
  mkdirSync(join(stage, "node_modules"))
  for (const name of readdirSync(join(root, "node_modules"))) {
    if (name === "@types" || name === "bun-types") continue
    symlinkSync(join(root, "node_modules", name), join(stage, "node_modules", name))
  }
  run(
    "deno doc",
    join(root, "node_modules/.bin/deno"),
    ["doc", "--html", "--name=MarketPipe", `--output=${join(site, "api")}`, "mod.ts"],
    stage
  )
} finally {
  rmSync(stage, { recursive: true, force: true })
}

// 4. Every link of the built site reaches a file.
const dead = brokenLinks(site, base)
if (dead.length > 0) fail(`${dead.length} broken links in the built site`, dead.slice(0, 50))
console.log(`docs:site: ${pages.length} guide pages and the API reference in ${site}, no warnings, no broken links`)

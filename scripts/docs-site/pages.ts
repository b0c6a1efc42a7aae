/**
 * The docs site's pages: which files of the repository become which page, in which sidebar group, and how their
 * links are rewritten — to the page a linked file became, or to the file on GitHub when it is no page (a schema, an
 * example folder). A link to a file that does not exist is a broken link and stops the build.
 */
import { existsSync, readFileSync } from "node:fs"
import { dirname, join, normalize, relative } from "node:path"

export interface Page {
  /** The repository file, from the root. */
  readonly source: string
  /** The page path in the site, without extension (`guide/workers`). */
  readonly page: string
  readonly title: string
  readonly group: "Guide" | "Operations" | "Extending" | "Project"
}

export const pages: ReadonlyArray<Page> = [
  { source: "README.md", page: "index", title: "Overview", group: "Guide" },
  { source: "docs/providers.md", page: "guide/providers", title: "Providers", group: "Guide" },
  { source: "docs/deno.md", page: "guide/deno", title: "Deno", group: "Guide" },
  { source: "examples/notebooks/README.md", page: "guide/notebooks", title: "Notebooks", group: "Guide" },
  { source: "docs/workers.md", page: "operations/workers", title: "Workers on Postgres", group: "Operations" },
  { source: "docs/scheduling.md", page: "operations/scheduling", title: "Scheduling", group: "Operations" },
  { source: "scripts/systemd/README.md", page: "operations/systemd", title: "systemd units", group: "Operations" },
  { source: "docs/doctor.md", page: "operations/doctor", title: "Doctor", group: "Operations" },
  { source: "grafana/README.md", page: "operations/grafana", title: "Grafana", group: "Operations" },
  {
    source: "examples/plugins/csv-dir/README.md",
    page: "extending/plugins",
    title: "Writing a plugin",
    group: "Extending"
  },
  { source: "ARCHITECTURE.md", page: "project/architecture", title: "Architecture", group: "Project" },
  { source: "CONTRIBUTING.md", page: "project/contributing", title: "Contributing", group: "Project" },
  { source: "docs/fuzzing.md", page: "project/fuzzing", title: "Fuzzing", group: "Project" },
  { source: "BENCHMARKS.md", page: "project/benchmarks", title: "Benchmarks", group: "Project" }
]

/** Where a repository file is read on GitHub (set by the Pages workflow; a placeholder elsewhere). */
export const repositoryUrl = (): string => process.env.MARKETPIPE_REPO_URL ?? "https://github.com/marketpipe/marketpipe"

/**
 * Text outside code made safe for VitePress, which compiles each page as a Vue template: a bare `<word>` would be a
 * tag and `{{` an interpolation. Code spans may run over lines; a blank line ends one.
 */
export function escapeForVue(line: string, inCode: boolean): { readonly line: string; readonly inCode: boolean } {
  let out = ""
  let code = inCode
  for (const part of line.split(/(`+)/u)) {
    if (/^`+$/u.test(part)) {
      code = !code
      out += part
      continue
    }
    out += code ? part : part.replaceAll("<", "&lt;").replaceAll("{{", "&#123;&#123;")
  }
  return { line: out, inCode: code }
}

/** A page's markdown with its links rewritten; `broken` lists links to files that do not exist. */
export function rewriteLinks(root: string, page: Page): { readonly text: string; readonly broken: Array<string> } {
  const text = readFileSync(join(root, page.source), "utf8")
  const bySource = new Map(pages.map((p) => [p.source, p]))
  const broken: Array<string> = []
  let fenced = false
  let inCode = false
  const lines = text.split("\n").map((raw) => {
    if (/^\s*(```|~~~)/u.test(raw)) {
      fenced = !fenced
      return raw
    }
    if (fenced) return raw
    if (raw.trim() === "") inCode = false
    const escaped = escapeForVue(raw, inCode)
    inCode = escaped.inCode
    return escaped.line.replace(/\]\(([^)\s]+)\)/gu, (whole, target: string) => {
      if (/^([a-z]+:|#|\/)/iu.test(target)) return whole
      const [path = "", anchor] = target.split("#")
      const file = normalize(join(dirname(page.source), decodeURIComponent(path)))
      const to = bySource.get(file)
      if (to !== undefined) {
        const link = relative(dirname(page.page), to.page) || "./"
        return `](${link.startsWith(".") ? link : `./${link}`}${anchor === undefined ? "" : `#${anchor}`})`
      }
      if (!existsSync(join(root, file))) {
        broken.push(`${page.source}: ${target}`)
        return whole
      }
      return `](${repositoryUrl()}/blob/main/${file}${anchor === undefined ? "" : `#${anchor}`})`
    })
  })
  return { text: lines.join("\n"), broken }
}

/**
 * The built site's link check: every relative or root-relative `href` and `src` in every HTML file must reach a file
 * of the site (`page`, `page.html` or `page/index.html`). External links are not fetched (the build runs offline).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative } from "node:path"

function htmlFiles(dir: string): Array<string> {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name)
    if (e.isDirectory()) return htmlFiles(path)
    return e.name.endsWith(".html") ? [path] : []
  })
}

const reaches = (path: string) =>
  (existsSync(path) && statSync(path).isFile()) || existsSync(`${path}.html`) || existsSync(join(path, "index.html"))

/** An attribute value as the browser reads it: `&#x2F;` is `/`. */
const decodeEntities = (value: string) =>
  value
    .replace(/&#x([0-9a-f]+);/giu, (_, hex: string) => String.fromCodePoint(Number.parseInt(hex, 16)))
    .replace(/&#([0-9]+);/gu, (_, dec: string) => String.fromCodePoint(Number(dec)))
    .replaceAll("&quot;", '"')
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&amp;", "&")

/** `file: link` for every link in `site` that reaches nothing; `base` is the site's base path (`/` or `/repo/`). */
export function brokenLinks(site: string, base = "/"): Array<string> {
  const broken: Array<string> = []
  for (const file of htmlFiles(site)) {
    const html = readFileSync(file, "utf8")
    for (const m of html.matchAll(/\s(?:href|src)="([^"]*)"/gu)) {
      const link = decodeEntities(m[1] ?? "")
      if (link === "" || /^([a-z][a-z0-9+.-]*:|#|\/\/)/iu.test(link)) continue
      const path = decodeURIComponent(link.split(/[?#]/u)[0] ?? "")
      if (path === "") continue
      const target = path.startsWith("/")
        ? path.startsWith(base)
          ? join(site, path.slice(base.length))
          : undefined
        : join(dirname(file), path)
      if (target === undefined || !reaches(target)) broken.push(`${relative(site, file)}: ${link}`)
    }
  }
  return broken
}

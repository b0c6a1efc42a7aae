import { afterEach, describe, expect, test } from "bun:test"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { brokenLinks } from "../../scripts/docs-site/check-links.ts"
import { escapeForVue, pages, rewriteLinks } from "../../scripts/docs-site/pages.ts"
import { removeDir, tempDir } from "../support/temp.ts"

let dir = ""
afterEach(() => removeDir(dir))

describe("docs site", () => {
  test("links to files that became pages go to those pages; other files to GitHub; missing ones are broken", () => {
    dir = tempDir("mp-site-")
    mkdirSync(join(dir, "docs"))
    mkdirSync(join(dir, "schemas"))
    writeFileSync(join(dir, "schemas", "config.v2.json"), "{}")
    writeFileSync(join(dir, "docs", "workers.md"), "# Workers\n")
    writeFileSync(
      join(dir, "README.md"),
      [
        "See [workers](docs/workers.md#setup), [the schema](schemas/config.v2.json), [gone](docs/gone.md),",
        "[a site](https://example.com) and [an anchor](#use).",
        "```sh",
        "[not a link](nowhere.md) <kept>",
        "```"
      ].join("\n")
    )
    const readme = pages.find((p) => p.source === "README.md")
    if (readme === undefined) throw new Error("README is a page")
    const { text, broken } = rewriteLinks(dir, readme)
    expect(text).toContain("[workers](./operations/workers#setup)")
    expect(text).toContain("[the schema](https://github.com/marketpipe/marketpipe/blob/main/schemas/config.v2.json)")
    expect(text).toContain("[a site](https://example.com) and [an anchor](#use).")
    expect(text).toContain("[not a link](nowhere.md) <kept>")
    expect(broken).toEqual(["README.md: docs/gone.md"])
  })

  test("text outside code is safe for Vue; code spans, even over lines, are left as written", () => {
    expect(escapeForVue("a <b> and {{ c }} but `<d>` stays", false)).toEqual({
      line: "a &lt;b> and &#123;&#123; c }} but `<d>` stays",
      inCode: false
    })
    const first = escapeForVue("run `tool <a>", false)
    expect(first).toEqual({ line: "run `tool <a>", inCode: true })
    expect(escapeForVue("<b>` then <c>", first.inCode)).toEqual({ line: "<b>` then &lt;c>", inCode: false })
  })

  test("the built site's link check finds a link that reaches nothing, entity-encoded or under the base", () => {
    dir = tempDir("mp-site-")
    mkdirSync(join(dir, "api", "~"), { recursive: true })
    writeFileSync(
      join(dir, "index.html"),
      '<a href="/base/guide.html">g</a><a href="/base/api/">api</a><a href="https://x.y">x</a>'
    )
    writeFileSync(join(dir, "guide.html"), '<a href="./index.html#top">i</a><img src="missing.png">')
    writeFileSync(join(dir, "api", "index.html"), "ok")
    writeFileSync(join(dir, "api", "~", "A.html"), '<link href="..&#x2F;styles.css"><a href="..&#x2F;index.html">')
    expect(brokenLinks(dir, "/base/")).toEqual(["api/~/A.html: ../styles.css", "guide.html: missing.png"])
    writeFileSync(join(dir, "api", "styles.css"), "")
    writeFileSync(join(dir, "missing.png"), "")
    expect(brokenLinks(dir, "/base/")).toEqual([])
    // A root link outside the base is not part of this site.
    writeFileSync(join(dir, "index.html"), '<a href="/elsewhere/page.html">e</a>')
    expect(brokenLinks(dir, "/base/")).toEqual(["index.html: /elsewhere/page.html"])
  })
})

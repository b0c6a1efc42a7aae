/** Every file under a directory, depth first; a directory that cannot be read (gone, no permission) is skipped. */
import { type Dirent, readdirSync } from "node:fs"
import { join } from "node:path"

export function walkFiles(root: string, visit: (path: string, entry: Dirent) => void): void {
  let entries: Array<Dirent>
  try {
    entries = readdirSync(root, { withFileTypes: true })
  } catch {
    return
  }
  for (const e of entries) {
    const p = join(root, e.name)
    if (e.isDirectory()) walkFiles(p, visit)
    else visit(p, e)
  }
}

/** `marketpipe providers list` and `providers matrix`: what each plugin offers, from its declared capabilities. */
import { Effect } from "effect"
import { matrixHeader, matrixMarkdown, matrixRows } from "../../providers/matrix.ts"
import { type App, type CommonFlags, currentEnvironment, type Environment, loadApp } from "../app.ts"
import { makeOutput, type Output, table } from "../output.ts"

/** The built-ins and a trusted config's plugins; says so when a found config's plugins were left unloaded. */
const listedPlugins = (app: App, out: Output) =>
  Effect.gen(function* () {
    const plugins = yield* app.allPlugins
    const skipped = app.loaded.trusted ? 0 : (app.loaded.config.plugins ?? []).length
    if (skipped > 0) {
      out.notice(
        `notice: ${skipped} plugin(s) named in ${app.loaded.file} not loaded: a config found in the working directory is not trusted to run code (pass --config to trust it)`
      )
    }
    return plugins
  })

export const providersListMain = (flags: CommonFlags, environment: Environment = currentEnvironment()) =>
  Effect.gen(function* () {
    const app = yield* loadApp(flags, environment)
    const out = makeOutput({ json: flags.json, tty: false })
    const plugins = yield* listedPlugins(app, out)
    if (flags.json) {
      out.result(
        JSON.stringify(
          plugins.map((p) => ({
            name: p.plugin.name,
            description: p.plugin.description,
            source: p.source,
            capabilities: p.plugin.capabilities
          }))
        )
      )
      return
    }
    out.result(
      table(
        ["provider", "source", "default feed", "credentials", "description"],
        plugins.map((p) => [
          p.plugin.name,
          p.source,
          p.plugin.capabilities.defaultFeed,
          p.plugin.capabilities.credentials.join(", ") || "none",
          p.plugin.description
        ])
      )
    )
  })

export const providersMatrixMain = (
  flags: CommonFlags & { readonly markdown: boolean },
  environment: Environment = currentEnvironment()
) =>
  Effect.gen(function* () {
    const app = yield* loadApp(flags, environment)
    const out = makeOutput({ json: flags.json, tty: false })
    const plugins = (yield* listedPlugins(app, out)).map((p) => p.plugin)
    if (flags.markdown) out.result(matrixMarkdown(plugins))
    else if (flags.json)
      out.result(
        JSON.stringify(matrixRows(plugins).map((r) => Object.fromEntries(matrixHeader.map((h, i) => [h, r[i]]))))
      )
    else out.result(table(matrixHeader, matrixRows(plugins)))
  })

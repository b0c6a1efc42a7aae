/**
 * The repository, for the reads that need it: the manifest of file versions (`asOf`) and the corporate actions
 * (`adjust`). Opened for the load's scope from `databaseUrl`; the repository code is imported only then, so a plain
 * load of the current lake never touches a database.
 */
import { existsSync } from "node:fs"
import { Context, Effect, Layer } from "effect"
import { StorageError, UsageError } from "../../domain/errors.ts"
import type { StoredAction } from "../../repository/corporate-actions.ts"
import type { VersionLookup } from "./as-of.ts"

export interface LoadRepository {
  readonly versions: VersionLookup
  /** The actions of `symbols` first seen at or before `asOf` (ISO), when given. */
  readonly actions: (
    symbols: ReadonlyArray<string>,
    asOf: string | undefined
  ) => Effect.Effect<ReadonlyArray<StoredAction>, StorageError>
}

const failed = (e: { readonly reason: string }) => new StorageError({ path: "repository", reason: e.reason })

/** Opens the repository at `databaseUrl` for the current scope; `field` and `what` word the error when there is none. */
export const openLoadRepository = (databaseUrl: string, field: string, what: string) =>
  Effect.gen(function* () {
    const { repositoryLayer, sqlitePath } = yield* Effect.promise(() => import("../../repository/layer.ts"))
    const { FileVersions } = yield* Effect.promise(() => import("../../repository/file-versions.ts"))
    const { CorporateActions } = yield* Effect.promise(() => import("../../repository/corporate-actions.ts"))
    if (databaseUrl.startsWith("sqlite:") && !existsSync(sqlitePath(databaseUrl))) {
      return yield* new UsageError({
        field,
        reason: `${what} needs the repository, and there is no database at ${sqlitePath(databaseUrl)} (set databaseUrl)`
      })
    }
    const context = yield* Layer.build(repositoryLayer(databaseUrl)).pipe(Effect.mapError(failed))
    const [versions, actions] = [Context.get(context, FileVersions), Context.get(context, CorporateActions)]
    return {
      versions: (prefix) => versions.under(prefix).pipe(Effect.mapError(failed)),
      actions: (symbols, asOf) => actions.list(symbols, asOf).pipe(Effect.mapError(failed))
    } satisfies LoadRepository
  })

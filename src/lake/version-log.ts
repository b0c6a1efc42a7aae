/**
 * What the sink needs from the manifest of file versions (the repository's `FileVersions` provides it): the current
 * version of a file before a write, and the record of the write, made in one transaction with the caller's ledger
 * rows. A sink without one (tools, tests of the lake alone) keeps no versions.
 */
import { Context, type Effect } from "effect"
import type { RepositoryError } from "../domain/errors.ts"
import type { FileVersion, VersionChange } from "../domain/file-version.ts"

export type { VersionChange }

export interface VersionLog {
  readonly current: (files: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, FileVersion>, RepositoryError>
  readonly commit: <E, R>(
    changes: ReadonlyArray<VersionChange>,
    alongside: Effect.Effect<void, E, R>
  ) => Effect.Effect<void, RepositoryError | E, R>
}

/** The version log a sink layer picks up when one is provided (the CLI's storage does; bare sinks keep none). */
export class LakeVersionLog extends Context.Service<LakeVersionLog, VersionLog>()("marketpipe/LakeVersionLog") {}

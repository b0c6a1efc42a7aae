/** The release version, printed by `marketpipe --version` and written into file metadata. */
export const VERSION = "0.1.0"

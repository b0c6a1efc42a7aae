/** A lake writer thread that loads, then answers every request with something that is not a write reply. */
export {}

declare const self: { onmessage: (() => void) | null; postMessage: (message: unknown) => void }

self.onmessage = () => self.postMessage({ hello: "world" })
self.postMessage({ ready: true })

/**
 * A provider that holds a run inside a unit until the test lets it go, so a test can act while a unit is in flight
 * (`jobs cancel` at a unit boundary) without sleeping: the fake provider's bars, but every request waits on `gate`
 * until `gate.release()`. `gate.reached` resolves when the first request is waiting. Name it in a config
 * (`plugins: [<this file>]`, provider `gated`); runs in this process share the one `gate`.
 */
import type { ProviderPlugin } from "../../mod.ts"
import fake from "../../plugins/fake/mod.ts"

class Gate {
  reached: Promise<void> = Promise.resolve()
  requests = 0
  private opened: Promise<void> = Promise.resolve()
  private arrive: () => void = () => {}
  private open: () => void = () => {}

  constructor() {
    this.close()
  }

  /** Shut again: the next request waits, and `reached` resolves when it does. */
  close(): void {
    this.requests = 0
    this.reached = new Promise((resolve) => {
      this.arrive = resolve
    })
    this.opened = new Promise((resolve) => {
      this.open = resolve
    })
  }

  /** What a request waits on. */
  pass(): Promise<void> {
    this.requests++
    this.arrive()
    return this.opened
  }

  release(): void {
    this.open()
  }
}

export const gate = new Gate()

const plugin: ProviderPlugin = {
  ...fake,
  name: "gated",
  description: "The fake provider's bars, held at a gate the test opens",
  make: (host, settings) =>
    host.Effect.map(fake.make(host, settings), (client) => ({
      ...client,
      bars: (request) =>
        host.Stream.unwrap(
          host.Effect.map(
            host.Effect.promise(() => gate.pass()),
            () => client.bars(request)
          )
        )
    }))
}

export default plugin

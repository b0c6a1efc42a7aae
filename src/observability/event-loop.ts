/**
 * Event-loop lag for `event_loop_lag_seconds`: every interval a timer is armed for "interval from now", and the gauge
 * is set to how late it fired. A busy loop (a long synchronous parse, a blocked write) shows up as the delay of the
 * next sample. The timer is unref'd, so the monitor alone never keeps a process alive, and it stops with its scope.
 */
import { Effect } from "effect"

export interface EventLoopMonitorOptions {
  /** Milliseconds between samples (default 100). */
  readonly intervalMs?: number
  /** Called with each sample, in seconds, after the gauge is set. */
  readonly onSample?: (lagSeconds: number) => void
}

/** What the monitor writes to: the `eventLoopLag` gauge of `makeMetrics`, or anything with an unlabelled `set`. */
export interface LagGauge {
  set(value: number): void
}

/** Samples the loop's lag into `gauge` until the scope closes. */
export const monitorEventLoop = (gauge: LagGauge, options: EventLoopMonitorOptions = {}) => {
  const intervalMs = Math.max(1, options.intervalMs ?? 100)
  return Effect.acquireRelease(
    Effect.sync(() => {
      const state: { timer: ReturnType<typeof setTimeout> | undefined; stopped: boolean } = {
        timer: undefined,
        stopped: false
      }
      const arm = () => {
        const due = performance.now() + intervalMs
        const timer = setTimeout(() => {
          if (state.stopped) return
          const lag = Math.max(0, performance.now() - due) / 1000
          gauge.set(lag)
          options.onSample?.(lag)
          arm()
        }, intervalMs)
        timer.unref()
        state.timer = timer
      }
      arm()
      return state
    }),
    (state) =>
      Effect.sync(() => {
        state.stopped = true
        if (state.timer !== undefined) clearTimeout(state.timer)
        state.timer = undefined
      })
  ).pipe(Effect.asVoid)
}

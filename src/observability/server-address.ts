/**
 * Where the Prometheus endpoint listens unless told otherwise. Apart from `server.ts` so the CLI's flag declarations
 * can show the defaults without loading the server and the metrics registry (prom-client) at start.
 */
export const defaultMetricsHost = "127.0.0.1"
export const defaultMetricsPort = 9464

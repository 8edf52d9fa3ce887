// The registry a server's /metrics answers from: the server's own metrics (requests, errors, pool
// gauges), the GRM's (what it did and what its registers show, when the GRM provides them) and the
// process's (CPU, memory, event loop, GC: prom-client's default metrics). Each is a registry of its
// own, merged here by reference, so a scrape reads all of them live; prom-client's global registry is
// never used.
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { GrmMetrics, MetricsSource } from '../grm/metrics.js';
import type { GrmApi } from '../grm/types.js';

/**
 * Default metrics describe the process, not a server, and collectDefaultMetrics starts an event-loop
 * delay monitor and a GC observer that it never stops: one registry per process, made on first use,
 * shared by every server (tests create hundreds).
 */
let processMetrics: Registry | undefined;

const redundantTotals = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export function processRegistry(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
    // Gauges that prom-client names _total, against Prometheus practice (promtool flags them); each is
    // the sum over `type` of the gauge of the same name without the suffix, which stays.
    for (const name of redundantTotals) processMetrics.removeSingleMetric(name);
  }
  return processMetrics;
}

/** The GRM's own metrics, when it has them (the Grm class does; test fakes need not). */
export function grmMetricsOf(grm: GrmApi): GrmMetrics | undefined {
  const candidate = (grm as Partial<MetricsSource>).metrics;
  return candidate?.registry instanceof Registry ? candidate : undefined;
}

/** One registry reading the server's, the GRM's and the process's metrics (names never collide). */
export function scrapeRegistry(server: Registry, grm: GrmApi): Registry {
  const grmMetrics = grmMetricsOf(grm);
  return Registry.merge([server, ...(grmMetrics ? [grmMetrics.registry] : []), processRegistry()]);
}

// Pool gauges from grm.listAdapters() (the GrmApi contract, so any GRM has them), read at scrape time
// (never cached, so a scrape sees the pool as it is). Adapters that left the pool disappear from the
// output because every gauge is reset first. What listAdapters does not carry (slots by state, engine
// contexts, slice entries, allocations by state) comes from the GRM's own registry
// (src/grm/metrics-devices.ts). Names follow Prometheus practice: a gauge never ends in _total, and a
// quantity's unit is in its name (docs/metrics.md).
import { Gauge, type Registry } from 'prom-client';
import type { AdapterView, GrmApi } from '../grm/types.js';

type Quantity = 'memory' | 'computeUnits';

const quantities: { field: Quantity; name: string; what: string }[] = [
  {
    field: 'memory',
    name: 'rafabric_adapter_memory',
    what: 'On-card memory bytes (CAP_MEM_BYTES, ra-spec 3)',
  },
  {
    field: 'computeUnits',
    name: 'rafabric_adapter_compute_units',
    what: 'Compute units (CAP_COMPUTE_UNITS, ra-spec 3)',
  },
];

/** Memory gauges carry their unit after the state word, compute units carry it before. */
const nameOf = (q: (typeof quantities)[number], which: 'capacity' | 'free') =>
  q.field === 'memory' ? `${q.name}_${which}_bytes` : `${q.name}_${which}`;

const healthStates: AdapterView['health'][] = ['healthy', 'degraded', 'unhealthy'];

/** Returns the function to call before each scrape; a GRM that throws is reported to onError. */
export function adapterGauges(
  grm: GrmApi,
  registry: Registry,
  onError: (err: unknown) => void,
): () => Promise<void> {
  const labelNames = ['adapter', 'server'] as const;
  const gauge = (name: string, help: string, extra: string[] = []) =>
    new Gauge({ name, help, labelNames: [...labelNames, ...extra], registers: [registry] });
  const gauges = quantities.map((q) => ({
    field: q.field,
    capacity: gauge(nameOf(q, 'capacity'), `${q.what} the adapter has`),
    free: gauge(nameOf(q, 'free'), `${q.what} in no slice of the slice table (ra-spec 10)`),
  }));
  // A state set (one series per state, 1 for the current one), as kube-state-metrics does.
  const health = gauge('rafabric_adapter_health', 'Adapter health: 1 for its current state', ['state']);
  const scrapeOk = new Gauge({
    name: 'rafabric_grm_scrape_ok',
    help: '1 when the last scrape could list the adapters, 0 when the GRM threw',
    registers: [registry],
  });
  return async () => {
    for (const metric of [...gauges.flatMap((g) => [g.capacity, g.free]), health]) metric.reset();
    let adapters: AdapterView[];
    try {
      adapters = await grm.listAdapters();
    } catch (err) {
      onError(err);
      scrapeOk.set(0);
      return;
    }
    scrapeOk.set(1);
    for (const a of adapters) {
      const labels = { adapter: a.id, server: a.server };
      for (const g of gauges) {
        g.capacity.set(labels, a[g.field].total);
        g.free.set(labels, a[g.field].free);
      }
      for (const state of healthStates) health.set({ ...labels, state }, a.health === state ? 1 : 0);
    }
  };
}

// Pool gauges, read from grm.listAdapters() at scrape time (never cached, so a scrape sees the pool as
// it is). Adapters that left the pool disappear from the output because every gauge is reset first.
import { Gauge, type Registry } from 'prom-client';
import type { AdapterView, GrmApi } from '../grm/types.js';

type Quantity = 'memory' | 'computeUnits' | 'slots';

const quantities: { field: Quantity; name: string; unit: string }[] = [
  { field: 'memory', name: 'rafabric_adapter_memory', unit: '_bytes' },
  { field: 'computeUnits', name: 'rafabric_adapter_compute_units', unit: '' },
  { field: 'slots', name: 'rafabric_adapter_slots', unit: '' },
];

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
  const totals = quantities.map((q) => ({
    field: q.field,
    total: gauge(`${q.name}_total${q.unit}`, `${q.field} the adapter has`),
    free: gauge(`${q.name}_free${q.unit}`, `${q.field} not in any slice`),
  }));
  // A state set (one series per state, 1 for the current one), as kube-state-metrics does.
  const health = gauge('rafabric_adapter_health', 'Adapter health: 1 for its current state', ['state']);
  // Only active allocations hold slices; released/lost counts need a GrmApi method (none yet).
  const allocations = gauge('rafabric_allocations', 'Allocations holding slices, by state', ['state']);
  const scrapeOk = new Gauge({
    name: 'rafabric_grm_scrape_ok',
    help: '1 when the last scrape could list the adapters, 0 when the GRM threw',
    registers: [registry],
  });
  return async () => {
    for (const metric of [...totals.flatMap((t) => [t.total, t.free]), health, allocations]) metric.reset();
    let adapters: AdapterView[];
    try {
      adapters = await grm.listAdapters();
    } catch (err) {
      onError(err);
      scrapeOk.set(0);
      return;
    }
    scrapeOk.set(1);
    const active = new Set<string>();
    for (const a of adapters) {
      const labels = { adapter: a.id, server: a.server };
      for (const t of totals) {
        t.total.set(labels, a[t.field].total);
        t.free.set(labels, a[t.field].free);
      }
      for (const state of healthStates) health.set({ ...labels, state }, a.health === state ? 1 : 0);
      for (const slice of a.slices) if (slice.allocation !== undefined) active.add(slice.allocation);
    }
    allocations.set({ state: 'active' }, active.size);
  };
}

// The reallocation loop: reclaims allocations whose lease expired or whose slices sat idle past their
// policy's limit (read from the adapters' utilization counters, ra-spec §10), and marks allocations
// on adapters that went unhealthy as lost, or replaces those slices when the policy asks (their
// contents cannot be read off a dead adapter).
import type { Grm } from './grm.js';

export interface ReallocationEvent {
  allocation: string;
  action: 'lease-expired' | 'idle-reclaimed' | 'adapter-lost' | 'replaced';
  detail: string;
}

export async function reallocateOnce(grm: Grm, nowMs = Date.now()): Promise<ReallocationEvent[]> {
  const pool = await grm.readPool();
  const events: ReallocationEvent[] = [];
  const adapters = new Map(pool.adapters.map((a) => [a.id, a]));
  for (const a of [...grm.allocations.values()]) {
    if (a.state !== 'active') continue;
    const placements = a.resources.flatMap((r) => r.placements);
    const dead = placements.find((p) => adapters.get(p.adapter)?.health === 'unhealthy');
    if (dead && a.policy.onAdapterFailure === 'replace') {
      const replaced = await grm
        .replaceFailedSlices(a, (adapter) => adapters.get(adapter)?.health === 'unhealthy')
        .catch((err: Error) => err);
      if (!(replaced instanceof Error)) {
        events.push({
          allocation: a.id,
          action: 'replaced',
          detail: `slices on ${dead.adapter} programmed again on healthy adapters; their memory contents are lost`,
        });
        continue;
      }
      grm.log.warn(
        { allocation: a.id, err: replaced.message },
        'could not replace the failed slices: marking the allocation lost',
      );
    }
    if (dead) {
      const lost = { ...a, state: 'lost' as const };
      grm.store.update(lost);
      grm.allocations.set(a.id, lost);
      events.push({
        allocation: a.id,
        action: 'adapter-lost',
        detail: `adapter ${dead.adapter} is unhealthy`,
      });
      continue;
    }
    if (a.leaseExpiresAt && Date.parse(a.leaseExpiresAt) <= nowMs) {
      await grm.releaseLocked(a, 'lease expired');
      events.push({
        allocation: a.id,
        action: 'lease-expired',
        detail: `lease ended at ${a.leaseExpiresAt}`,
      });
      continue;
    }
    const limitMs = a.policy.idleReclaimMs;
    if (!limitMs || nowMs - Date.parse(a.createdAt) < limitMs) continue;
    // Idle = no slice of the allocation was used within the limit, on each adapter's own clock.
    const idle = placements.every((p) => {
      const adapter = adapters.get(p.adapter);
      const slice = adapter?.slices.find((s) => s.entry === p.slice);
      if (!adapter || !slice) return true;
      const lastUseNs = slice.lastActiveNs || 0;
      return lastUseNs === 0 ? true : adapter.clockNs - lastUseNs > limitMs * 1e6;
    });
    if (idle) {
      await grm.releaseLocked(a, `idle for more than ${limitMs} ms`);
      events.push({ allocation: a.id, action: 'idle-reclaimed', detail: `no use for over ${limitMs} ms` });
    }
  }
  for (const e of events) grm.log.info({ ...e }, `reallocation: ${e.action}`);
  return events;
}

/** Runs reallocateOnce every `intervalMs` until the returned stop() is called. */
export function startReallocator(grm: Grm, intervalMs: number): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    grm
      .exclusive(() => reallocateOnce(grm))
      .catch((err: Error) => grm.log.error({ err: err.message }, 'reallocation pass failed'))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

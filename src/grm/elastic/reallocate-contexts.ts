// The elastic pass for accelerator contexts (contexts.ts): the same decision as for compute units
// (policy.ts), measured on the busiest context slice of the resource (ra-spec §10), acted on by adding
// or releasing whole context slices.
import { RaError } from '../../common/errors.js';
import type { SliceSample } from '../../rvl/index.js';
import type { StoredAllocation } from '../../store/store.js';
import type { Maintenance } from '../maintenance.js';
import { GrmCode } from '../types.js';
import { contextsOf } from './contexts.js';
import { decide, initialState } from './policy.js';
import type { ElasticAction, ElasticMemory } from './reallocate.js';
import { resourceUtilization } from './utilization.js';

/** The accelerator resources of an active allocation whose policy makes contexts elastic. */
export function elasticContextResources(a: StoredAllocation): number[] {
  if (a.state !== 'active' || !a.policy.elastic?.accelerator) return [];
  return a.resources.flatMap((r, i) => (r.kind === 'accelerator' && r.placements.length > 0 ? [i] : []));
}

export async function actOnContexts(
  m: Maintenance,
  mem: ElasticMemory,
  a: StoredAllocation,
  i: number,
  latest: ReadonlyMap<string, SliceSample>,
  nowMs: number,
): Promise<ElasticAction[]> {
  const policy = a.policy.elastic!.accelerator!;
  const entries = a.resources[i]!.placements.map((p) => ({ adapter: p.adapter, entry: p.slice }));
  const measured = resourceUtilization(entries, a.id, mem.previous, latest);
  const utilization = m.jobsInFlight(a.id) > 0 ? 1 : measured;
  if (utilization === undefined) return [];
  const size = contextsOf(a, i);
  const key = `${a.id}#${i}`;
  const state = { ...(mem.states.get(key) ?? initialState(size, Date.parse(a.createdAt))), size };
  const r = decide(policy, state, utilization, nowMs);
  if (r.action.kind === 'none') {
    mem.states.set(key, r.state);
    return [];
  }
  let after = a;
  if (r.action.kind === 'shrink') after = await m.resizeContexts(a, i, r.action.to);
  else {
    // Takes less when the pool has less: the most contexts from the wanted size down that fit.
    for (let to = r.action.to; to > size && contextsOf(after, i) === size; to--)
      after = await m.resizeContexts(a, i, to).catch((err: unknown) => {
        if (err instanceof RaError && err.code === GrmCode.RESOURCE_UNAVAILABLE) return a;
        throw err;
      });
  }
  const got = contextsOf(after, i);
  mem.states.set(key, got === size ? { ...state, recent: r.state.recent } : { ...r.state, size: got });
  if (got === size) return [];
  return [
    {
      allocation: a.id,
      tenant: a.tenant,
      event: {
        at: new Date(nowMs).toISOString(),
        action: got > size ? 'grew' : 'shrank',
        resource: i,
        from: size,
        to: got,
        detail: `accelerator contexts ${size} -> ${got}: ${r.action.reason}${got !== r.action.to ? ` (wanted ${r.action.to})` : ''}`,
      },
    },
  ];
}

// The elastic pass for accelerator contexts (contexts.ts): the same decision as for compute units
// (policy.ts), measured on the busiest context slice of the resource (ra-spec §10), acted on by adding
// or releasing whole context slices.
import { RaError } from '../../common/errors.js';
import type { SliceSample } from '../../rvl/index.js';
import type { StoredAllocation } from '../../store/store.js';
import type { Maintenance } from '../maintenance.js';
import { GrmCode } from '../types.js';
import { contextsOf } from './contexts.js';
import { decideResize, type ElasticAction, type ElasticMemory, settleResize } from './resize-decision.js';

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
  const slices = a.resources[i]!.placements.map((p) => ({ adapter: p.adapter, entry: p.slice }));
  const size = contextsOf(a, i);
  const d = decideResize(m, mem, a, i, a.policy.elastic!.accelerator!, slices, size, latest, nowMs);
  if (!d) return [];
  let after = a;
  if (d.action.kind === 'shrink') after = await m.resizeContexts(a, i, d.action.to);
  else {
    // Takes less when the pool has less: the most contexts from the wanted size down that fit.
    for (let to = d.action.to; to > size && contextsOf(after, i) === size; to--)
      after = await m.resizeContexts(a, i, to).catch((err: unknown) => {
        if (err instanceof RaError && err.code === GrmCode.RESOURCE_UNAVAILABLE) return a;
        throw err;
      });
  }
  const got = contextsOf(after, i);
  const wanted = got !== d.action.to ? ` (wanted ${d.action.to})` : '';
  return settleResize(
    mem,
    a,
    i,
    d,
    got,
    nowMs,
    `accelerator contexts ${size} -> ${got}: ${d.action.reason}${wanted}`,
  );
}

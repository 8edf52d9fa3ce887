// Acting on preemption for a new request (admission-plan.ts): the plan is made against a what-if copy
// of the live index (the victims' shrinks and reclaims applied to its inventory, the request planned
// with the same `preferred` strategy), so the victims are touched only when that makes the request
// fit. Each victim's tenant gets an event (GET /v1/allocations/{id}/events) and the action is logged.
// The caller then allocates; should that still fail (a concurrent allocation took the room, an adapter
// failed), its error names what was preempted.
import { RaError } from '../../common/errors.js';
import {
  type AvailabilityIndex,
  applyResize,
  buildAvailability,
  type Inventory,
  type PlacementRequest,
  preferred,
  releaseAllocation as releaseFromInventory,
} from '../../rvl/index.js';
import type { StoredAllocation } from '../../store/store.js';
import type { Maintenance } from '../maintenance.js';
import { type AdmissionAction, type AdmissionCandidate, planAdmission } from './admission-plan.js';
import type { AllocationEvent } from './events.js';

export interface Preempted {
  allocation: string;
  tenant: string;
  event: AllocationEvent;
}

/** Its single elastic compute resource (the one a shrink may touch), as the elastic pass resizes. */
function elasticCompute(a: StoredAllocation): AdmissionCandidate['elastic'] {
  const policy = a.policy.elastic?.compute;
  if (!policy) return undefined;
  const singles = a.resources.flatMap((r, i) =>
    r.kind === 'compute' && r.placements.length === 1 ? [i] : [],
  );
  if (singles.length !== 1) return undefined;
  const i = singles[0]!;
  const units = a.resources[i]!.units ?? a.resources[i]!.placements[0]!.units ?? 0;
  return { resource: i, units, min: policy.min };
}

function candidatesOf(active: readonly StoredAllocation[]): AdmissionCandidate[] {
  return active.map((a) => {
    const elastic = elasticCompute(a);
    return {
      id: a.id,
      priority: a.policy.priority ?? 0,
      preemptible: a.policy.preemptible === true,
      size: a.resources.reduce((n, r) => n + r.placements.length, 0),
      ...(elastic ? { elastic } : {}),
    };
  });
}

/** The inventory as it would be after `actions` (shrinks free the slice's tail, as resize does). */
function whatIf(
  inventory: Inventory,
  actions: readonly AdmissionAction[],
  byId: Map<string, StoredAllocation>,
) {
  let inv = inventory;
  for (const x of actions) {
    if (x.kind === 'reclaim') {
      inv = releaseFromInventory(inv, x.id);
      continue;
    }
    const p = byId.get(x.id)!.resources[x.resource]!.placements[0]!;
    const slice = inv.slices.find((s) => s.adapter === p.adapter && s.entry === p.slice);
    if (!slice) continue;
    inv = applyResize(inv, { kind: 'shrink', slice, toLength: x.to });
  }
  return inv;
}

/**
 * Frees room for `request` of `priority` by preemption, if that makes it fit: the actions taken (with
 * their events recorded), [] when it fits without any, undefined when no allowed preemption makes it
 * fit (then nothing was touched).
 */
export async function preemptForRequest(
  m: Maintenance,
  index: AvailabilityIndex,
  request: PlacementRequest,
  priority: number,
  nowMs: number,
): Promise<Preempted[] | undefined> {
  const active = m.activeAllocations();
  const byId = new Map(active.map((a) => [a.id, a]));
  const inventory = index.toInventory();
  const fits = (actions: readonly AdmissionAction[]) =>
    preferred.plan(buildAvailability(whatIf(inventory, actions, byId)), request).ok;
  const plan = planAdmission(priority, candidatesOf(active), fits);
  if (!plan) return undefined;
  const at = new Date(nowMs).toISOString();
  const done: Preempted[] = [];
  const told = (d: Preempted) => {
    done.push(d);
    m.events.record(d.allocation, d.tenant, d.event);
    m.log.info({ allocation: d.allocation, ...d.event }, `reallocation: ${d.event.action}`);
  };
  for (const x of plan) {
    const victim = m.activeAllocations().find((a) => a.id === x.id);
    if (!victim) continue; // released meanwhile: its room is free anyway
    if (x.kind === 'shrink') {
      await m.resizeCompute(victim, x.resource, x.to);
      told({
        allocation: victim.id,
        tenant: victim.tenant,
        event: {
          at,
          action: 'preempted-shrink',
          resource: x.resource,
          from: x.from,
          to: x.to,
          detail: `shrunk toward its min (${victim.policy.elastic?.compute?.min}) for a new request of priority ${priority}`,
        },
      });
    } else {
      await m.withAllocation(victim.id, async (v) => {
        if (v?.state === 'active') await m.release(v, `preempted by a new request of priority ${priority}`);
      });
      told({
        allocation: victim.id,
        tenant: victim.tenant,
        event: {
          at,
          action: 'preempted-reclaim',
          detail: `reclaimed for a new request of priority ${priority}`,
        },
      });
    }
  }
  return done;
}

/**
 * The allocation `allocateOnce` makes after preemption freed room for it, when `unavailable` (the
 * first attempt's RESOURCE_UNAVAILABLE) can be cured by preempting for `priority`. Otherwise, or if
 * the allocation still fails, an error that says what was (or was not) preempted.
 */
export async function allocateAfterPreemption<T>(
  m: Maintenance,
  index: AvailabilityIndex,
  request: PlacementRequest,
  priority: number,
  unavailable: RaError,
  allocateOnce: () => Promise<T>,
): Promise<T> {
  const preempted = await preemptForRequest(m, index, request, priority, Date.now());
  if (!preempted)
    throw new RaError(
      unavailable.code,
      `${unavailable.message} (priority ${priority}: shrinking or reclaiming every preemptible allocation of ` +
        'lower priority would not make room either; nothing was preempted)',
      unavailable.details,
    );
  try {
    return await allocateOnce();
  } catch (err) {
    if (preempted.length === 0 || !(err instanceof RaError)) throw err;
    throw new RaError(
      err.code,
      `${err.message} (after ${preempted.length} lower-priority allocation(s) were shrunk or reclaimed for ` +
        'this request: another request took the room, or an adapter failed; their tenants were told)',
      { ...err.details, preempted: preempted.map((p) => p.event.action) },
    );
  }
}

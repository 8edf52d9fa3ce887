// One elastic resource's turn in the elastic pass, the parts that do not depend on what the resource is
// sliced by (compute units: reallocate.ts; accelerator contexts: reallocate-contexts.ts): measure its
// window (ra-spec §10 counters), run the policy (policy.ts), and once the resize is done, keep the
// policy's state and report the change.
import type { SliceSample } from '../../rvl/index.js';
import type { StoredAllocation } from '../../store/store.js';
import type { Maintenance } from '../maintenance.js';
import type { AllocationEvent } from './events.js';
import {
  decide,
  type ElasticPolicy,
  type ElasticAction as ElasticPolicyAction,
  type ElasticState,
  initialState,
} from './policy.js';
import { resourceUtilization } from './utilization.js';

/** What the elastic pass did to one allocation (recorded as its event). */
export interface ElasticAction {
  allocation: string;
  tenant: string;
  event: AllocationEvent;
}

/** What the elastic pass keeps between passes, per GRM. */
export interface ElasticMemory {
  /** The previous pass's samples, by adapter#entry (the start of this pass's window). */
  previous: Map<string, SliceSample>;
  /** Per allocation#resource. */
  states: Map<string, ElasticState>;
}

export const newElasticMemory = (): ElasticMemory => ({ previous: new Map(), states: new Map() });

export const stateKey = (id: string, resource: number) => `${id}#${resource}`;

/** The policy's decision to change one resource's size, and what settling it afterwards needs. */
export interface ResizeDecision {
  key: string;
  /** The size the window was measured at. */
  size: number;
  /** The policy's state before the decision. */
  state: ElasticState;
  action: Exclude<ElasticPolicyAction, { kind: 'none' }>;
  /** The policy's state once the action is carried out. */
  nextState: ElasticState;
}

/**
 * Measures resource `i` of `a` (its slices `slices`, now of `size`) over the window since the last
 * pass and runs its policy. Undefined when there is nothing to do: no usable window yet, or the policy
 * keeps the size (its state is kept).
 */
export function decideResize(
  m: Maintenance,
  mem: ElasticMemory,
  a: StoredAllocation,
  i: number,
  policy: ElasticPolicy,
  slices: readonly { adapter: string; entry: number }[],
  size: number,
  latest: ReadonlyMap<string, SliceSample>,
  nowMs: number,
): ResizeDecision | undefined {
  const measured = resourceUtilization(slices, a.id, mem.previous, latest);
  // A job still running is charged to the counters only when it completes: work in flight is use.
  const utilization = m.jobsInFlight(a.id) > 0 ? 1 : measured;
  if (utilization === undefined) return undefined;
  const key = stateKey(a.id, i);
  const state = { ...(mem.states.get(key) ?? initialState(size, Date.parse(a.createdAt))), size };
  const r = decide(policy, state, utilization, nowMs);
  if (r.action.kind === 'none') {
    mem.states.set(key, r.state);
    return undefined;
  }
  return { key, size, state, action: r.action, nextState: r.state };
}

/** A decision that is not carried out (no room, the quota): the size stays, the shrink window moves on. */
export function keepSize(mem: ElasticMemory, d: ResizeDecision): void {
  mem.states.set(d.key, { ...d.state, recent: d.nextState.recent });
}

/**
 * After the resize: keeps the policy's state for the size the resource has now, `got` (a size that did
 * not change is kept as by keepSize), and returns the grew/shrank event of a size that changed, with
 * `detail` saying what and why.
 */
export function settleResize(
  mem: ElasticMemory,
  a: StoredAllocation,
  i: number,
  d: ResizeDecision,
  got: number,
  nowMs: number,
  detail: string,
): ElasticAction[] {
  if (got === d.size) {
    keepSize(mem, d);
    return [];
  }
  mem.states.set(d.key, { ...d.nextState, size: got });
  const event: AllocationEvent = {
    at: new Date(nowMs).toISOString(),
    action: got > d.size ? 'grew' : 'shrank',
    resource: i,
    from: d.size,
    to: got,
    detail,
  };
  return [{ allocation: a.id, tenant: a.tenant, event }];
}

// The elastic policy of one resource (compute units or accelerator contexts) and its decision: from
// the utilization the ra-spec §10 counters gave over the last window, grow, shrink or leave it. Pure:
// no clock is read, no adapter is touched; the reallocator and the simulator feed it the same way.
// Memory is never elastic: its contents matter, so it changes size only when its tenant asks.
//
// Sizing is proportional (desired = ceil(size × utilization / target), as the Kubernetes horizontal
// autoscaler does), with three guards against flapping:
// - a band: nothing happens while utilization stays within ±bandFraction of the target;
// - a cooldown: no shrink within cooldownMs of the resource's last change (or its creation), and no
//   grow within cooldownMs of a shrink; a grow may follow a grow at once (a burst ramps up in
//   consecutive periods; only reversals are flapping);
// - a shrink stabilization: a shrink goes only to the largest size recommended during the last
//   SHRINK_WINDOW_COOLDOWNS × cooldownMs (the horizontal autoscaler's scale-down stabilization), so
//   quiet windows between busy ones do not undo a growth: a noisy signal settles at its peaks' size.
// ceil() makes the sizes consistent: after any change the predicted utilization is at most the
// target, and a steady signal recommends the size it already has.
import type { ElasticPolicy } from '../../common/model.js';
import { MAX_TARGET_UTILIZATION } from '../../common/schema/model.js';

/** What a tenant asks for one elastic resource: the data model's (src/common/model.ts). */
export type { ElasticPolicy };

/** The resource kinds a policy may resize: compute units and accelerator contexts, never memory. */
export const ELASTIC_KINDS = ['compute', 'accelerator'] as const;
export type ElasticKind = (typeof ELASTIC_KINDS)[number];

/** Half-width of the dead band around the target, as a fraction of the target. */
export const DEFAULT_BAND_FRACTION = 0.2;

/** The highest target a policy may set: above it, saturation could not be told from the target. */
export { MAX_TARGET_UTILIZATION };

/** A busy share at or above this is saturation: the slice was busy the whole window. */
const SATURATED = 0.99;

/** The shrink stabilization window, in cooldowns. */
export const SHRINK_WINDOW_COOLDOWNS = 4;

/** What the policy remembers of one resource between decisions. */
export interface ElasticState {
  size: number;
  /** When the size last changed (creation counts), in the caller's ms clock. */
  lastChangeMs: number;
  /** The direction of the last change; absent after creation. */
  lastChange?: 'grow' | 'shrink';
  /** Recommendations of the shrink stabilization window, oldest first. */
  recent: { atMs: number; desired: number }[];
}

export type ElasticAction =
  | { kind: 'none'; size: number; reason: string }
  | { kind: 'grow'; from: number; to: number; reason: string }
  | { kind: 'shrink'; from: number; to: number; reason: string };

export function initialState(size: number, createdAtMs: number): ElasticState {
  return { size, lastChangeMs: createdAtMs, recent: [] };
}

const clamp = (n: number, p: ElasticPolicy) => Math.min(p.max, Math.max(p.min, n));

/** The size that would bring `utilization` (measured at `size`) to at most the target. */
export function recommendedSize(size: number, utilization: number, p: ElasticPolicy): number {
  return clamp(Math.ceil((size * utilization) / p.targetUtilization - 1e-9), p);
}

/**
 * Decides for one resource from the utilization of the window that ended at `nowMs`, and returns the
 * state to keep (the caller applies the action; if it cannot, it keeps the old state's size).
 */
export function decide(
  p: ElasticPolicy,
  state: ElasticState,
  utilization: number,
  nowMs: number,
  bandFraction = DEFAULT_BAND_FRACTION,
): { action: ElasticAction; state: ElasticState } {
  const u = Math.min(1, Math.max(0, utilization));
  const desired = recommendedSize(state.size, u, p);
  const windowMs = SHRINK_WINDOW_COOLDOWNS * p.cooldownMs;
  const recent = [...state.recent.filter((r) => nowMs - r.atMs < windowMs), { atMs: nowMs, desired }];
  const keep = { ...state, recent };
  const none = (reason: string) => ({
    action: { kind: 'none' as const, size: state.size, reason },
    state: keep,
  });
  // Out of bounds (the tenant's min or max changed, or preemption left it low): back inside at once.
  if (state.size < p.min || state.size > p.max) {
    const to = clamp(state.size, p);
    return changed(state, to, nowMs, recent, `size ${state.size} is outside [${p.min}, ${p.max}]`);
  }
  const cooling = nowMs - state.lastChangeMs < p.cooldownMs;
  const low = p.targetUtilization * (1 - bandFraction);
  // A saturated resource hides how much more it needs: it is above the band whatever the target
  // (a target near 1 puts the band's top above 100%, which a busy share never reaches).
  const high = Math.min(SATURATED, p.targetUtilization * (1 + bandFraction));
  if (u >= high && desired > state.size) {
    if (cooling && state.lastChange === 'shrink') return none('cooling down after a shrink');
    return changed(state, desired, nowMs, recent, `utilization ${pct(u)} above ${pct(high)}`);
  }
  if (u < low) {
    if (cooling) return none('cooling down');
    const to = Math.max(...recent.map((r) => r.desired));
    if (to < state.size) return changed(state, to, nowMs, recent, `utilization ${pct(u)} below ${pct(low)}`);
  }
  return none(`utilization ${pct(u)} within the band or already at the bound`);
}

const pct = (u: number) => `${Math.round(u * 100)}%`;

function changed(
  state: ElasticState,
  to: number,
  nowMs: number,
  recent: ElasticState['recent'],
  reason: string,
): { action: ElasticAction; state: ElasticState } {
  const kind = to > state.size ? 'grow' : 'shrink';
  return {
    action: { kind, from: state.size, to, reason },
    state: { size: to, lastChangeMs: nowMs, lastChange: kind, recent },
  };
}

/** Why a policy is unusable, or undefined: min ≥ 1, max ≥ min, 0 < target ≤ 0.95, cooldown ≥ 0. */
export function policyProblem(p: ElasticPolicy): string | undefined {
  if (!Number.isSafeInteger(p.min) || p.min < 1) return 'min must be a whole number ≥ 1';
  if (!Number.isSafeInteger(p.max) || p.max < p.min) return 'max must be a whole number ≥ min';
  // Busy shares are capped at 1: a saturated slice must read as above the target to grow at all.
  if (!(p.targetUtilization > 0 && p.targetUtilization <= MAX_TARGET_UTILIZATION))
    return `targetUtilization must be a fraction in (0, ${MAX_TARGET_UTILIZATION}]`;
  if (!Number.isSafeInteger(p.cooldownMs) || p.cooldownMs < 0)
    return 'cooldownMs must be a whole number of milliseconds ≥ 0';
  return undefined;
}

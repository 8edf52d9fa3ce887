// What one viewer may see of the pool (issue 16's roles): an operator sees every allocation, its tenant
// and its slices; a tenant sees its own allocations and slices by id and only its own allocations'
// events. Of everything else it sees only how much is taken: per adapter, one "other" block per kind
// (per slot for contexts) as long as all the others' slices of that kind together, drawn at the end of
// the range. Its base is not a real slice's: where another tenant's slices sit, how many there are and
// how large each is are not the viewer's business (capacity free/total is, and that is all this adds).
import type { GrmEvent } from '../../grm/events.js';
import type { PictureAdapter, PictureSlice, PoolPicture } from '../../grm/picture.js';
import type { Allocation } from '../../grm/types.js';
import type { UsageHistory, UsagePoint } from './ui-usage.js';

export type Role = 'operator' | 'tenant';

export interface Viewer {
  tenant: string;
  role: Role;
}

/** own: the viewer's; other: another tenant's or unattributed (tenant view); allocation: operator view. */
export type SliceOwner =
  | { owner: 'own'; allocation: string }
  | { owner: 'other' }
  | { owner: 'allocation'; allocation: string; tenant: string }
  | { owner: 'unattributed' };

export type ViewSlice = { kind: string; base: number; length: number; slot?: number } & SliceOwner;

export interface ViewAdapter {
  id: string;
  server: string;
  health: string;
  memoryBytes: number;
  computeUnits: number;
  slots: { index: number; state: string; function?: string; contexts: number; contextsUsed: number }[];
  slices: ViewSlice[];
  /** Latest utilization point, null before two readings. */
  utilizationPercent: number | null;
  utilization: UsagePoint[];
}

export interface DashboardView {
  viewer: Viewer;
  at: string;
  adapters: ViewAdapter[];
  allocations: Allocation[];
  events: GrmEvent[];
}

function ownerOf(s: PictureSlice, viewer: Viewer): SliceOwner {
  if (viewer.role === 'operator') {
    return s.allocation !== undefined && s.tenant !== undefined
      ? { owner: 'allocation', allocation: s.allocation, tenant: s.tenant }
      : { owner: 'unattributed' };
  }
  return s.allocation !== undefined && s.tenant === viewer.tenant
    ? { owner: 'own', allocation: s.allocation }
    : { owner: 'other' };
}

const sees = (viewer: Viewer, tenant: string) => viewer.role === 'operator' || tenant === viewer.tenant;

/** The events of the viewer's allocations (every event for an operator). */
export function visibleEvents(viewer: Viewer, events: readonly GrmEvent[]): GrmEvent[] {
  return events.filter((e) => sees(viewer, e.tenant));
}

type ViewedSlice = PictureSlice & { kind: 'memory' | 'compute' | 'context' };

const shown = (s: PictureSlice): s is ViewedSlice =>
  s.kind === 'memory' || s.kind === 'compute' || s.kind === 'context';

/** A slice as the viewer may see it: its own, or (operators) anyone's. */
function sliceView(s: ViewedSlice, viewer: Viewer): ViewSlice {
  return {
    kind: s.kind,
    base: s.base,
    length: s.length,
    ...(s.slot !== undefined ? { slot: s.slot } : {}),
    ...ownerOf(s, viewer),
  };
}

/** For a tenant: its own slices, and everything else as one "other" block per kind and slot. */
function tenantSlices(a: PictureAdapter, viewer: Viewer): ViewSlice[] {
  const own: ViewSlice[] = [];
  const others = new Map<string, { kind: string; slot?: number; length: number; total: number }>();
  for (const s of a.slices.filter(shown)) {
    const view = sliceView(s, viewer);
    if (view.owner === 'own') {
      own.push(view);
      continue;
    }
    const total =
      s.kind === 'memory'
        ? a.memoryBytes
        : s.kind === 'compute'
          ? a.computeUnits
          : (a.slots.find((slot) => slot.index === s.slot)?.contexts ?? 0);
    const key = `${s.kind}/${s.slot ?? ''}`;
    const sum = others.get(key) ?? {
      kind: s.kind,
      ...(s.slot !== undefined ? { slot: s.slot } : {}),
      length: 0,
      total,
    };
    sum.length += s.length;
    others.set(key, sum);
  }
  const blocks: ViewSlice[] = [...others.values()].map(({ kind, slot, length, total }) => ({
    kind,
    base: Math.max(0, total - length),
    length,
    ...(slot !== undefined ? { slot } : {}),
    owner: 'other',
  }));
  return [...own, ...blocks];
}

export function viewFor(
  viewer: Viewer,
  picture: PoolPicture,
  usage: UsageHistory,
  events: readonly GrmEvent[],
  at: Date,
): DashboardView {
  return {
    viewer,
    at: at.toISOString(),
    adapters: picture.adapters.map((a) => {
      const utilization = usage.history(a.id);
      return {
        id: a.id,
        server: a.server,
        health: a.health,
        memoryBytes: a.memoryBytes,
        computeUnits: a.computeUnits,
        slots: a.slots.map((s) => ({ ...s })),
        slices:
          viewer.role === 'operator'
            ? a.slices.filter(shown).map((s) => sliceView(s, viewer))
            : tenantSlices(a, viewer),
        utilizationPercent: utilization.at(-1)?.percent ?? null,
        utilization,
      };
    }),
    allocations: picture.allocations.filter((a) => sees(viewer, a.tenant)),
    events: visibleEvents(viewer, events),
  };
}

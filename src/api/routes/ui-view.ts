// What one viewer may see of the pool (issue 16's roles, as far as they exist): an operator sees every
// allocation, its tenant and its slices; a tenant sees its own allocations and slices by id, every other
// slice only as "other" (no allocation id, no tenant name), and only its own allocations' events.
import type { GrmEvent } from '../../grm/events.js';
import type { PictureSlice, PoolPicture } from '../../grm/picture.js';
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
        slices: a.slices
          .filter((s) => s.kind === 'memory' || s.kind === 'compute' || s.kind === 'context')
          .map((s) => ({
            kind: s.kind,
            base: s.base,
            length: s.length,
            ...(s.slot !== undefined ? { slot: s.slot } : {}),
            ...ownerOf(s, viewer),
          })),
        utilizationPercent: utilization.at(-1)?.percent ?? null,
        utilization,
      };
    }),
    allocations: picture.allocations.filter((a) => sees(viewer, a.tenant)),
    events: visibleEvents(viewer, events),
  };
}

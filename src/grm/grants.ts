// Access grants (ra-spec §18, docs/access.md): the GRM asks each adapter of an allocation for a tenant
// window onto the allocation's slices there, and hands the windows to the allocation's tenant, one
// grant per placement. The GRM is then off the data path. Grants are revoked (windows closed) before
// the allocation's slices are released, resized or migrated, so nothing submitted through a revoked
// grant reaches a slice afterwards, and the release is acknowledged only after that.
//
// Grants are state of the control plane: the windows an allocation's grants use are recorded in its
// store record (`windows`: adapter, window, queue, reach) through the same durable write as any change
// of the allocation, before the grants are handed out. A GRM that restarts, or a replica that leads
// next, answers the same grants and revokes those windows. The record holds no window file: the file's
// name is the capability, and on every request the GRM asks the adapter's agent for it (ListWindows),
// which answers with the window's key: a recorded window that no longer shows open with the
// allocation's key on its queue (an adapter reset), or no longer reaches what the allocation holds
// (its contexts grew), is closed and the grants are issued again.
// Windows no allocation records are closed by reconciliation (reconcile.ts).

import { parseAdapterId } from '../common/ids.js';
import type { AccessGrant } from '../common/model.js';
import type { StoredAllocation } from '../store/store.js';
import type { GrmContext } from './context.js';
import type { Allocation } from './types.js';

type StoredWindow = NonNullable<StoredAllocation['windows']>[number];

interface OpenedWindow extends StoredWindow {
  path: string;
  /** prefix of the grant files of the window's memory slices: slice s is `${memoryPath}${s}` */
  memoryPath?: string;
}

/** What the agent's ListWindows answers per window (src/agent/agent.ts). */
interface ListedWindow {
  window: number;
  queue: number;
  ownerKey?: string;
  path?: string;
  memoryPath?: string;
}

/** Allocations whose windows this GRM is opening now (reconciliation leaves their windows alone). */
const issuingByGrm = new WeakMap<GrmContext, Set<string>>();

function issuingOf(ctx: GrmContext): Set<string> {
  const s = issuingByGrm.get(ctx) ?? new Set<string>();
  issuingByGrm.set(ctx, s);
  return s;
}

const portOf = (adapter: string): number => parseAdapterId(adapter)?.fabricPort ?? -1;
const keyOf = (adapter: string, slice: number) => `${adapter}#${slice}`;

/** The allocation's record without the windows of its grants: what a write after a revocation keeps. */
export const withoutWindows = ({ windows: _w, ...a }: StoredAllocation): StoredAllocation => a;

/** Whether this GRM is opening windows for the allocation right now (not yet recorded). */
export function issuingGrants(ctx: GrmContext, id: string): boolean {
  return issuingOf(ctx).has(id);
}

/** The placements with their kind; a whole adapter's are its memory slice (with an offset) and its compute slice. */
function placementsOf(a: StoredAllocation) {
  const kindOf = (r: (typeof a.resources)[number], p: (typeof r.placements)[number]) =>
    r.kind !== 'adapter' ? r.kind : p.offset !== undefined ? 'memory' : 'compute';
  return a.resources.flatMap((r) => r.placements.map((p) => ({ ...p, kind: kindOf(r, p) })));
}

/** Per adapter of the allocation, what its window may name: its slices there, and its memory slices elsewhere. */
function reachOf(a: StoredAllocation): Map<string, StoredWindow['reach']> {
  const placements = placementsOf(a);
  const adapters = [...new Set(placements.map((p) => p.adapter))];
  return new Map(
    adapters.map((adapter) => [
      adapter,
      placements
        .filter((p) => p.adapter === adapter || p.kind === 'memory')
        .map((p) => ({ port: portOf(p.adapter), slice: p.slice })),
    ]),
  );
}

function grantsFrom(a: StoredAllocation, windows: readonly OpenedWindow[]): Map<string, AccessGrant> {
  const byPlacement = new Map<string, AccessGrant>();
  for (const p of placementsOf(a)) {
    const w = windows.find((x) => x.adapter === p.adapter);
    if (!w) continue;
    byPlacement.set(keyOf(p.adapter, p.slice), {
      adapter: p.adapter,
      port: portOf(p.adapter),
      window: w.path,
      windowIndex: w.window,
      queue: w.queue,
      slice: p.slice,
      ...(p.kind === 'memory' && w.memoryPath && p.offset !== undefined && p.bytes !== undefined
        ? // the slice's grant file (ra-spec §18.7): byte 0 is the slice's first byte
          { memory: { path: `${w.memoryPath}${p.slice}`, base: 0, bytes: p.bytes } }
        : {}),
      reach: w.reach,
    });
  }
  return byPlacement;
}

/** One window per adapter of the allocation, all or nothing. */
async function open(ctx: GrmContext, a: StoredAllocation): Promise<OpenedWindow[]> {
  const windows: OpenedWindow[] = [];
  try {
    await Promise.all(
      [...reachOf(a)].map(async ([adapter, reach]) => {
        const opened = await ctx.commands
          .agentFor(adapter)
          .call<{ window: number; queue: number; path: string; memoryPath?: string }>('openWindow', {
            adapter,
            ownerKey: a.ownerKey,
            slices: reach,
          });
        windows.push({ adapter, reach, ...opened });
      }),
    );
  } catch (err) {
    await close(ctx, a, windows);
    throw err;
  }
  return windows;
}

/** CMD_TENANT_CLOSE of each window with the allocation's key (ra-spec §18.6); failures are logged. */
async function close(ctx: GrmContext, a: StoredAllocation, windows: readonly StoredWindow[]): Promise<void> {
  await Promise.all(
    windows.map((w) =>
      ctx.commands
        .agentFor(w.adapter)
        .call('closeWindow', { adapter: w.adapter, window: w.window, ownerKey: a.ownerKey })
        .catch((e: Error) =>
          // an adapter that is gone or was reset took its windows with it; anything else is logged loudly
          ctx.log.error(
            { allocation: a.id, adapter: w.adapter, window: w.window, err: e.message },
            'tenant window not closed',
          ),
        ),
    ),
  );
}

/** The windows an agent reports open on `adapter` (ListWindows); empty when it cannot say. */
export async function listWindows(ctx: GrmContext, adapter: string): Promise<ListedWindow[]> {
  const listed = await ctx.commands
    .agentFor(adapter)
    .call<{ windows: ListedWindow[] }>('listWindows', { adapter });
  return listed.windows;
}

/**
 * The recorded windows as the adapters show them now, with their files. `complete` when every one is
 * still open with the allocation's key on its queue and still reaches what the allocation holds;
 * otherwise (the adapter was reset, the record outlived a revocation) `open` are those of them still
 * open with the allocation's key.
 */
async function findRecorded(
  ctx: GrmContext,
  a: StoredAllocation,
): Promise<{ complete: boolean; open: OpenedWindow[] }> {
  const recorded = a.windows ?? [];
  const reach = reachOf(a);
  const found = await Promise.all(
    recorded.map(async (w): Promise<[OpenedWindow | undefined, boolean]> => {
      const listed = (await listWindows(ctx, w.adapter).catch(() => [])).find(
        (x) => x.window === w.window && x.queue === w.queue && x.ownerKey === a.ownerKey && x.path,
      );
      if (!listed?.path) return [undefined, false];
      const opened = {
        ...w,
        path: listed.path,
        ...(listed.memoryPath ? { memoryPath: listed.memoryPath } : {}),
      };
      return [opened, JSON.stringify(reach.get(w.adapter)) === JSON.stringify(w.reach)];
    }),
  );
  const open = found.flatMap(([w]) => (w ? [w] : []));
  const complete = found.length === reach.size && found.every(([w, reaches]) => w && reaches);
  return { complete, open };
}

/**
 * The allocation's grants: those its record names (a restarted GRM, another replica's), else new
 * windows, recorded in the store before they are handed out. Callers hold the allocation's lock.
 */
export async function grantsOf(ctx: GrmContext, a: StoredAllocation): Promise<Map<string, AccessGrant>> {
  let current = a;
  if (a.windows && a.windows.length > 0) {
    const found = await findRecorded(ctx, a);
    if (found.complete) return grantsFrom(a, found.open);
    // Not all there as recorded: close what is still open of them, forget them, issue anew.
    ctx.log.warn(
      { allocation: a.id },
      'recorded tenant windows are no longer open as recorded: issuing new grants',
    );
    await close(ctx, a, found.open);
    current = withoutWindows(a);
    await ctx.store.update(current);
    ctx.allocations.set(a.id, current);
  }
  const issuing = issuingOf(ctx);
  issuing.add(a.id);
  try {
    const opened = await open(ctx, current);
    const windows: StoredWindow[] = opened.map(({ adapter, window, queue, reach }) => ({
      adapter,
      window,
      queue,
      reach,
    }));
    const recorded: StoredAllocation = { ...current, windows };
    try {
      // Durable before anyone holds the grants: a GRM that restarts revokes what it handed out.
      await ctx.store.update(recorded);
    } catch (err) {
      await close(ctx, current, opened);
      throw err;
    }
    ctx.allocations.set(a.id, recorded);
    return grantsFrom(recorded, opened);
  } finally {
    issuing.delete(a.id);
  }
}

/**
 * Closes every window the allocation's grants use (its record's, as this GRM holds it now); resolves
 * once the adapters have revoked them (ra-spec §18.6). The caller then writes the allocation without
 * them (`withoutWindows`) or removes it; a crash in between leaves a record whose windows are closed,
 * which grantsOf notices (and issues anew) and revocation closes again harmlessly. True when there
 * were windows to close (the call awaited the agents: what was planned before it may be stale).
 */
export async function revokeGrants(ctx: GrmContext, a: StoredAllocation): Promise<boolean> {
  const windows = ctx.allocations.get(a.id)?.windows ?? a.windows ?? [];
  if (windows.length === 0) return false;
  await close(ctx, a, windows);
  return true;
}

/** The public view with each placement's grant, where one was issued. */
export function withGrants(view: Allocation, grants: ReadonlyMap<string, AccessGrant>): Allocation {
  return {
    ...view,
    resources: view.resources.map((r) => ({
      ...r,
      placements: r.placements.map((p) => {
        const grant = grants.get(keyOf(p.adapter, p.slice));
        return grant ? { ...p, grant } : p;
      }),
    })),
  };
}

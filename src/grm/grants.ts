// Access grants (ra-spec §18, docs/access.md): the GRM asks each adapter of an allocation for a tenant
// window onto the allocation's slices there, and hands the windows to the allocation's tenant, one
// grant per placement. The GRM is then off the data path. Grants are revoked (windows closed) before
// the allocation's slices are released, resized or migrated, so nothing submitted through a revoked
// grant reaches a slice afterwards, and the release is acknowledged only after that.
//
// Grants live in the GRM's memory, not in the store: a GRM that restarts has none to hand out until
// asked again, and the agents' windows of the old process are closed by the model's CMD_RESET or
// power cycle only (a known gap, docs/access.md).

import { parseAdapterId } from '../common/ids.js';
import type { AccessGrant } from '../common/model.js';
import type { StoredAllocation } from '../store/store.js';
import type { GrmContext } from './context.js';
import type { Allocation } from './types.js';

interface OpenedWindow {
  adapter: string;
  window: number;
  queue: number;
  path: string;
  /** prefix of the grant files of the window's memory slices: slice s is `${memoryPath}${s}` */
  memoryPath?: string;
}

interface Issued {
  windows: OpenedWindow[];
  /** `${adapter}#${slice}` -> grant */
  byPlacement: Map<string, AccessGrant>;
}

const issuedByGrm = new WeakMap<GrmContext, Map<string, Promise<Issued>>>();

function issuedOf(ctx: GrmContext): Map<string, Promise<Issued>> {
  const m = issuedByGrm.get(ctx) ?? new Map<string, Promise<Issued>>();
  issuedByGrm.set(ctx, m);
  return m;
}

const portOf = (adapter: string): number => parseAdapterId(adapter)?.fabricPort ?? -1;
const keyOf = (adapter: string, slice: number) => `${adapter}#${slice}`;

/** One window per adapter of the allocation: its slices there, and its memory slices elsewhere. */
async function issue(ctx: GrmContext, a: StoredAllocation): Promise<Issued> {
  // A whole adapter's placements are its memory slice (with an offset) and its compute slice.
  const kindOf = (r: (typeof a.resources)[number], p: (typeof r.placements)[number]) =>
    r.kind !== 'adapter' ? r.kind : p.offset !== undefined ? 'memory' : 'compute';
  const placements = a.resources.flatMap((r) => r.placements.map((p) => ({ ...p, kind: kindOf(r, p) })));
  const adapters = [...new Set(placements.map((p) => p.adapter))];
  const ownerKey = a.ownerKey;
  const windows: OpenedWindow[] = [];
  const byPlacement = new Map<string, AccessGrant>();
  try {
    await Promise.all(
      adapters.map(async (adapter) => {
        const reach = placements
          .filter((p) => p.adapter === adapter || p.kind === 'memory')
          .map((p) => ({ port: portOf(p.adapter), slice: p.slice }));
        const opened = await ctx.commands
          .agentFor(adapter)
          .call<Omit<OpenedWindow, 'adapter'>>('openWindow', { adapter, ownerKey, slices: reach });
        const w = { adapter, ...opened };
        windows.push(w);
        for (const p of placements.filter((x) => x.adapter === adapter)) {
          byPlacement.set(keyOf(adapter, p.slice), {
            adapter,
            port: portOf(adapter),
            window: w.path,
            windowIndex: w.window,
            queue: w.queue,
            slice: p.slice,
            ...(p.kind === 'memory' && w.memoryPath && p.offset !== undefined && p.bytes !== undefined
              ? // the slice's grant file (ra-spec §18.7): byte 0 is the slice's first byte
                { memory: { path: `${w.memoryPath}${p.slice}`, base: 0, bytes: p.bytes } }
              : {}),
            reach,
          });
        }
      }),
    );
  } catch (err) {
    await close(ctx, a, windows); // all or nothing
    throw err;
  }
  return { windows, byPlacement };
}

async function close(ctx: GrmContext, a: StoredAllocation, windows: readonly OpenedWindow[]): Promise<void> {
  const ownerKey = a.ownerKey;
  await Promise.all(
    windows.map((w) =>
      ctx.commands
        .agentFor(w.adapter)
        .call('closeWindow', { adapter: w.adapter, window: w.window, ownerKey })
        .catch((e: Error) =>
          // an adapter that is gone took its windows with it; anything else is logged loudly
          ctx.log.error(
            { allocation: a.id, adapter: w.adapter, window: w.window, err: e.message },
            'tenant window not closed',
          ),
        ),
    ),
  );
}

/** The allocation's grants, issued on first request (concurrent requests share one issue). */
export async function grantsOf(ctx: GrmContext, a: StoredAllocation): Promise<Map<string, AccessGrant>> {
  const issued = issuedOf(ctx);
  let p = issued.get(a.id);
  if (!p) {
    p = issue(ctx, a);
    issued.set(a.id, p);
    p.catch(() => issued.delete(a.id));
  }
  return (await p).byPlacement;
}

/** Closes every window of the allocation; resolves once the adapters have revoked them (ra-spec §18.6). */
export async function revokeGrants(ctx: GrmContext, a: StoredAllocation): Promise<void> {
  const issued = issuedOf(ctx);
  const p = issued.get(a.id);
  if (!p) return;
  issued.delete(a.id);
  const done = await p.catch(() => undefined);
  if (done) await close(ctx, a, done.windows);
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

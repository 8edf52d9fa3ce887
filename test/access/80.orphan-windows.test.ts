// Reconciliation closes tenant windows that no allocation's recorded grants name (issue 13; docs/access.md,
// "Grants in the store"): a window with a key no allocation holds (its allocation is gone), and a window
// with a live allocation's key that its record does not name (a grant never recorded). The window
// of the allocation's recorded grant stays open. Checked from the adapter's registers (QCB_OWNER of
// the queues) and the windows' own TW_STATE, not from the GRM. Before, reconciliation looked at slices
// only: such a window held its adapter queue until the adapter was reset.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Adapter } from '../../src/driver/adapter.js';
import { addon } from '../../src/driver/native.js';
import { Tw, TwState } from '../../src/driver/regs.js';
import { Slices } from '../../src/driver/slices.js';
import { TenantWindows } from '../../src/driver/tenants.js';
import { reconcile } from '../../src/grm/reconcile.js';
import { MiB, useEmbedded } from '../grm/helpers.js';

const mappings: { close(): void }[] = [];
afterEach(() => {
  for (const m of mappings.splice(0)) m.close();
});

/** TW_STATE from the window file's own registers (mapped while the file exists). */
function windowState(file: string): () => number {
  const m = new (addon().HostMapping)(file, 0, Tw.BYTES, false);
  mappings.push(m);
  return () => new Uint32Array(m.buffer)[Tw.STATE / 4]!;
}

describe('orphan tenant windows', () => {
  const ctx = useEmbedded(1, 64 * MiB);
  const withAdapter = async <T>(fn: (dev: Adapter) => Promise<T> | T): Promise<T> => {
    const dev = Adapter.open(`shm://${path.join(ctx.pool.modelDir, 'ra0.sock')}`);
    try {
      return await fn(dev);
    } finally {
      dev.close();
    }
  };
  /** Windows open on the adapter: window -> queue, from QCB_OWNER (ra-spec §18.3). */
  const openWindows = () => withAdapter((dev) => new TenantWindows(dev).inUse());

  it('closes a window whose key no allocation holds, and one its allocation never recorded; keeps the granted one', async () => {
    const grm = ctx.pool.grm;
    expect(await reconcile(grm)).toEqual([]);

    // A granted allocation: its window is recorded and must stay open.
    const a = await grm.allocate('alice', { resources: [{ kind: 'memory', bytes: 4 * MiB }] });
    const granted = await grm.grants('alice', a.id);
    const grant = granted.resources[0]!.placements[0]!.grant!;
    const grantedState = windowState(grant.window);

    // 1. A slice and a window with a key no allocation holds (as a released allocation's would be,
    //    had its window not been closed).
    const orphanKey = randomBytes(8).readBigUInt64BE() | 1n;
    const orphan = await withAdapter(async (dev) => {
      const entry = dev.identity.slices - 1;
      await new Slices(dev).program(
        { kind: 'memory', ownerKey: orphanKey, base: 48 * MiB, length: 4 * MiB },
        entry,
      );
      return new TenantWindows(dev).open(orphanKey, [{ port: dev.identity.fabricId, slice: entry }]);
    });
    // 2. A window with alice's key onto her slice that her record does not name.
    const aliceKey = BigInt(`0x${grm.allocations.get(a.id)!.ownerKey}`);
    const unrecorded = await withAdapter((dev) =>
      new TenantWindows(dev).open(aliceKey, [{ port: dev.identity.fabricId, slice: grant.slice }]),
    );
    const orphanState = windowState(orphan.path);
    const unrecordedState = windowState(unrecorded.path);
    expect([...(await openWindows()).keys()].sort()).toEqual(
      [grant.windowIndex, orphan.window, unrecorded.window].sort(),
    );

    const diffs = await reconcile(grm);
    expect(diffs).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'orphan-window', adapter: grant.adapter, window: orphan.window }),
        expect.objectContaining({
          kind: 'orphan-window',
          adapter: grant.adapter,
          window: unrecorded.window,
          allocation: a.id,
        }),
        expect.objectContaining({ kind: 'orphan-slice' }),
      ]),
    );
    expect(diffs).toHaveLength(3);
    expect(orphanState()).toBe(TwState.REVOKED);
    expect(unrecordedState()).toBe(TwState.REVOKED);
    expect(grantedState()).toBe(TwState.OPEN);
    expect([...(await openWindows()).entries()]).toEqual([[grant.windowIndex, grant.queue]]);

    // Nothing more to do on the next pass; the release revokes the granted window.
    expect(await reconcile(grm)).toEqual([]);
    await grm.release('alice', a.id);
    expect(grantedState()).toBe(TwState.REVOKED);
    expect((await openWindows()).size).toBe(0);
  }, 60_000);

  it('a recorded window that is no longer open (the adapter closed it) is issued anew on the next grants', async () => {
    const grm = ctx.pool.grm;
    const a = await grm.allocate('alice', { resources: [{ kind: 'memory', bytes: 4 * MiB }] });
    const first = (await grm.grants('alice', a.id)).resources[0]!.placements[0]!.grant!;
    const key = BigInt(`0x${grm.allocations.get(a.id)!.ownerKey}`);
    // Closed behind the GRM's back, as CMD_RESET would (its record still names it).
    await withAdapter((dev) => new TenantWindows(dev).close(first.windowIndex, key));
    expect((await openWindows()).size).toBe(0);
    const second = (await grm.grants('alice', a.id)).resources[0]!.placements[0]!.grant!;
    expect(second.window).not.toBe(first.window);
    expect(windowState(second.window)()).toBe(TwState.OPEN);
    expect([...(await openWindows()).entries()]).toEqual([[second.windowIndex, second.queue]]);
    expect(grm.allocations.get(a.id)!.windows).toEqual([
      { adapter: second.adapter, window: second.windowIndex, queue: second.queue, reach: second.reach },
    ]);
    await grm.release('alice', a.id);
    expect((await openWindows()).size).toBe(0);
  }, 60_000);
});

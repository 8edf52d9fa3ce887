// Reallocation and repair: leases, idle reclaim, unhealthy adapters as taints, restart reconciliation.
import { afterEach, describe, expect, it } from 'vitest';
import { Adapter } from '../../src/driver/adapter.js';
import { Fault } from '../../src/driver/regs.js';
import { Slices } from '../../src/driver/slices.js';
import { reallocateOnce } from '../../src/grm/reallocator.js';
import { reconcile } from '../../src/grm/reconcile.js';
import { MiB, readSliceTables, useEmbedded } from './helpers.js';

describe('reallocation', () => {
  const ctx = useEmbedded(3, 128 * MiB);
  const grm = () => ctx.pool.grm;
  const pass = (now?: number) => grm().exclusive(() => reallocateOnce(grm(), now));

  afterEach(async () => {
    for (const a of grm().list('alice'))
      await grm()
        .release('alice', a.id)
        .catch(() => undefined);
  });

  it('releases an allocation whose lease expired, and keeps a live one', async () => {
    const short = await grm().allocate('alice', {
      resources: [{ kind: 'memory', bytes: 4 * MiB }],
      policy: { leaseMs: 1000 },
    });
    const long = await grm().allocate('alice', {
      resources: [{ kind: 'memory', bytes: 4 * MiB }],
      policy: { leaseMs: 3_600_000 },
    });
    const events = await pass(Date.now() + 2000);
    expect(events).toContainEqual(expect.objectContaining({ allocation: short.id, action: 'lease-expired' }));
    expect(
      grm()
        .list('alice')
        .map((a) => a.id),
    ).toEqual([long.id]);
    expect(readSliceTables(ctx.pool.modelDir, 3)).toHaveLength(1);
  });

  it('reclaims an idle allocation but not a busy one', async () => {
    const idle = await grm().allocate('alice', {
      resources: [{ kind: 'accelerator', function: 'sha256' }],
      policy: { idleReclaimMs: 150 },
    });
    const busy = await grm().allocate('alice', {
      resources: [{ kind: 'accelerator', function: 'crc32c' }],
      policy: { idleReclaimMs: 150 },
    });
    await new Promise((r) => setTimeout(r, 200));
    await grm().runJob('alice', busy.id, {
      function: 'crc32c',
      input: Buffer.from('busy').toString('base64'),
    });
    const events = await pass();
    expect(events.map((e) => e.allocation)).toEqual([idle.id]);
    expect(
      grm()
        .list('alice')
        .map((a) => a.id),
    ).toEqual([busy.id]);
  });

  it('treats a hung adapter as unhealthy: its allocations are lost, new slices avoid it', async () => {
    const pool = await grm().listAdapters();
    const victim = pool[2]!.id;
    const on = await grm().allocate('alice', {
      resources: [
        { kind: 'memory', bytes: 100 * MiB },
        { kind: 'memory', bytes: 100 * MiB },
        { kind: 'memory', bytes: 100 * MiB },
      ],
    });
    expect(on.resources.some((r) => r.placements.some((p) => p.adapter === victim))).toBe(true);
    const dev = Adapter.open(`shm://${ctx.pool.modelDir}/ra2.sock`);
    dev.injectFault(Fault.HANG);
    dev.close();
    await new Promise((r) => setTimeout(r, 50));
    const events = await pass();
    expect(events).toContainEqual(expect.objectContaining({ allocation: on.id, action: 'adapter-lost' }));
    expect(grm().get('alice', on.id).state).toBe('lost');
    const next = await grm().allocate('alice', { resources: [{ kind: 'memory', bytes: 8 * MiB }] });
    expect(next.resources[0]!.placements.every((p) => p.adapter !== victim)).toBe(true);
    expect((await grm().listAdapters()).find((a) => a.id === victim)?.health).toBe('unhealthy');
  });
});

describe('reconciliation', () => {
  const ctx = useEmbedded(2, 64 * MiB);

  it('releases slices no allocation owns and marks allocations whose slices vanished as lost', async () => {
    const grm = ctx.pool.grm;
    const kept = await grm.allocate('alice', { resources: [{ kind: 'memory', bytes: 2 * MiB }] });
    const vanished = await grm.allocate('alice', { resources: [{ kind: 'memory', bytes: 2 * MiB }] });
    const dev = Adapter.open(`shm://${ctx.pool.modelDir}/ra1.sock`);
    try {
      const slices = new Slices(dev);
      const orphan = await slices.program({
        kind: 'memory',
        ownerKey: 0xabcdefn,
        base: 32 * MiB,
        length: 2 * MiB,
      });
      // free one of the GRM's slices behind its back, as a crashed agent or a power cycle would
      const p = vanished.resources[0]!.placements[0]!;
      const other = Adapter.open(`shm://${ctx.pool.modelDir}/ra${p.adapter.split('/ra')[1]}.sock`);
      await new Slices(other).release(p.slice, BigInt(`0x${grm.allocations.get(vanished.id)!.ownerKey}`));
      other.close();
      const diffs = await grm.exclusive(() => reconcile(grm));
      expect(diffs.map((d) => d.kind).sort()).toEqual(['lost-allocation', 'orphan-slice']);
      expect(slices.read(orphan).state).toBe('free');
      expect(grm.get('alice', vanished.id).state).toBe('lost');
      expect(grm.get('alice', kept.id).state).toBe('active');
      expect(await grm.exclusive(() => reconcile(grm))).toEqual([]);
    } finally {
      dev.close();
    }
  });
});

describe('adapter failure with policy "replace"', () => {
  const ctx = useEmbedded(3, 128 * MiB);

  it('programs the failed slices again on healthy adapters and keeps the allocation active', async () => {
    const grm = ctx.pool.grm;
    const a = await grm.allocate('alice', {
      resources: [
        { kind: 'memory', bytes: 200 * MiB },
        { kind: 'accelerator', function: 'sha256' },
      ],
      policy: { onAdapterFailure: 'replace' },
    });
    const victim = a.resources[0]!.placements[0]!.adapter;
    const port = victim.split('/ra')[1];
    const dev = Adapter.open(`shm://${ctx.pool.modelDir}/ra${port}.sock`);
    dev.injectFault(Fault.HANG);
    dev.close();
    await new Promise((r) => setTimeout(r, 50));
    const events = await grm.exclusive(() => reallocateOnce(grm));
    expect(events).toContainEqual(expect.objectContaining({ allocation: a.id, action: 'replaced' }));
    const after = grm.get('alice', a.id);
    expect(after.state).toBe('active');
    const placements = after.resources.flatMap((r) => r.placements);
    expect(placements.some((p) => p.adapter === victim)).toBe(false);
    expect(after.resources[0]!.placements.reduce((n, p) => n + (p.bytes ?? 0), 0)).toBeGreaterThanOrEqual(
      200 * MiB,
    );
    // the engine still works after the move
    const { output } = await grm.runJob('alice', a.id, {
      function: 'sha256',
      input: Buffer.from('abc').toString('base64'),
    });
    expect(Buffer.from(output, 'base64').toString('hex')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('refuses an unknown onAdapterFailure value', async () => {
    await expect(
      ctx.pool.grm.allocate('alice', {
        resources: [{ kind: 'memory', bytes: MiB }],
        policy: { onAdapterFailure: 'pray' },
      }),
    ).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });
});

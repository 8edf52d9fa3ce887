// Tenant windows opened at the same time on one adapter (ra-spec §18.3): each open picks the first free
// window and queue from the registers, so opens that overlapped picked the same pair and all but one
// failed with BAD_ARGUMENT (found from outside: parallel GET /v1/allocations/{id}/grants answered 502).
// Every open must succeed, each on a window and queue of its own, as the queues' owner registers show.
import { describe, expect, it } from 'vitest';
import { Bar, Qcb, Tenant } from '../../src/driver/regs.js';
import { Slices } from '../../src/driver/slices.js';
import { TenantWindows } from '../../src/driver/tenants.js';
import { MiB, randomKey, useModel } from '../helpers/model.js';

describe('tenant windows opened concurrently on one adapter', () => {
  const pool = useModel({ adapters: 1, memoryBytes: 64 * MiB });

  /** window -> queue, from each queue's QCB_OWNER (TENANT_QUEUE_OWNER + window). */
  const ownersFromRegisters = () => {
    const adapter = pool.adapters[0]!;
    const owners = new Map<number, number>();
    for (let q = 0; q < adapter.identity.queues; q++) {
      const owner = adapter.regs.read32(Bar.QUEUES + q * Qcb.STRIDE + Qcb.OWNER);
      if (owner >= Tenant.QUEUE_OWNER && owner < Tenant.QUEUE_OWNER + Tenant.MAX)
        owners.set(owner - Tenant.QUEUE_OWNER, q);
    }
    return owners;
  };

  it('opens each on a window and queue of its own, and a failed open does not hold up the next', async () => {
    const adapter = pool.adapters[0]!;
    const slices = new Slices(adapter);
    const tenants: { key: bigint; slice: number }[] = [];
    for (let i = 0; i < 5; i++) {
      const key = randomKey();
      const slice = await slices.program({
        kind: 'memory',
        ownerKey: key,
        base: i * 2 * MiB,
        length: 2 * MiB,
      });
      tenants.push({ key, slice });
    }
    const port = adapter.identity.fabricId;
    // One TenantWindows per call, as the agent makes them; plus one open that must fail (wrong key).
    const opens = tenants.map(({ key, slice }) => new TenantWindows(adapter).open(key, [{ port, slice }]));
    const refused = new TenantWindows(adapter).open(randomKey(), [{ port, slice: tenants[0]!.slice }]);
    const opened = await Promise.all(opens);
    await expect(refused).rejects.toThrow();
    expect(new Set(opened.map((o) => o.window)).size).toBe(5);
    expect(new Set(opened.map((o) => o.queue)).size).toBe(5);
    expect(ownersFromRegisters()).toEqual(new Map(opened.map((o) => [o.window, o.queue])));
    // An open after the refused one still goes through.
    const later = await new TenantWindows(adapter).open(tenants[1]!.key, [
      { port, slice: tenants[1]!.slice },
    ]);
    expect(ownersFromRegisters().get(later.window)).toBe(later.queue);
    for (const [o, key] of [
      ...opened.map((o, i) => [o, tenants[i]!.key] as const),
      [later, tenants[1]!.key] as const,
    ])
      await new TenantWindows(adapter).close(o.window, key);
    expect(ownersFromRegisters().size).toBe(0);
  });
});

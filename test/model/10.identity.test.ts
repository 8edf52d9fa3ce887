// Opening an adapter: identity and capability registers carry the configured capacities (§3).
import { describe, expect, it } from 'vitest';
import { Adapter } from '../../src/driver/adapter.js';
import { Reg } from '../../src/driver/regs.js';
import { MiB, useModel } from '../helpers/model.js';

describe('identity and capabilities', () => {
  const pool = useModel({ adapters: 3, memoryBytes: 512 * MiB, slots: 3, computeUnits: 8 });

  it('reports the configured capacities as parameters', () => {
    const ids = pool.adapters.map((a) => a.identity);
    expect(ids.map((i) => i.fabricId)).toEqual([0, 1, 2]);
    for (const id of ids) {
      expect(id.specVersion).toBe('1.0');
      expect(id.memoryBytes).toBe(512 * MiB);
      expect(id.slots).toBe(3);
      expect(id.computeUnits).toBe(8);
      expect(id.fabricPorts).toBe(3);
      expect(id.ringDepth & (id.ringDepth - 1)).toBe(0);
      expect(id.stagingBytes).toBe(3 * MiB);
    }
    expect(new Set(ids.map((i) => i.serial)).size).toBe(3);
  });

  it('is alive: the heartbeat advances', async () => {
    const a = pool.adapters[0]!;
    const before = a.status().heartbeat;
    await new Promise((r) => setTimeout(r, 50));
    expect(a.status().heartbeat).toBeGreaterThan(before);
    expect(a.status().ready).toBe(true);
  });

  it('runs an admin command and serialises concurrent ones', async () => {
    const a = pool.adapters[0]!;
    const seqBefore = a.regs.read32(Reg.CMD_SEQ);
    const finished: number[] = [];
    await Promise.all(Array.from({ length: 20 }, (_, i) => a.nop().then(() => finished.push(i))));
    // Each command was posted alone: 20 distinct sequence numbers (two posted at once would have
    // reused one), all done, completed in the order they were issued, and the lock is free again.
    expect(a.regs.read32(Reg.CMD_SEQ) - seqBefore).toBe(20);
    expect(a.regs.read32(Reg.CMD_DONE_SEQ)).toBe(a.regs.read32(Reg.CMD_SEQ));
    expect(finished).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(a.regs.read32(Reg.CMD_LOCK)).toBe(0);
  });

  it('lets two clients share an adapter through the admin lock', async () => {
    const second = Adapter.open(pool.model.uri(0));
    try {
      expect(second.peerId).not.toBe(pool.adapters[0]!.peerId);
      await Promise.all([
        ...Array.from({ length: 10 }, () => second.nop()),
        ...Array.from({ length: 10 }, () => pool.adapters[0]!.nop()),
      ]);
    } finally {
      second.close();
    }
  });

  it('close is idempotent and later use fails with CLOSED', async () => {
    const c = Adapter.open(pool.model.uri(1));
    c.close();
    c.close();
    await expect(c.nop()).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

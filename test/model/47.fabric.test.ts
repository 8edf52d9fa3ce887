// One fabric across model processes (ra-spec §8.9): two ra-model processes ("server A" and "server
// B") share a fabric directory; a descriptor on A's adapter moves bytes straight into a slice of B's
// adapter, with B's slice table enforced by A's engine exactly as for a local port. Every result is
// read back through B's own driver (B's DMA engine into a host buffer of B), never through A.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { openShippedCatalog } from '../../src/bitstream/shipped.js';
import { Adapter } from '../../src/driver/adapter.js';
import { type CopyDescriptor, DmaController, type Location } from '../../src/driver/dma.js';
import { HostBuffer } from '../../src/driver/hostmem.js';
import { ModelProcess } from '../../src/driver/model-process.js';
import { Fault, Loc } from '../../src/driver/regs.js';
import { Slices } from '../../src/driver/slices.js';
import { MiB, randomKey } from '../helpers/model.js';
import { seededBytes } from '../helpers/reference.js';

const PORT_A = 0;
const PORT_B = 8;
const SLICE_B_BYTES = 96 * MiB;

/** One "server": a model process on the shared fabric, its adapter, a DMA queue and a host buffer. */
interface Server {
  model: ModelProcess;
  adapter: Adapter;
  dma: DmaController;
  host: HostBuffer;
}

async function startServer(fabricDir: string, fabricBase: number, extraArgs: string[] = []): Promise<Server> {
  const model = await ModelProcess.start({
    adapters: 1,
    memoryBytes: 256 * MiB,
    fabricDir,
    fabricBase,
    extraArgs,
  });
  const adapter = Adapter.open(model.uri(0));
  const dma = new DmaController(adapter);
  const host = await HostBuffer.create(adapter, 65 * MiB);
  return { model, adapter, dma, host };
}

async function stopServer(s: Server | undefined): Promise<void> {
  if (!s) return;
  await s.host.close().catch(() => {});
  s.dma.close();
  s.adapter.close();
  await s.model.stop();
}

describe('one fabric across two model processes', () => {
  let fabricDir: string;
  let A: Server;
  let B: Server;
  const key = randomKey();
  let srcA: number; // 128 MiB slice on A's adapter
  let dstB: number; // 96 MiB slice on B's adapter at base 64 MiB
  const onA = (): Location => ({ adapter: PORT_A, slice: srcA });
  const onB = (slice = dstB): Location => ({ adapter: PORT_B, slice });

  beforeAll(async () => {
    fabricDir = mkdtempSync(path.join(existsSync('/dev/shm') ? '/dev/shm' : '/tmp', 'rafabric-fabric-'));
    A = await startServer(fabricDir, PORT_A, ['--slices', '16']); // fewer slice entries than B's 256
    B = await startServer(fabricDir, PORT_B);
    srcA = await new Slices(A.adapter).program({ kind: 'memory', ownerKey: key, base: 0, length: 128 * MiB });
    dstB = await new Slices(B.adapter).program({
      kind: 'memory',
      ownerKey: key,
      base: 64 * MiB,
      length: SLICE_B_BYTES,
    });
  });
  afterAll(async () => {
    await stopServer(A);
    await stopServer(B);
    if (fabricDir) rmSync(fabricDir, { recursive: true, force: true });
  });

  /** Host buffer of A -> A's slice, through A's engine only. */
  async function loadA(data: Uint8Array, offset: number): Promise<void> {
    A.host.bytes.set(data, 0);
    await A.dma.submit({
      op: 'copy',
      ownerKey: key,
      src: { host: A.host.handle },
      srcOffset: 0,
      dst: onA(),
      dstOffset: offset,
      bytes: data.length,
    });
  }

  /** `bytes` of B's slice at `offset`, read by B's own engine into B's host buffer. */
  async function readB(offset: number, bytes: number, slice = dstB): Promise<Buffer> {
    B.host.bytes.fill(0, 0, bytes);
    await B.dma.submit({
      op: 'copy',
      ownerKey: key,
      src: onB(slice),
      srcOffset: offset,
      dst: { host: B.host.handle },
      dstOffset: 0,
      bytes,
    });
    return Buffer.from(B.host.bytes.subarray(0, bytes));
  }

  /** B's engine fills its own slice with a pattern (the "before" of a refused descriptor). */
  async function paintB(offset: number, bytes: number, value: number): Promise<void> {
    await B.dma.submit({ op: 'fill', ownerKey: key, dst: onB(), dstOffset: offset, bytes, value });
  }

  const fabricCopy = (srcOffset: number, dstOffset: number, bytes: number, o: Partial<CopyDescriptor> = {}) =>
    A.dma.submit({ op: 'copy', ownerKey: key, src: onA(), srcOffset, dst: onB(), dstOffset, bytes, ...o });

  it('each model claims its fabric ports, publishes them, and reports a 256-port fabric', () => {
    expect(A.model.ports).toEqual([PORT_A]);
    expect(B.model.ports).toEqual([PORT_B]);
    expect(A.adapter.identity.fabricId).toBe(PORT_A);
    expect(B.adapter.identity.fabricId).toBe(PORT_B);
    expect(A.adapter.identity.fabricPorts).toBe(Loc.FABRIC_PORTS);
    expect(Loc.FABRIC_PORTS).toBe(256);
    expect(existsSync(path.join(fabricDir, `port-${PORT_B}.manifest`))).toBe(true);
  });

  it('a model started without --fabric-base claims the lowest free ports', async () => {
    const c = await ModelProcess.start({ adapters: 2, memoryBytes: 16 * MiB, fabricDir });
    try {
      expect(c.ports).toEqual([1, 2]);
      const adapter = Adapter.open(c.uri(1));
      expect(adapter.identity.fabricId).toBe(2);
      adapter.close();
    } finally {
      await c.stop();
    }
    expect(existsSync(path.join(fabricDir, 'port-1.manifest'))).toBe(false);
  });

  it('a model asking for a port another running model holds is refused with a clear message', async () => {
    await expect(
      ModelProcess.start({ adapters: 1, memoryBytes: 16 * MiB, fabricDir, fabricBase: PORT_B }),
    ).rejects.toThrow(/fabric port 8 is held by ra-model pid \d+.*choose another --fabric-base/);
  });

  for (const [bytes, srcOff, dstOff] of [
    [1, 0, 0],
    [4097, 3, 5],
    [MiB + 3, 99, 12_345],
    [64 * MiB, 5, 3],
  ] as const) {
    it(`moves ${bytes} bytes from A's adapter into B's slice (A@${srcOff} -> B@${dstOff}), byte-exact`, async () => {
      const data = seededBytes(bytes, 0x4700 + bytes);
      await loadA(data, srcOff);
      // one byte either side of the destination range must survive
      await paintB(dstOff === 0 ? 0 : dstOff - 1, bytes + 2, 0xa5);
      await fabricCopy(srcOff, dstOff, bytes);
      if (dstOff > 0) expect((await readB(dstOff - 1, 1))[0]).toBe(0xa5);
      expect((await readB(dstOff, bytes)).equals(data)).toBe(true);
      expect((await readB(dstOff + bytes, 1))[0]).toBe(0xa5);
    });
  }

  it("charges the transfer to B's slice counters, in B's slice table", async () => {
    const before = new Slices(B.adapter).read(dstB);
    await loadA(seededBytes(4096, 7), 0);
    await fabricCopy(0, 0, 4096);
    const after = new Slices(B.adapter).read(dstB);
    expect(after.bytesMoved - before.bytesMoved).toBe(4096);
    expect(after.jobs - before.jobs).toBe(1);
    expect(after.lastActiveNs).toBeGreaterThan(0);
  });

  it("names a slice index that exists on B (200) but not in A's own 16-entry table", async () => {
    const high = await new Slices(B.adapter).program(
      { kind: 'memory', ownerKey: key, base: 176 * MiB, length: 2 * MiB },
      200,
    );
    const data = seededBytes(4096, 0x4712);
    await loadA(data, 0);
    await A.dma.submit({
      op: 'copy',
      ownerKey: key,
      src: onA(),
      srcOffset: 0,
      dst: onB(high),
      dstOffset: 64,
      bytes: data.length,
    });
    expect((await readB(64, data.length, high)).equals(data)).toBe(true);
    await new Slices(B.adapter).release(high, key);
    // beyond B's table (256 entries): BAD_ARGUMENT
    await expect(fabricCopy(0, 0, 1, { dst: onB(256) })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });

  it("reads B's slice too: A's engine copies B -> A's host buffer", async () => {
    const data = seededBytes(MiB + 17, 0x4711);
    B.host.bytes.set(data, 0);
    await B.dma.submit({
      op: 'copy',
      ownerKey: key,
      src: { host: B.host.handle },
      srcOffset: 0,
      dst: onB(),
      dstOffset: 777,
      bytes: data.length,
    });
    A.host.bytes.fill(0, 0, data.length);
    await A.dma.submit({
      op: 'copy',
      ownerKey: key,
      src: onB(),
      srcOffset: 777,
      dst: { host: A.host.handle },
      dstOffset: 0,
      bytes: data.length,
    });
    expect(Buffer.from(A.host.bytes.subarray(0, data.length)).equals(data)).toBe(true);
  });

  describe('refusals: the datasheet error, and nothing written on B', () => {
    const region = { offset: SLICE_B_BYTES - 2 * MiB, bytes: 2 * MiB };
    beforeAll(async () => {
      await loadA(seededBytes(2 * MiB, 0x47ff), 0);
    });

    async function expectRefused(desc: Partial<CopyDescriptor>, code: string): Promise<void> {
      await paintB(region.offset, region.bytes, 0x3c);
      await expect(fabricCopy(0, region.offset, MiB, desc)).rejects.toMatchObject({ code });
      const after = await readB(region.offset, region.bytes);
      expect(after.every((b) => b === 0x3c)).toBe(true);
    }

    it('a destination range that passes the end of the slice it names: BOUNDS', () =>
      expectRefused({ dstOffset: SLICE_B_BYTES - MiB + 1 }, 'BOUNDS'));

    it('an offset beyond the slice (inside B memory, outside the slice): BOUNDS', () =>
      expectRefused({ dstOffset: SLICE_B_BYTES, bytes: 1 }, 'BOUNDS'));

    it('a wrong owner key: OWNER_KEY', () => expectRefused({ ownerKey: key ^ 0x10n }, 'OWNER_KEY'));

    it('a slice index that is free on B: SLICE_STATE', () =>
      expectRefused({ dst: onB(dstB + 1) }, 'SLICE_STATE'));

    it('a port no model holds: FABRIC', () =>
      expectRefused({ dst: { adapter: PORT_B + 1, slice: dstB } }, 'FABRIC'));

    it('a chain whose second descriptor is out of bounds writes nothing, not even the first', async () => {
      await paintB(region.offset, region.bytes, 0x3c);
      await expect(
        A.dma.submitChain([
          {
            op: 'copy',
            ownerKey: key,
            src: onA(),
            srcOffset: 0,
            dst: onB(),
            dstOffset: region.offset,
            bytes: 4096,
          },
          {
            op: 'copy',
            ownerKey: key,
            src: onA(),
            srcOffset: 0,
            dst: onB(),
            dstOffset: SLICE_B_BYTES,
            bytes: 1,
          },
        ]),
      ).rejects.toMatchObject({ code: 'BOUNDS' });
      expect((await readB(region.offset, region.bytes)).every((b) => b === 0x3c)).toBe(true);
    });
  });

  it("B's RELEASE waits for A's copy in progress into the slice (new ones are refused meanwhile), then scrubs it", async () => {
    const slices = new Slices(B.adapter);
    const tmp = await slices.program({ kind: 'memory', ownerKey: key, base: 0, length: 8 * MiB });
    await loadA(seededBytes(8 * MiB, 0x4722), 0);
    // A validates (and pins) the copy, then holds it 800 ms before moving a byte (§6 STALL_NEXT_DMA)
    A.adapter.injectFault(Fault.STALL_NEXT_DMA, 800);
    await new Promise((r) => setTimeout(r, 20));
    const order: string[] = [];
    const copy = A.dma
      .submit({
        op: 'copy',
        ownerKey: key,
        src: onA(),
        srcOffset: 0,
        dst: onB(tmp),
        dstOffset: 0,
        bytes: 8 * MiB,
      })
      .then(() => order.push('copy'));
    await new Promise((r) => setTimeout(r, 100));
    const release = slices.release(tmp, key).then(() => order.push('release'));
    // while the RELEASE waits, a new descriptor from A (another queue) naming the slice is refused
    await new Promise((r) => setTimeout(r, 100));
    const other = new DmaController(A.adapter);
    try {
      await expect(
        other.submit({
          op: 'copy',
          ownerKey: key,
          src: onA(),
          srcOffset: 0,
          dst: onB(tmp),
          dstOffset: 0,
          bytes: 1,
        }),
      ).rejects.toMatchObject({ code: 'SLICE_STATE' });
    } finally {
      other.close();
    }
    await Promise.all([copy, release]);
    expect(order).toEqual(['copy', 'release']);
    // same placement again: RELEASE scrubbed what the copy wrote, so it reads zeros
    const again = await slices.program({ kind: 'memory', ownerKey: key, base: 0, length: 8 * MiB });
    expect((await readB(0, 8 * MiB, again)).every((b) => b === 0)).toBe(true);
    await slices.release(again, key);
  });

  it('B stopped: its port fails with FABRIC, A keeps working; B restarted: reachable again', async () => {
    await loadA(seededBytes(MiB, 0x4733), 0);
    await stopServer(B);
    expect(existsSync(path.join(fabricDir, `port-${PORT_B}.manifest`))).toBe(false);
    await expect(fabricCopy(0, 0, MiB)).rejects.toMatchObject({ code: 'FABRIC' });
    // A's own work is unaffected
    await loadA(seededBytes(4096, 1), 4 * MiB);

    B = await startServer(fabricDir, PORT_B);
    dstB = await new Slices(B.adapter).program({
      kind: 'memory',
      ownerKey: key,
      base: 64 * MiB,
      length: SLICE_B_BYTES,
    });
    const data = seededBytes(3 * MiB + 5, 0x4734);
    await loadA(data, 11);
    await fabricCopy(11, 13, data.length);
    expect((await readB(13, data.length)).equals(data)).toBe(true);
  });

  it('B halted (FAULT_HANG): its port fails with FABRIC; B power-cycled: reachable again', async () => {
    B.adapter.injectFault(Fault.HANG);
    await new Promise((r) => setTimeout(r, 50));
    await expect(fabricCopy(0, 0, 4096)).rejects.toMatchObject({ code: 'FABRIC' });
    await stopServer(B);
    B = await startServer(fabricDir, PORT_B);
    dstB = await new Slices(B.adapter).program({ kind: 'memory', ownerKey: key, base: 0, length: 16 * MiB });
    const data = seededBytes(4096, 0x4736);
    await loadA(data, 0);
    await fabricCopy(0, 0, data.length);
    expect((await readB(0, data.length)).equals(data)).toBe(true);
  });

  it('B killed (kill -9, its manifest left behind) during a copy: the copy and later ones fail with FABRIC; a new B on the same port is found', async () => {
    const oldDir = B.model.dir;
    // validated while B runs, held before its first chunk, B killed meanwhile
    A.adapter.injectFault(Fault.STALL_NEXT_DMA, 800);
    await new Promise((r) => setTimeout(r, 20));
    const inProgress = fabricCopy(0, 0, 8 * MiB);
    await new Promise((r) => setTimeout(r, 50));
    B.model.kill('SIGKILL');
    await B.model.waitExit();
    await expect(inProgress).rejects.toMatchObject({ code: 'FABRIC' });
    expect(existsSync(path.join(fabricDir, `port-${PORT_B}.manifest`))).toBe(true);
    await expect(fabricCopy(0, 0, 4096)).rejects.toMatchObject({ code: 'FABRIC' });
    B.dma.close();
    B.adapter.close();
    rmSync(oldDir, { recursive: true, force: true });

    B = await startServer(fabricDir, PORT_B);
    dstB = await new Slices(B.adapter).program({ kind: 'memory', ownerKey: key, base: 0, length: 16 * MiB });
    const data = seededBytes(5 * MiB + 1, 0x4735);
    await loadA(data, 0);
    await fabricCopy(0, 2, data.length);
    expect((await readB(2, data.length)).equals(data)).toBe(true);
  });

  it("Agent.copy on server A addresses B's adapter by its fabric port (dstFabricPort)", async () => {
    const agent = Agent.open('sA', A.model.uris, openShippedCatalog());
    try {
      const data = seededBytes(2 * MiB + 333, 0x4740);
      await loadA(data, 100);
      await agent.copy({
        srcAdapter: `sA/ra${PORT_A}`,
        dstFabricPort: PORT_B,
        srcEntry: srcA,
        dstEntry: dstB,
        srcOffset: 100,
        dstOffset: 4321,
        bytes: data.length,
        ownerKey: key.toString(16).padStart(16, '0'),
      });
      expect((await readB(4321, data.length)).equals(data)).toBe(true);
      await expect(
        agent.copy({
          srcAdapter: `sA/ra${PORT_A}`,
          dstFabricPort: 4096,
          srcEntry: srcA,
          dstEntry: dstB,
          srcOffset: 0,
          dstOffset: 0,
          bytes: 1,
          ownerKey: key.toString(16).padStart(16, '0'),
        }),
      ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    } finally {
      agent.close();
    }
  });

  // Last: it leaves A halted.
  it("A halted (FAULT_HANG) while its copy into B's slice is held: B's RELEASE does not wait for it", async () => {
    const slices = new Slices(B.adapter);
    const tmp = await slices.program({ kind: 'memory', ownerKey: key, base: 32 * MiB, length: 4 * MiB });
    A.adapter.injectFault(Fault.STALL_NEXT_DMA, 5000);
    await new Promise((r) => setTimeout(r, 20));
    const stuck = A.dma
      .submit({
        op: 'copy',
        ownerKey: key,
        src: onA(),
        srcOffset: 0,
        dst: onB(tmp),
        dstOffset: 0,
        bytes: 4 * MiB,
      })
      .catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    A.adapter.injectFault(Fault.HANG);
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await slices.release(tmp, key);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(await stuck).toMatchObject({ code: expect.stringMatching(/ADAPTER_HUNG|TIMEOUT/) });
  });
});

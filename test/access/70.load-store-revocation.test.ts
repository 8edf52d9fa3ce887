// Load/store revocation of memory grants (ra-spec §18.7, docs/access.md "Revocation"): a holder that
// keeps its mapping of a granted slice after release, resize or migration can neither read nor
// change those bytes any more, whoever holds them next. The raw access is made in a child process
// that must die of SIGBUS; the client library's copy helpers must answer GRANT_REVOKED; the next
// owner's bytes are read from the adapter's memory file and slice table (the agent's view), not
// through the GRM. A fabric copy from another model into a granted slice must land in what the
// holder sees, and after revocation in the adapter's memory again.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Instance } from '../../src/client/instance.js';
import { MappedSlice } from '../../src/client/memory.js';
import type { Allocation } from '../../src/common/model.js';
import { Adapter } from '../../src/driver/adapter.js';
import { DmaController, type Location } from '../../src/driver/dma.js';
import { HostBuffer } from '../../src/driver/hostmem.js';
import { ModelProcess } from '../../src/driver/model-process.js';
import { addon, packageRoot } from '../../src/driver/native.js';
import { Slices } from '../../src/driver/slices.js';
import { TenantWindows } from '../../src/driver/tenants.js';
import { MiB, readSliceTables, useEmbedded } from '../grm/helpers.js';
import { randomKey } from '../helpers/model.js';
import { seededBytes } from '../helpers/reference.js';

const SLICE_BYTES = 4 * MiB;

/** A process of its own that maps a file range the way a grant holder does, then waits for an order. */
const HOLDER_SCRIPT = `
import { createRequire } from 'node:module';
const addon = createRequire(import.meta.url)(process.env.RAFABRIC_ADDON);
const [file, base, bytes] = process.argv.slice(2);
const view = new Uint8Array(new addon.HostMapping(file, Number(base), Number(bytes), false).buffer);
process.stdout.write('mapped\\n');
process.stdin.once('data', (order) => {
  if (order.toString().trim() === 'read') {
    let sum = 0;
    for (let i = 0; i < view.length; i += 4096) sum += view[i];
    process.stdout.write('read ' + sum + ' ' + Buffer.from(view.subarray(0, 16)).toString('hex') + '\\n');
  } else {
    view.fill(0xee);
    process.stdout.write('wrote\\n');
  }
  process.exit(0);
});
`;

interface Holder {
  child: ChildProcess;
  out: string[];
  /** Sends the order (raw loads or raw stores over the whole mapping) and resolves with how the process ended. */
  order(what: 'read' | 'write'): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }>;
}

async function startHolder(script: string, file: string, base: number, bytes: number): Promise<Holder> {
  const child = spawn(process.execPath, [script, file, String(base), String(bytes)], {
    env: {
      ...process.env,
      RAFABRIC_ADDON: path.join(packageRoot, 'build', 'Release', 'rafabric_native.node'),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const out: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out.push(d.toString());
      if (out.join('').includes('mapped')) resolve();
    });
    child.stderr!.on('data', (d: Buffer) => out.push(d.toString()));
    child.on('exit', () => reject(new Error(`holder exited before mapping: ${out.join('')}`)));
  });
  return {
    child,
    out,
    async order(what) {
      child.stdin!.write(`${what}\n`);
      const end = await exited;
      return { ...end, out: out.join('') };
    },
  };
}

const memoryOf = (a: Allocation) => a.resources[0]!.placements[0]!;

/** Bytes of an adapter's memory file (the agent's view of a slice that holds no grant). */
function memoryFile(modelDir: string, port: number, offset: number, bytes: number): Buffer {
  const m = new (addon().HostMapping)(path.join(modelDir, `ra${port}.mem`), offset, bytes, false);
  try {
    return Buffer.from(new Uint8Array(m.buffer));
  } finally {
    m.close();
  }
}

let scriptDir: string;
let holderScript: string;
beforeAll(() => {
  scriptDir = mkdtempSync(path.join(os.tmpdir(), 'rafabric-holder-'));
  holderScript = path.join(scriptDir, 'holder.mjs');
  writeFileSync(holderScript, HOLDER_SCRIPT);
});
afterAll(() => rmSync(scriptDir, { recursive: true, force: true }));

describe('a released grant: the old holder never reaches the next owner', () => {
  const ctx = useEmbedded(1, 64 * MiB);
  const grm = () => ctx.pool.grm;

  it('raw access dies of SIGBUS, the library answers GRANT_REVOKED, the next owner keeps its bytes (also through a resize)', async () => {
    const alice = await grm().allocate('alice', { resources: [{ kind: 'memory', bytes: SLICE_BYTES }] });
    const ga = memoryOf(await grm().grants('alice', alice.id));
    const instA = Instance.open(await grm().grants('alice', alice.id));
    const mapA = instA.map(ga);
    const secret = seededBytes(SLICE_BYTES, 70);
    mapA.bytes.set(secret);
    const readerA = await startHolder(
      holderScript,
      ga.grant!.memory!.path,
      ga.grant!.memory!.base,
      SLICE_BYTES,
    );
    const writerA = await startHolder(
      holderScript,
      ga.grant!.memory!.path,
      ga.grant!.memory!.base,
      SLICE_BYTES,
    );
    try {
      await grm().release('alice', alice.id);

      const bob = await grm().allocate('bob', { resources: [{ kind: 'memory', bytes: SLICE_BYTES }] });
      const pb = memoryOf(bob);
      // the same bytes of the same adapter, or this test would prove nothing
      expect({ adapter: pb.adapter, offset: pb.offset }).toEqual({ adapter: ga.adapter, offset: ga.offset });
      const instB = Instance.open(await grm().grants('bob', bob.id));
      const mapB = instB.map(pb);
      const pattern = seededBytes(SLICE_BYTES, 71);
      mapB.bytes.set(pattern);

      // the old holder, raw loads and stores on its mapping: the kernel stops them
      const wrote = await writerA.order('write');
      expect(wrote, wrote.out).toMatchObject({ signal: 'SIGBUS' });
      const read = await readerA.order('read');
      expect(read, read.out).toMatchObject({ signal: 'SIGBUS' });

      // the old holder, through the library: a typed error, nothing read, nothing written
      expect(() => mapA.read(0, 4096)).toThrow(expect.objectContaining({ code: 'GRANT_REVOKED' }));
      expect(() => mapA.write(0, new Uint8Array(4096).fill(0xee))).toThrow(
        expect.objectContaining({ code: 'GRANT_REVOKED' }),
      );
      expect(Buffer.from(mapB.read(0, SLICE_BYTES)).equals(pattern)).toBe(true);
      // a resize revokes bob's grant too (ra-spec §18.6): his bytes go back to the memory file, kept
      const grown = await grm().resize('bob', bob.id, { resource: 0, bytes: 2 * SLICE_BYTES });
      expect(memoryOf(grown).offset).toBe(pb.offset);
      expect(() => mapB.read(0, 16)).toThrow(expect.objectContaining({ code: 'GRANT_REVOKED' }));
      const table = readSliceTables(ctx.pool.modelDir, 1).filter((s) => s.kind === 'memory');
      expect(table).toEqual([
        expect.objectContaining({ base: pb.offset, length: 2 * SLICE_BYTES, state: 'active' }),
      ]);
      const held = memoryFile(ctx.pool.modelDir, 0, pb.offset!, 2 * SLICE_BYTES);
      expect(held.subarray(0, SLICE_BYTES).equals(pattern)).toBe(true);
      expect(held.subarray(SLICE_BYTES).every((b) => b === 0)).toBe(true);
      // and the new grant shows the kept bytes
      const instB2 = Instance.open(await grm().grants('bob', bob.id));
      expect(Buffer.from(instB2.map(memoryOf(grown)).read(0, SLICE_BYTES)).equals(pattern)).toBe(true);
      instB2.close();
      instB.close();
      await grm().release('bob', bob.id);
    } finally {
      instA.close();
      for (const h of [readerA, writerA]) h.child.kill('SIGKILL');
    }
  });
});

describe('a migrated grant', () => {
  const ctx = useEmbedded(2, 64 * MiB);
  const grm = () => ctx.pool.grm;

  it('keeps the bytes in the new grant; the old mapping answers GRANT_REVOKED', async () => {
    const a = await grm().allocate('carol', { resources: [{ kind: 'memory', bytes: SLICE_BYTES }] });
    const before = memoryOf(await grm().grants('carol', a.id));
    const inst = Instance.open(await grm().grants('carol', a.id));
    const old = inst.map(before);
    const data = seededBytes(SLICE_BYTES, 72);
    old.bytes.set(data);
    const other = before.adapter.replace(/ra\d+$/, before.adapter.endsWith('ra0') ? 'ra1' : 'ra0');
    const moved = await grm().migrate('carol', a.id, 0, [other]);
    expect(memoryOf(moved).adapter).toBe(other);
    expect(existsSync(before.grant!.memory!.path)).toBe(false);
    expect(() => old.read(0, 16)).toThrow(expect.objectContaining({ code: 'GRANT_REVOKED' }));
    // the moved bytes, from the new adapter's memory file (no grant holds them yet)
    const after = memoryOf(moved);
    expect(
      memoryFile(ctx.pool.modelDir, Number(other.split('/ra')[1]), after.offset!, SLICE_BYTES).equals(data),
    ).toBe(true);
    const again = Instance.open(await grm().grants('carol', a.id));
    expect(Buffer.from(again.map(after).read(0, SLICE_BYTES)).equals(data)).toBe(true);
    again.close();
    inst.close();
    await grm().release('carol', a.id);
  });
});

describe('a fabric copy from another model into a granted slice', () => {
  const PORT_A = 0;
  const PORT_B = 8;
  let fabricDir: string;
  const servers: { model: ModelProcess; adapter: Adapter; dma: DmaController; host: HostBuffer }[] = [];
  const key = randomKey();
  let srcA: number;
  let dstB: number;

  beforeAll(async () => {
    fabricDir = mkdtempSync(path.join(existsSync('/dev/shm') ? '/dev/shm' : '/tmp', 'rafabric-fabric-'));
    for (const base of [PORT_A, PORT_B]) {
      const model = await ModelProcess.start({
        adapters: 1,
        memoryBytes: 64 * MiB,
        fabricDir,
        fabricBase: base,
      });
      const adapter = Adapter.open(model.uri(0));
      servers.push({
        model,
        adapter,
        dma: new DmaController(adapter),
        host: await HostBuffer.create(adapter, SLICE_BYTES),
      });
    }
    srcA = await new Slices(servers[0]!.adapter).program({
      kind: 'memory',
      ownerKey: key,
      base: 0,
      length: SLICE_BYTES,
    });
    dstB = await new Slices(servers[1]!.adapter).program({
      kind: 'memory',
      ownerKey: key,
      base: 8 * MiB,
      length: SLICE_BYTES,
    });
  });
  afterAll(async () => {
    for (const s of servers) {
      await s.host.close().catch(() => {});
      s.dma.close();
      s.adapter.close();
      await s.model.stop();
    }
    if (fabricDir) rmSync(fabricDir, { recursive: true, force: true });
  });

  const onA: () => Location = () => ({ adapter: PORT_A, slice: srcA });
  const onB: () => Location = () => ({ adapter: PORT_B, slice: dstB });

  /** A's engine: its host buffer -> its slice -> B's slice over the fabric. */
  async function copyAtoB(data: Uint8Array): Promise<void> {
    const A = servers[0]!;
    A.host.bytes.set(data);
    await A.dma.submit({
      op: 'copy',
      ownerKey: key,
      src: { host: A.host.handle },
      srcOffset: 0,
      dst: onA(),
      dstOffset: 0,
      bytes: data.length,
    });
    await A.dma.submit({
      op: 'copy',
      ownerKey: key,
      src: onA(),
      srcOffset: 0,
      dst: onB(),
      dstOffset: 0,
      bytes: data.length,
    });
  }

  /** B's own engine reads its slice into its host buffer. */
  async function readB(bytes: number): Promise<Buffer> {
    const B = servers[1]!;
    B.host.bytes.fill(0);
    await B.dma.submit({
      op: 'copy',
      ownerKey: key,
      src: onB(),
      srcOffset: 0,
      dst: { host: B.host.handle },
      dstOffset: 0,
      bytes,
    });
    return Buffer.from(B.host.bytes.subarray(0, bytes));
  }

  it('lands in what the holder sees; after revocation in the memory file; in the next grant again', async () => {
    const windows = new TenantWindows(servers[1]!.adapter);
    const first = await windows.open(key, [{ port: PORT_B, slice: dstB }]);
    const holder = MappedSlice.map(`${first.memoryPrefix}${dstB}`, dstB, 0, SLICE_BYTES);
    const one = seededBytes(SLICE_BYTES, 73);
    await copyAtoB(one);
    expect(Buffer.from(holder.read(0, SLICE_BYTES)).equals(one)).toBe(true);
    expect((await readB(SLICE_BYTES)).equals(one)).toBe(true);

    await windows.close(first.window, key); // revoked: the bytes go back to B's memory file
    expect(() => holder.read(0, 16)).toThrow(expect.objectContaining({ code: 'GRANT_REVOKED' }));
    expect(memoryFile(servers[1]!.model.dir, 0, 8 * MiB, SLICE_BYTES).equals(one)).toBe(true);
    const two = seededBytes(SLICE_BYTES, 74);
    await copyAtoB(two); // A must not write into the revoked grant file it had composed
    expect(memoryFile(servers[1]!.model.dir, 0, 8 * MiB, SLICE_BYTES).equals(two)).toBe(true);

    const second = await windows.open(key, [{ port: PORT_B, slice: dstB }]);
    const holder2 = MappedSlice.map(`${second.memoryPrefix}${dstB}`, dstB, 0, SLICE_BYTES);
    expect(Buffer.from(holder2.read(0, SLICE_BYTES)).equals(two)).toBe(true);
    const three = seededBytes(SLICE_BYTES, 75);
    await copyAtoB(three);
    expect(Buffer.from(holder2.read(0, SLICE_BYTES)).equals(three)).toBe(true);
    await windows.close(second.window, key);
    expect((await readB(SLICE_BYTES)).equals(three)).toBe(true);
    holder.close();
    holder2.close();
  });
});

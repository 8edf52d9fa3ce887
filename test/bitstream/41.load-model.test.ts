// Loading bitstreams into a running device model: refused loads leave the slot registers
// byte-identical; signed images load (state, function, hash, progress) and their engines compute.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../../src/bitstream/catalog.js';
import { formatDescriptor } from '../../src/bitstream/descriptor.js';
import { type BitstreamSource, loadBitstream } from '../../src/bitstream/loader.js';
import { loadFunctionIntoFreeSlot, shippedCatalogPath } from '../../src/bitstream/shipped.js';
import { defaultTrustPath, TrustStore } from '../../src/bitstream/trust.js';
import { Adapter } from '../../src/driver/adapter.js';
import { DmaController } from '../../src/driver/dma.js';
import { HostBuffer } from '../../src/driver/hostmem.js';
import { runJob } from '../../src/driver/jobs.js';
import { ModelProcess } from '../../src/driver/model-process.js';
import { Bar } from '../../src/driver/regs.js';
import { Slices } from '../../src/driver/slices.js';
import { Slots } from '../../src/driver/slots.js';
import { aes256gcm, pipeline } from '../helpers/reference.js';
import { expectRefusalAsync, loose, MiB, make, testTrust, useTempDir } from './fixtures.js';

const tempDir = useTempDir();
const shipped = (id: string) => path.join(shippedCatalogPath, `${id}.rabit.json`);
const SLOT_BYTES = 1 * MiB;

describe('loading bitstreams into the device model', () => {
  let model: ModelProcess;
  let adapter: Adapter;
  let slots: Slots;

  beforeAll(async () => {
    // 1 MiB slots (so a 2 MiB payload is too big) and a slow configuration port (2 MB/s) so
    // progress is visible: a 192 KiB payload configures in about 100 ms.
    model = await ModelProcess.start({
      adapters: 1,
      memoryBytes: 256 * MiB,
      slotBytes: SLOT_BYTES,
      configBytesPerSec: 2_000_000,
    });
    adapter = Adapter.open(model.uri(0));
    slots = new Slots(adapter);
  });
  afterAll(async () => {
    adapter?.close();
    await model?.stop();
  });

  /** Every slot's registers and the head of the staging window. */
  const snapshot = () =>
    Buffer.concat([
      ...Array.from({ length: adapter.identity.slots }, (_, i) => slots.snapshot(i)),
      Buffer.from(adapter.regs.readBytes(Bar.STAGING, 4096)),
    ]);

  describe('refused loads leave the adapter as it was', () => {
    beforeAll(async () => {
      // Slot 0 holds an engine, so "unchanged" is more than "still empty".
      await loadBitstream(adapter, 0, shipped('crc32c'));
    });

    const refusals: [string, () => BitstreamSource, string, { trust?: TrustStore }?][] = [
      [
        'a truncated image',
        () => {
          const m = make();
          return { descriptor: m.descriptor, image: m.image.subarray(0, 4000) };
        },
        'BITSTREAM_SIZE',
      ],
      [
        'a wrong hash',
        () => {
          const m = make();
          const image = Buffer.from(m.image);
          image[image.length - 1]! ^= 1;
          return { descriptor: m.descriptor, image };
        },
        'BITSTREAM_HASH',
      ],
      [
        'a bad signature',
        () => {
          const m = make();
          return { descriptor: { ...m.descriptor, vendor: 'someone else' }, image: m.image };
        },
        'BITSTREAM_BAD_SIGNATURE',
      ],
      ['an unknown key', () => make(), 'BITSTREAM_UNKNOWN_KEY', { trust: TrustStore.load(defaultTrustPath) }],
      ['an unsigned image', () => make({}, { sign: false }), 'BITSTREAM_UNSIGNED'],
      ['an image too big for the slot', () => make({ payloadBytes: SLOT_BYTES + 4096 }), 'BITSTREAM_TOO_BIG'],
      ['an incompatible spec version', () => make({ specMin: '2.0', specMax: '2.x' }), 'BITSTREAM_SPEC'],
      [
        'too many contexts',
        () => make({ contexts: adapter.identity.contextsPerEngine + 1 }),
        'BITSTREAM_CONTEXTS',
      ],
      [
        'an unknown function',
        () => {
          const m = make();
          return { descriptor: { ...m.descriptor, function: 'rot13' }, image: m.image };
        },
        'BITSTREAM_DESCRIPTOR',
      ],
      [
        'a descriptor with extra, missing or mistyped fields',
        () => {
          const m = make();
          const d = loose(m.descriptor);
          d.extra = 1;
          delete d.vendor;
          d.footprint.computeUnits = 'none';
          return { descriptor: d, image: m.image };
        },
        'BITSTREAM_DESCRIPTOR',
      ],
      [
        'a path that escapes the catalog folder',
        () => {
          const parent = tempDir();
          const dir = path.join(parent, 'catalog');
          mkdirSync(dir);
          const m = make();
          const d = { ...m.descriptor, image: { ...m.descriptor.image, file: '../test-crc.rabit' } };
          writeFileSync(path.join(parent, 'test-crc.rabit'), m.image);
          writeFileSync(path.join(dir, 'test-crc.rabit.json'), formatDescriptor(d));
          return path.join(dir, 'test-crc.rabit.json');
        },
        'BITSTREAM_PATH',
      ],
    ];
    for (const [what, source, code, o] of refusals) {
      for (const slot of [0, 1]) {
        it(`${what} into slot ${slot} (${code})`, async () => {
          const before = snapshot();
          await expectRefusalAsync(
            () => loadBitstream(adapter, slot, source(), { trust: o?.trust ?? testTrust }),
            code,
          );
          expect(snapshot().equals(before)).toBe(true);
        });
      }
    }

    it('a busy slot without --force: the adapter refuses and the slot is unchanged', async () => {
      const key = 0x5eed_0001n;
      const ctx = await new Slices(adapter).program({
        kind: 'context',
        ownerKey: key,
        base: 0,
        length: 1,
        slot: 0,
      });
      try {
        const before = slots.snapshot(0);
        await expectRefusalAsync(() => loadBitstream(adapter, 0, shipped('sha256')), 'SLOT_BUSY');
        expect(slots.snapshot(0).equals(before)).toBe(true);
        const forced = await loadBitstream(adapter, 0, shipped('sha256'), { force: true });
        expect(forced.slot).toMatchObject({ state: 'ready', function: 'sha256', contextsUsed: 0 });
      } finally {
        await new Slices(adapter).release(ctx, key).catch(() => undefined);
      }
    });
  });

  describe('signed images load', () => {
    const catalog = Catalog.open(shippedCatalogPath, { strict: true });

    it('the shipped aes-256-gcm: ready, its function, hash = descriptor payload sha256, progress to 1000', async () => {
      const entry = catalog.get('aes-256-gcm');
      const progress: number[] = [];
      const loaded = await loadBitstream(adapter, 2, entry, { onProgress: (p) => progress.push(p) });
      expect(loaded.signature).toMatchObject({ signed: true, keyName: 'rafabric-dev' });
      const info = slots.read(2);
      expect(info).toMatchObject({
        state: 'ready',
        function: 'aes-256-gcm',
        imageName: 'aes-256-gcm',
        imageVersion: 0x010000,
        contexts: 8,
        loadPermille: 1000,
      });
      expect(info.imageHash).toBe(entry.payloadSha256);
      expect(info.imageHash).toBe(entry.descriptor.image.payloadSha256);
      expect(info.imageBytes).toBe(entry.payloadBytes);
      expect(progress.at(-1)).toBe(1000);
      expect(progress.length).toBeGreaterThan(2);
      expect(progress.every((p, i) => i === 0 || p >= progress[i - 1]!)).toBe(true);
    });

    it('every shipped bitstream loads and reports its hash', async () => {
      for (const entry of catalog.list()) {
        const loaded = await loadBitstream(adapter, 3, entry);
        expect(loaded.slot).toMatchObject({
          state: 'ready',
          function: entry.function,
          imageHash: entry.payloadSha256,
        });
      }
    });

    it('loadFunctionIntoFreeSlot picks the newest compatible bitstream and an empty slot', async () => {
      await slots.unload(1);
      const loaded = await loadFunctionIntoFreeSlot(adapter, 'pipeline', { catalog });
      expect(loaded.slot.index).toBe(1);
      expect(loaded.function).toBe('pipeline');
    });
  });

  describe('the loaded engines compute (DMA path)', () => {
    const key = 0x7e57_0042n;
    let dma: DmaController;
    let host: HostBuffer;
    let mem: number;
    const engines: Record<string, number> = {};

    beforeAll(async () => {
      await loadBitstream(adapter, 2, shipped('aes-256-gcm'));
      await loadBitstream(adapter, 3, shipped('pipeline-xor-crc'));
      const slices = new Slices(adapter);
      engines.aes = await slices.program({ kind: 'context', ownerKey: key, base: 0, length: 1, slot: 2 });
      engines.pipe = await slices.program({ kind: 'context', ownerKey: key, base: 0, length: 1, slot: 3 });
      mem = await slices.program({ kind: 'memory', ownerKey: key, base: 0, length: 4 * MiB });
      dma = new DmaController(adapter);
      host = await HostBuffer.create(adapter, 2 * MiB);
    });
    afterAll(async () => {
      await host?.close();
      dma?.close();
      const slices = new Slices(adapter);
      for (const i of [engines.aes, engines.pipe, mem])
        if (i !== undefined) await slices.release(i, key).catch(() => undefined);
    });

    const run = (engine: number, input: Uint8Array, params?: Uint8Array) =>
      runJob(dma, adapter.identity.fabricId, host, {
        fn: engine === engines.aes ? 'aes-256-gcm' : 'pipeline',
        engineEntry: engine,
        memoryEntry: mem,
        memorySliceBytes: 4 * MiB,
        ownerKey: key,
        input,
        ...(params ? { params } : {}),
      });

    it('aes-256-gcm from the shipped image equals node:crypto', async () => {
      const k = randomBytes(32);
      const iv = randomBytes(12);
      await new Slices(adapter).setKey(engines.aes!, key, k);
      const input = randomBytes(100_000);
      expect((await run(engines.aes!, input, iv)).equals(aes256gcm(k, iv, input))).toBe(true);
    });

    it('pipeline-xor-crc computes xor 0x5a then crc32c', async () => {
      const input = randomBytes(10_000);
      const expected = pipeline([{ op: 'xor', arg: 0x5a }, { op: 'crc32c' }], input);
      expect((await run(engines.pipe!, input)).equals(expected)).toBe(true);
    });
  });
});

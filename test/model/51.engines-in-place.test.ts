// Pipeline and matmul jobs (§12) read their input where it lies and write their destination
// themselves (engines.c): exact against the TS references wherever the destination lies (apart, the
// same bytes, a shifted overlap, a misaligned float array), and no page fault per page of a warm job.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, pipelinePayload } from '../../src/bitstream/image.js';
import { DmaController } from '../../src/driver/dma.js';
import { HostBuffer } from '../../src/driver/hostmem.js';
import { Slices } from '../../src/driver/slices.js';
import { Slots } from '../../src/driver/slots.js';
import { MiB, minorFaults, randomKey, useModel } from '../helpers/model.js';
import { Prng } from '../helpers/prng.js';
import { matmulF32, pipeline, type Stage, seededBytes } from '../helpers/reference.js';

// the data keeps its length; three REVERSE stages: the order ends reversed
const scramble: Stage[] = [
  { op: 'xor', arg: 0xa5 },
  { op: 'reverse' },
  { op: 'rotl', arg: 3 },
  { op: 'reverse' },
  { op: 'add', arg: 0x1ff },
  { op: 'reverse' },
];
// an even count of REVERSE stages
const keepOrder: Stage[] = [{ op: 'reverse' }, { op: 'xor', arg: 0x3c }, { op: 'reverse' }];
// shrinks in the middle, then more stages on the digest
const digest: Stage[] = [
  { op: 'xor', arg: 0x5a },
  { op: 'reverse' },
  { op: 'add', arg: 9 },
  { op: 'sha256' },
  { op: 'rotl', arg: 5 },
  { op: 'reverse' },
  { op: 'crc32c' },
  { op: 'xor', arg: 0x11 },
];
const crcFirst: Stage[] = [{ op: 'crc32c' }, { op: 'reverse' }];
const images = { scramble, keepOrder, digest, crcFirst } as const;
type ImageName = keyof typeof images;

function matmulInput(m: number, n: number, k: number, seed: number) {
  const prng = new Prng(seed);
  const a = Float32Array.from({ length: m * k }, () => Math.fround(prng.next() * 2 - 1));
  const b = Float32Array.from({ length: k * n }, () => Math.fround(prng.next() * 2 - 1));
  const params = Buffer.alloc(12);
  params.writeUInt32LE(m, 0);
  params.writeUInt32LE(n, 4);
  params.writeUInt32LE(k, 8);
  return {
    input: Buffer.concat([Buffer.from(a.buffer), Buffer.from(b.buffer)]),
    params,
    expected: Buffer.from(matmulF32(m, n, k, a, b).buffer),
  };
}

describe('pipeline and matmul write in place', () => {
  const pool = useModel({ adapters: 1, memoryBytes: 256 * MiB });
  const key = randomKey();
  const ctx = {} as Record<ImageName, number>;
  let units: number;
  let dma: DmaController;
  let host: HostBuffer;

  beforeAll(async () => {
    const a = pool.adapters[0]!;
    const slots = new Slots(a);
    const slices = new Slices(a);
    for (const [i, name] of (Object.keys(images) as ImageName[]).entries()) {
      await slots.load(
        i,
        buildImage(
          { functionId: 4, specMin: 1 << 16, specMax: 1 << 16, contexts: 1, version: 1, name },
          pipelinePayload(images[name], 64),
        ),
      );
      ctx[name] = await slices.program({ kind: 'context', ownerKey: key, base: 0, length: 1, slot: i });
    }
    units = await slices.program({ kind: 'compute', ownerKey: key, base: 0, length: 2 });
    dma = new DmaController(a);
    host = await HostBuffer.create(a, 16 * MiB);
  });
  afterAll(async () => {
    await host?.close();
    dma?.close();
  });

  /** Runs a job over host bytes [srcOffset, +input) into dstOffset; returns what it wrote. */
  async function jobOnHost(
    engine: { ctxSlice: number; params?: Uint8Array },
    input: Buffer,
    srcOffset: number,
    dstOffset: number,
  ): Promise<Buffer> {
    host.bytes.set(input, srcOffset);
    const done = await dma.submit({
      op: 'job',
      ownerKey: key,
      ...engine,
      src: { host: host.handle },
      srcOffset,
      bytes: input.length,
      dst: { host: host.handle },
      dstOffset,
    });
    return Buffer.from(host.bytes.subarray(dstOffset, dstOffset + done.outBytes));
  }

  // 3 MiB + 5 bytes run in several 1 MiB steps: a shifted overlap written straight would overwrite
  // input before a later step reads it; odd and even lengths put a middle byte in place or not
  for (const name of Object.keys(images) as ImageName[]) {
    for (const [where, shift] of [
      ['apart from its input', 5 * MiB],
      ['in place', 0],
      ['1 byte ahead of its input', 1],
      ['4 KiB behind its input', -4096],
    ] as const) {
      for (const bytes of [3 * MiB + 5, 3 * MiB + 6]) {
        it(`pipeline ${name}, ${bytes} bytes, output ${where}: equals the TS reference`, async () => {
          const input = seededBytes(bytes, bytes + shift + name.length);
          const out = await jobOnHost({ ctxSlice: ctx[name] }, input, 4096 * 2, 4096 * 2 + shift);
          expect(out.equals(pipeline(images[name], input))).toBe(true);
        });
      }
    }
  }

  it('pipelines of 1 and 2 bytes in place equal the TS reference', async () => {
    for (const name of Object.keys(images) as ImageName[]) {
      for (const bytes of [1, 2]) {
        const input = seededBytes(bytes, 77 + bytes);
        const out = await jobOnHost({ ctxSlice: ctx[name] }, input, 100, 100);
        expect(out.equals(pipeline(images[name], input)), `${name} of ${bytes}`).toBe(true);
      }
    }
  });

  for (const [where, srcOffset, dstOffset] of [
    ['apart from its input (written straight)', 0, 8 * MiB],
    ['over its input (a private output)', 0, 4096],
    ['misaligned, input and output (private buffers)', 3, 8 * MiB + 1],
  ] as const) {
    it(`matmul-f32 with its output ${where} equals the TS reference bit for bit`, async () => {
      const { input, params, expected } = matmulInput(67, 129, 33, srcOffset * 1000 + dstOffset);
      const out = await jobOnHost({ ctxSlice: units, params }, input, srcOffset, dstOffset);
      expect(out.equals(expected)).toBe(true);
    });
  }

  it('a warm pipeline or matmul job takes no page fault per input page (no private copy)', async () => {
    // The input used to be gathered into a fresh allocation per job: above glibc's largest mmap
    // threshold (32 MiB) a new mapping every time, one first-touch fault per 4 KiB page.
    const slices = new Slices(pool.adapters[0]!);
    const big = await slices.program({ kind: 'memory', ownerKey: key, base: 128 * MiB, length: 80 * MiB });
    try {
      const { params } = matmulInput(1, 2176, 4096, 1); // (4096 + 4096 x 2176) floats: 34 MiB
      const matmulBytes = (4096 + 4096 * 2176) * 4;
      const pipelineBytes = 34 * MiB;
      const jobs = {
        'pipeline scramble': { ctxSlice: ctx.scramble, bytes: pipelineBytes, dstOffset: 0 },
        'pipeline digest': { ctxSlice: ctx.digest, bytes: pipelineBytes, dstOffset: 40 * MiB },
        matmul: { ctxSlice: units, params, bytes: matmulBytes, dstOffset: 40 * MiB },
      };
      for (const [name, { bytes, dstOffset, ...engine }] of Object.entries(jobs)) {
        const job = () =>
          dma.submit({
            op: 'job',
            ownerKey: key,
            ...engine,
            src: { adapter: 0, slice: big },
            srcOffset: 0,
            bytes,
            dst: { adapter: 0, slice: big },
            dstOffset,
          });
        await job(); // the slice's pages now exist and are mapped in the model
        const before = minorFaults(pool.model.pid);
        await job();
        const faults = minorFaults(pool.model.pid) - before;
        expect.soft(faults, name).toBeLessThan(bytes / 4096 / 8);
      }
    } finally {
      await slices.release(big, key);
    }
  });
});

// Function engines (§12) compute real results: checked against node:crypto and TS references.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, pipelinePayload } from '../../src/bitstream/image.js';
import { DmaController } from '../../src/driver/dma.js';
import type { FunctionName } from '../../src/driver/functions.js';
import { HostBuffer } from '../../src/driver/hostmem.js';
import { runJob } from '../../src/driver/jobs.js';
import { Slices } from '../../src/driver/slices.js';
import { Slots } from '../../src/driver/slots.js';
import { MiB, minorFaults, randomKey, testImage, useModel } from '../helpers/model.js';
import { Prng } from '../helpers/prng.js';
import {
  aes256gcm,
  crc32cBytes,
  matmulF32,
  pipeline,
  type Stage,
  seededBytes,
  sha256,
} from '../helpers/reference.js';

describe('function engines', () => {
  const pool = useModel({ adapters: 1, memoryBytes: 256 * MiB });
  const stages: Stage[] = [
    { op: 'xor', arg: 0x5a },
    { op: 'rotl', arg: 3 },
    { op: 'add', arg: 7 },
    { op: 'reverse' },
    { op: 'crc32c' },
  ];
  const key = randomKey();
  const engine: Record<string, number> = {};
  let mem: number;
  let dma: DmaController;
  let host: HostBuffer;

  beforeAll(async () => {
    const a = pool.adapters[0]!;
    const slots = new Slots(a);
    const slices = new Slices(a);
    await slots.load(0, testImage('aes-256-gcm'));
    await slots.load(1, testImage('sha256'));
    await slots.load(2, testImage('crc32c'));
    await slots.load(
      3,
      buildImage(
        { functionId: 4, specMin: 1 << 16, specMax: 1 << 16, contexts: 2, version: 1, name: 'xor-crc' },
        pipelinePayload(stages, 1024),
      ),
    );
    for (const [i, fn] of (['aes-256-gcm', 'sha256', 'crc32c', 'pipeline'] as const).entries()) {
      engine[fn] = await slices.program({ kind: 'context', ownerKey: key, base: 0, length: 1, slot: i });
    }
    engine['matmul-f32'] = await slices.program({ kind: 'compute', ownerKey: key, base: 0, length: 2 });
    mem = await slices.program({ kind: 'memory', ownerKey: key, base: 0, length: 32 * MiB });
    dma = new DmaController(a);
    host = await HostBuffer.create(a, 16 * MiB);
  });
  afterAll(async () => {
    await host?.close();
    dma?.close();
  });

  const run = (fn: FunctionName, input: Uint8Array, params?: Uint8Array) =>
    runJob(dma, 0, host, {
      fn,
      engineEntry: engine[fn]!,
      memoryEntry: mem,
      memorySliceBytes: 32 * MiB,
      ownerKey: key,
      input,
      ...(params ? { params } : {}),
    });

  for (const size of [1, 15, 16, 1000, 65_536, 1_000_003]) {
    it(`aes-256-gcm of ${size} bytes equals node:crypto`, async () => {
      const k = randomBytes(32);
      const iv = randomBytes(12);
      await new Slices(pool.adapters[0]!).setKey(engine['aes-256-gcm']!, key, k);
      const input = randomBytes(size);
      expect((await run('aes-256-gcm', input, iv)).equals(aes256gcm(k, iv, input))).toBe(true);
    });
    it(`sha256 of ${size} bytes equals node:crypto`, async () => {
      const input = randomBytes(size);
      expect((await run('sha256', input)).equals(sha256(input))).toBe(true);
    });
    it(`crc32c of ${size} bytes equals the TS reference`, async () => {
      const input = randomBytes(size);
      expect((await run('crc32c', input)).equals(crc32cBytes(input))).toBe(true);
    });
  }

  it('crc32c of "123456789" is the check value 0xE3069283', async () => {
    expect((await run('crc32c', Buffer.from('123456789'))).readUInt32LE()).toBe(0xe3069283);
  });

  it('the custom pipeline image computes its stages', async () => {
    const input = seededBytes(10_000, 42);
    expect((await run('pipeline', input)).equals(pipeline(stages, input))).toBe(true);
  });

  for (const [m, n, k] of [
    [1, 1, 1],
    [3, 5, 7],
    [16, 16, 16],
    [33, 17, 65],
  ] as const) {
    it(`matmul-f32 ${m}x${k} by ${k}x${n} equals the TS reference bit for bit`, async () => {
      const prng = new Prng(m * 1_000_000 + n * 1000 + k); // seeded: a failure replays
      const a = Float32Array.from({ length: m * k }, () => Math.fround(prng.next() * 2 - 1));
      const b = Float32Array.from({ length: k * n }, () => Math.fround(prng.next() * 2 - 1));
      const input = Buffer.concat([Buffer.from(a.buffer), Buffer.from(b.buffer)]);
      const params = Buffer.alloc(12);
      params.writeUInt32LE(m, 0);
      params.writeUInt32LE(n, 4);
      params.writeUInt32LE(k, 8);
      const out = await run('matmul-f32', input, params);
      expect(out.equals(Buffer.from(matmulF32(m, n, k, a, b).buffer))).toBe(true);
    });
  }

  it('aes-256-gcm with the key in the job (DESC_F_INLINE_KEY) uses that key, not the context key', async () => {
    await new Slices(pool.adapters[0]!).setKey(engine['aes-256-gcm']!, key, seededBytes(32, 11));
    const own = seededBytes(32, 12);
    const iv = seededBytes(12, 13);
    const input = seededBytes(5000, 14);
    const out = await runJob(dma, 0, host, {
      fn: 'aes-256-gcm',
      engineEntry: engine['aes-256-gcm']!,
      memoryEntry: mem,
      memorySliceBytes: 32 * MiB,
      ownerKey: key,
      input,
      params: iv,
      key: own,
    });
    expect(out.equals(aes256gcm(own, iv, input))).toBe(true);
    // the key was wiped from the host buffer once it reached the tenant's slice
    expect(Buffer.from(host.bytes.subarray(0, 32)).equals(Buffer.alloc(32))).toBe(true);
  });

  it('refuses an inline key on an engine that takes none, or with no input after it (JOB_PARAMS)', async () => {
    const job = (fn: FunctionName, bytes: number) =>
      dma.submit({
        op: 'job',
        ownerKey: key,
        ctxSlice: engine[fn]!,
        src: { adapter: 0, slice: mem },
        srcOffset: 0,
        bytes,
        dst: { adapter: 0, slice: mem },
        dstOffset: MiB,
        inlineKey: true,
      });
    await expect(job('sha256', 64)).rejects.toMatchObject({ code: 'JOB_PARAMS' });
    await expect(job('aes-256-gcm', 32)).rejects.toMatchObject({ code: 'JOB_PARAMS' });
    await expect(job('aes-256-gcm', 33)).resolves.toMatchObject({ outBytes: 1 + 16 });
  });

  it('refuses matmul with a length that does not match its dimensions (JOB_PARAMS)', async () => {
    const params = Buffer.alloc(12);
    params.writeUInt32LE(2, 0);
    params.writeUInt32LE(2, 4);
    params.writeUInt32LE(2, 8);
    await expect(run('matmul-f32', Buffer.alloc(20), params)).rejects.toMatchObject({ code: 'JOB_PARAMS' });
  });

  it('isolates engine keys: another tenant on the same engine cannot use this key', async () => {
    const a = pool.adapters[0]!;
    const slices = new Slices(a);
    const other = randomKey();
    const theirs = await slices.program({ kind: 'context', ownerKey: other, base: 1, length: 1, slot: 0 });
    const theirMem = await slices.program({
      kind: 'memory',
      ownerKey: other,
      base: 64 * MiB,
      length: 2 * MiB,
    });
    try {
      // no key set on their context: the job is refused rather than run with someone else's key
      await expect(
        runJob(dma, 0, host, {
          fn: 'aes-256-gcm',
          engineEntry: theirs,
          memoryEntry: theirMem,
          memorySliceBytes: 2 * MiB,
          ownerKey: other,
          input: Buffer.alloc(64),
          params: Buffer.alloc(12),
        }),
      ).rejects.toMatchObject({ code: 'JOB_PARAMS' });
      // and our context cannot be driven with their owner key
      await expect(
        runJob(dma, 0, host, {
          fn: 'aes-256-gcm',
          engineEntry: engine['aes-256-gcm']!,
          memoryEntry: theirMem,
          memorySliceBytes: 2 * MiB,
          ownerKey: other,
          input: Buffer.alloc(64),
          params: Buffer.alloc(12),
        }),
      ).rejects.toMatchObject({ code: 'OWNER_KEY' });
    } finally {
      await slices.release(theirs, other);
      await slices.release(theirMem, other);
    }
  });

  it('refuses a job on an engine that does not run it (FUNCTION)', async () => {
    await expect(
      dma.submit({
        op: 'job',
        ownerKey: key,
        ctxSlice: mem,
        src: { adapter: 0, slice: mem },
        srcOffset: 0,
        bytes: 10,
        dst: { adapter: 0, slice: mem },
        dstOffset: 100,
      }),
    ).rejects.toMatchObject({ code: 'FUNCTION' });
  });

  // engines.c: aes-256-gcm writes its destination itself unless that overlaps its input other than
  // exactly; 3 MiB + 5 bytes run in several 1 MiB steps, so a shifted overlap written straight would
  // overwrite input before the next step reads it
  for (const [name, dstShift, inlineKey] of [
    ['in place', 0, false],
    ['16 bytes ahead of its input', 16, false],
    ['16 bytes behind its input', -16, false],
    ['over its own key block (inline key)', -32, true],
    ['in place after its key block (inline key)', 0, true],
  ] as const) {
    it(`aes-256-gcm with its output ${name} equals node:crypto over the input as it was`, async () => {
      const k = seededBytes(32, 21);
      const iv = seededBytes(12, 22);
      const input = seededBytes(3 * MiB + 5, 23);
      const keyBytes = inlineKey ? 32 : 0;
      if (!inlineKey) await new Slices(pool.adapters[0]!).setKey(engine['aes-256-gcm']!, key, k);
      const srcOffset = 4096; // the key block (inline) then the input
      const inputAt = srcOffset + keyBytes;
      const dstOffset = inputAt + dstShift;
      if (inlineKey) host.bytes.set(k, srcOffset);
      host.bytes.set(input, inputAt);
      const done = await dma.submit({
        op: 'job',
        ownerKey: key,
        ctxSlice: engine['aes-256-gcm']!,
        src: { host: host.handle },
        srcOffset,
        bytes: keyBytes + input.length,
        dst: { host: host.handle },
        dstOffset,
        params: iv,
        ...(inlineKey ? { inlineKey: true } : {}),
      });
      expect(done.outBytes).toBe(input.length + 16);
      const out = Buffer.from(host.bytes.subarray(dstOffset, dstOffset + done.outBytes));
      expect(out.equals(aes256gcm(k, iv, input))).toBe(true);
    });
  }

  it('aes-256-gcm encrypts straight into warm memory: no page fault per output page (engines.c)', async () => {
    // A private output was a fresh 34 MiB allocation per job: 8 704 first-touch faults in the model
    // (0.35 s per 64 MiB on a VM that shadows page tables, 16x the encryption), then a copy.
    const slices = new Slices(pool.adapters[0]!);
    const big = await slices.program({ kind: 'memory', ownerKey: key, base: 128 * MiB, length: 72 * MiB });
    try {
      const k = seededBytes(32, 31);
      const iv = seededBytes(12, 32);
      await slices.setKey(engine['aes-256-gcm']!, key, k);
      const inputBytes = 34 * MiB; // above glibc's largest mmap threshold (32 MiB): always a fresh mapping
      const outOffset = 36 * MiB;
      const job = () =>
        dma.submit({
          op: 'job',
          ownerKey: key,
          ctxSlice: engine['aes-256-gcm']!,
          src: { adapter: 0, slice: big },
          srcOffset: 0,
          bytes: inputBytes,
          dst: { adapter: 0, slice: big },
          dstOffset: outOffset,
          params: iv,
        });
      await job(); // the slice's pages now exist and are mapped in the model
      const before = minorFaults(pool.model.pid);
      const done = await job();
      const faults = minorFaults(pool.model.pid) - before;
      const outPages = Math.ceil(done.outBytes / 4096);
      expect(faults).toBeLessThan(outPages / 8);
      // and the output is right: its last MiB and the tag, over the slice's zeroed input
      const tailBytes = MiB + 16;
      await dma.submit({
        op: 'copy',
        ownerKey: key,
        src: { adapter: 0, slice: big },
        srcOffset: outOffset + done.outBytes - tailBytes,
        dst: { host: host.handle },
        dstOffset: 0,
        bytes: tailBytes,
      });
      const expected = aes256gcm(k, iv, Buffer.alloc(inputBytes));
      expect(Buffer.from(host.bytes.subarray(0, tailBytes)).equals(expected.subarray(-tailBytes))).toBe(true);
    } finally {
      await slices.release(big, key);
    }
  });

  it('charges engine time to the slice', () => {
    const s = new Slices(pool.adapters[0]!).read(engine.sha256!);
    expect(s.jobs).toBeGreaterThanOrEqual(6);
    expect(s.busyNs).toBeGreaterThan(0);
  });
});

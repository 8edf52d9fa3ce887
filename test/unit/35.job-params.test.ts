// Job parameters cross the agent protocol by name (iv; m, n, k) and only the agent encodes the
// descriptor's bytes (ra-spec §12); the scratch-size rule the GRM uses is the driver's own.
import { describe, expect, it } from 'vitest';
import { jobParamsOf } from '../../src/agent/params.js';
import * as layout from '../../src/common/job-scratch.js';
import { jobBufferBytes, matmulParams, maxOutputBytes } from '../../src/driver/jobs.js';
import { Desc } from '../../src/driver/regs.js';
import { Prng } from '../helpers/prng.js';

describe('job parameters and scratch sizes', () => {
  it("the key block the GRM counts is the datasheet's DESC_INLINE_KEY_BYTES (ra-spec §12.1)", () => {
    expect(layout.JOB_KEY_BLOCK_BYTES).toBe(Desc.INLINE_KEY_BYTES);
  });

  it('the GRM (dimensions by name) and the driver (descriptor bytes) size a matmul job alike', () => {
    const rand = new Prng(35);
    for (let i = 0; i < 200; i++) {
      const [m, n, k] = [rand.int(1, 512), rand.int(1, 512), rand.int(1, 512)];
      const inputBytes = (m * k + k * n) * 4;
      const bytes = matmulParams(m, n, k);
      expect(layout.jobBufferBytes('matmul-f32', inputBytes, { m, n, k })).toBe(
        jobBufferBytes('matmul-f32', inputBytes, bytes),
      );
      expect(maxOutputBytes('matmul-f32', inputBytes, bytes)).toBe(m * n * 4);
    }
    for (const fn of ['aes-256-gcm', 'sha256', 'crc32c', 'pipeline'] as const)
      expect(layout.jobBufferBytes(fn, 1000)).toBe(jobBufferBytes(fn, 1000));
  });

  it('the agent encodes aes-256-gcm iv and matmul m, n, k into the descriptor bytes', () => {
    const iv = '00112233445566778899aabb';
    expect(jobParamsOf('aes-256-gcm', { iv })).toEqual(Buffer.from(iv, 'hex'));
    expect(jobParamsOf('matmul-f32', { m: 3, n: 5, k: 7 })).toEqual(matmulParams(3, 5, 7));
    expect(jobParamsOf('sha256', {})).toBeUndefined();
  });

  it.each([
    ['an aes job without iv', 'aes-256-gcm', {}, /iv must be hex/],
    ['an iv of 11 bytes', 'aes-256-gcm', { iv: '00'.repeat(11) }, /iv must be hex/],
    ['a matmul without k', 'matmul-f32', { m: 1, n: 1 }, /k must be a non-negative integer/],
    ['a zero dimension', 'matmul-f32', { m: 0, n: 1, k: 1 }, /m must be 1 to 4294967295/],
    ['a dimension over u32', 'matmul-f32', { m: 2 ** 32, n: 1, k: 1 }, /m must be 1 to/],
    ['matmul dimensions on sha256', 'sha256', { m: 1 }, /sha256 jobs take no m/],
    ['an iv on matmul', 'matmul-f32', { iv: '00'.repeat(12), m: 1, n: 1, k: 1 }, /take no iv/],
  ] as const)('the agent refuses %s', (_what, fn, p, message) => {
    expect(() => jobParamsOf(fn, p)).toThrow(message);
    try {
      jobParamsOf(fn, p);
    } catch (err) {
      expect((err as { code: string }).code).toBe('AGENT_INVALID_PARAMS');
    }
  });
});

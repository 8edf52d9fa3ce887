// Regression (issue 8 item 3): `serve --state D`, allocate, stop, start again on D. A graceful stop
// (SIGTERM, SIGINT) used to stop the device model too, so every allocation came back `lost`; kill -9
// kept them. Now all three come back with 0 differences, every allocation active and usable (a job
// through it, its output checked with node:crypto), and the slice tables read from the adapters'
// registers are exactly those before the stop.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Prng } from '../helpers/prng.js';
import { client, type Served, serve, stop, stopModel } from '../helpers/serve.js';
import { readSliceTables } from './helpers.js';

const TOKEN = 'restart-test-token';
const ADAPTERS = 2;
const dirs: string[] = [];
const running: Served[] = [];

afterEach(async () => {
  for (const s of running.splice(0)) await stop(s, 'SIGKILL');
  for (const d of dirs.splice(0)) {
    stopModel(d);
    rmSync(d, { recursive: true, force: true });
  }
});

function start(state: string, extra: string[] = []): Promise<Served> {
  const args = [
    '--emulate',
    String(ADAPTERS),
    '--memory',
    '256M',
    '--state',
    state,
    '--tokens',
    `alice=${TOKEN}`,
  ];
  return serve([...args, ...extra]).then((s) => {
    running.push(s);
    return s;
  });
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();

/** Runs a sha256 job on the allocation and checks its output against node:crypto. */
async function expectUsable(call: ReturnType<typeof client>, id: string, rng: Prng) {
  const input = Buffer.from(Array.from({ length: 4096 }, () => rng.int(0, 255)));
  const res = await call('POST', `/v1/allocations/${id}/jobs`, {
    function: 'sha256',
    input: input.toString('base64'),
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(Buffer.from(String(res.body!.output), 'base64').equals(sha256(input))).toBe(true);
}

const slicesOf = (state: string) =>
  readSliceTables(path.join(state, 'model'), ADAPTERS).map(
    ({ adapter, entry, kind, ownerKey, base, length, slot }) => ({
      adapter,
      entry,
      kind,
      ownerKey,
      base,
      length,
      slot,
    }),
  );

describe('restart of serve --state after a stop', () => {
  it.each(['SIGTERM', 'SIGINT', 'SIGKILL'] as const)(
    '%s: 0 differences, every allocation active and usable, slice tables unchanged',
    async (signal) => {
      const state = mkdtempSync(path.join(os.tmpdir(), 'grm-restart-'));
      dirs.push(state);
      const rng = new Prng(45);
      const first = await start(state);
      const call = client(first.url, TOKEN);
      const accel = await call('POST', '/v1/allocations', {
        resources: [{ kind: 'accelerator', function: 'sha256' }],
      });
      const memory = await call('POST', '/v1/allocations', {
        resources: [{ kind: 'memory', bytes: 8 * 1024 * 1024 }],
      });
      expect(accel.status, JSON.stringify(accel.body)).toBe(201);
      expect(memory.status, JSON.stringify(memory.body)).toBe(201);
      await expectUsable(call, String(accel.body!.id), rng);
      const before = slicesOf(state);
      expect(before.length).toBeGreaterThanOrEqual(2);

      await stop(first, signal);
      const second = await start(state);
      expect(second.banner).toMatch(/\b0 differences reconciled/);
      const again = client(second.url, TOKEN);
      for (const id of [accel.body!.id, memory.body!.id]) {
        const got = await again('GET', `/v1/allocations/${String(id)}`);
        expect(got.status).toBe(200);
        expect(got.body!.state, `${String(id)} after ${signal}`).toBe('active');
      }
      await expectUsable(again, String(accel.body!.id), rng);
      // The registers, not the GRM's word: the same slices with the same owner keys.
      expect(slicesOf(state)).toEqual(before);
      // And the released memory is really given back.
      expect((await again('DELETE', `/v1/allocations/${String(memory.body!.id)}`)).status).toBe(204);
      expect(slicesOf(state).length).toBe(before.length - 1);
    },
    60_000,
  );

  it('--stop-model powers the adapters off on a graceful stop: the allocations come back lost', async () => {
    // The old behaviour of every graceful stop, now asked for explicitly: shows the check above can fail.
    const state = mkdtempSync(path.join(os.tmpdir(), 'grm-restart-'));
    dirs.push(state);
    const first = await start(state, ['--stop-model']);
    const call = client(first.url, TOKEN);
    const a = await call('POST', '/v1/allocations', {
      resources: [{ kind: 'memory', bytes: 8 * 1024 * 1024 }],
    });
    expect(a.status).toBe(201);
    await stop(first, 'SIGTERM');
    const second = await start(state);
    expect(second.banner).toMatch(/\b1 differences reconciled/);
    expect(
      (await client(second.url, TOKEN)('GET', `/v1/allocations/${String(a.body!.id)}`)).body!.state,
    ).toBe('lost');
  }, 60_000);
});

// Grants over the real `rafabric serve` HTTP API (issue 13): GET /v1/allocations/{id}/grants gives the
// owning tenant a grant on each placement and nobody else anything; the client library opens what it
// fetched, maps the memory, runs a job, and the result is checked against node:crypto and the
// adapter's memory file. After DELETE the grant is revoked.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchGrants, Instance } from '../../src/client/index.js';
import { addon } from '../../src/driver/native.js';
import { client, type Served, serve, stop, stopModel } from '../helpers/serve.js';

const MiB = 1024 * 1024;
const ALICE = 'alice-grants-token';
const BOB = 'bob-grants-token';

describe('grants over HTTP (rafabric serve)', () => {
  let state: string;
  let served: Served;

  beforeAll(async () => {
    state = fs.mkdtempSync(path.join(os.tmpdir(), 'access-http-'));
    served = await serve([
      '--emulate',
      '1',
      '--memory',
      '64M',
      '--state',
      state,
      '--tokens',
      `alice=${ALICE},bob=${BOB}`,
    ]);
  }, 60_000);

  afterAll(async () => {
    if (served) await stop(served, 'SIGKILL');
    stopModel(state);
    fs.rmSync(state, { recursive: true, force: true });
  });

  /** The bytes as the adapter holds them while granted: the slice's grant file (ra-spec §18.7), not the client's mapping. */
  const memoryFile = (grantPath: string, offset: number, bytes: number): Buffer => {
    const m = new (addon().HostMapping)(grantPath, offset, bytes, false);
    try {
      return Buffer.from(new Uint8Array(m.buffer));
    } finally {
      m.close();
    }
  };

  it('the owner fetches grants and uses them; another tenant gets 404; DELETE revokes', async () => {
    const alice = client(served.url, ALICE);
    const created = await alice('POST', '/v1/allocations', {
      resources: [
        { kind: 'memory', bytes: 4 * MiB },
        { kind: 'accelerator', function: 'sha256' },
      ],
    });
    expect(created.status).toBe(201);
    const id = String(created.body!.id);

    const foreign = await client(served.url, BOB)('GET', `/v1/allocations/${id}/grants`);
    expect(foreign.status).toBe(404);
    expect(JSON.stringify(foreign.body)).not.toContain('.tw');
    await expect(fetchGrants({ url: served.url, token: BOB }, id)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });

    const granted = await fetchGrants({ url: served.url, token: ALICE }, id);
    const [mem, sha] = granted.resources.map((r) => r.placements[0]!);
    for (const p of [mem!, sha!])
      expect(p.grant).toMatchObject({ adapter: p.adapter, slice: p.slice, port: expect.any(Number) });
    expect(mem!.grant!.memory).toMatchObject({ base: 0, bytes: 4 * MiB });
    expect(mem!.grant!.memory!.path).toMatch(new RegExp(`\\.m${mem!.slice}$`));
    // a second request hands out the same windows (opened once per allocation)
    const again = await alice('GET', `/v1/allocations/${id}/grants`);
    expect(again.status).toBe(200);
    expect(JSON.stringify(again.body)).toBe(JSON.stringify(granted));

    const inst = await Instance.fetch({ url: served.url, token: ALICE }, id);
    const window = inst.window(mem!.adapter);
    try {
      const input = randomBytes(1 * MiB);
      const mapped = inst.map(mem!);
      mapped.bytes.set(input, 0);
      const done = await inst.job(sha!, { ...mem!, offset: 0 }, { ...mem!, offset: 2 * MiB }, input.length);
      expect(done.outBytes).toBe(32);
      const digest = createHash('sha256').update(input).digest();
      expect(memoryFile(mem!.grant!.memory!.path, 2 * MiB, 32).equals(digest)).toBe(true);

      expect((await alice('DELETE', `/v1/allocations/${id}`)).status).toBe(204);
      // revoked before the 204 was sent
      expect(window.revoked).toBe(true);
      expect(() => mapped.read(0, 32)).toThrow(expect.objectContaining({ code: 'GRANT_REVOKED' }));
      await expect(
        inst.job(sha!, { ...mem!, offset: 0 }, { ...mem!, offset: 2 * MiB }, 4096),
      ).rejects.toMatchObject({ code: 'GRANT_REVOKED' });
      expect((await alice('GET', `/v1/allocations/${id}/grants`)).status).toBe(404);
    } finally {
      inst.close();
    }
  }, 60_000);
});

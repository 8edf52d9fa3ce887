// Grants survive a GRM restart (issue 13; docs/access.md, "Grants in the store"): `rafabric serve
// --state` gives grants, is killed with SIGKILL, and starts again on the same state. It answers the
// same grants (the same windows, still open and working), they still count against the adapter's
// queues (the 8th allocation gets NO_QUEUE, no window leaked), and a release then revokes the old
// windows: submit fails with GRANT_REVOKED and the window's own TW_STATE reads REVOKED. Before grants
// were recorded, a restarted GRM opened new windows and left the old ones open until an adapter reset.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchGrants, Instance } from '../../src/client/index.js';
import { Adapter } from '../../src/driver/adapter.js';
import { addon } from '../../src/driver/native.js';
import { Tw, TwState } from '../../src/driver/regs.js';
import { TenantWindows } from '../../src/driver/tenants.js';
import { client, type Served, serve, stop, stopModel } from '../helpers/serve.js';

const MiB = 1024 * 1024;
const TOKEN = 'grants-restart-token';
const dirs: string[] = [];
const running: Served[] = [];

afterEach(async () => {
  for (const s of running.splice(0)) await stop(s, 'SIGKILL');
  for (const d of dirs.splice(0)) {
    stopModel(d);
    fs.rmSync(d, { recursive: true, force: true });
  }
});

async function start(state: string): Promise<Served> {
  const s = await serve([
    '--emulate',
    '1',
    '--memory',
    '64M',
    '--state',
    state,
    '--tokens',
    `alice=${TOKEN}`,
  ]);
  running.push(s);
  return s;
}

/** TW_STATE as the window's own registers hold it (a mapping opened while the file existed). */
class WindowRegisters {
  private readonly mapping;
  constructor(file: string) {
    this.mapping = new (addon().HostMapping)(file, 0, Tw.BYTES, false);
  }
  get state(): number {
    return new Uint32Array(this.mapping.buffer)[Tw.STATE / 4]!;
  }
  close(): void {
    this.mapping.close();
  }
}

/** The windows open on the adapter, read from its register file (QCB_OWNER of each queue, ra-spec §18.3). */
function openWindows(state: string): number {
  const a = Adapter.open(`shm://${path.join(state, 'model', 'ra0.sock')}`);
  try {
    return new TenantWindows(a).inUse().size;
  } finally {
    a.close();
  }
}

describe('grants across a restart of serve --state (SIGKILL)', () => {
  it('the same grants come back, still count against the queues, and a release revokes the old windows', async () => {
    const state = fs.mkdtempSync(path.join(os.tmpdir(), 'grants-restart-'));
    dirs.push(state);
    const first = await start(state);
    const alice = client(first.url, TOKEN);
    // CAP_QUEUES = 8 and the agent keeps one: 7 allocations can hold grants on the one adapter.
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const created = await alice('POST', '/v1/allocations', {
        resources: [
          { kind: 'memory', bytes: 4 * MiB },
          ...(i === 0 ? [{ kind: 'accelerator', function: 'sha256' }] : []),
        ],
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      ids.push(String(created.body!.id));
    }
    const before = new Map<string, string>();
    for (const id of ids) {
      const g = await alice('GET', `/v1/allocations/${id}/grants`);
      expect(g.status, JSON.stringify(g.body)).toBe(200);
      before.set(id, JSON.stringify(g.body));
    }
    expect(openWindows(state)).toBe(7);
    // The journal records the windows, never their files (the capability: docs/access.md).
    const journal = fs.readFileSync(path.join(state, 'store', 'journal.jsonl'), 'utf8');
    expect(journal).toContain('"windows"');
    for (const g of before.values())
      for (const file of g.match(/ra\d+\.tw\d+-[0-9a-f]{32}/g)!) expect(journal).not.toContain(file);

    const id = ids[0]!;
    const inst = await Instance.fetch({ url: first.url, token: TOKEN }, id);
    const granted = await fetchGrants({ url: first.url, token: TOKEN }, id);
    const [mem, sha] = granted.resources.map((r) => r.placements[0]!);
    const regs = new WindowRegisters(mem!.grant!.window);
    try {
      expect(regs.state).toBe(TwState.OPEN);
      await stop(first, 'SIGKILL');

      const second = await start(state);
      const again = client(second.url, TOKEN);
      for (const x of ids) {
        const g = await again('GET', `/v1/allocations/${x}/grants`);
        expect(g.status, JSON.stringify(g.body)).toBe(200);
        expect(JSON.stringify(g.body)).toBe(before.get(x)); // the same windows, files and queues
      }
      expect(openWindows(state)).toBe(7); // nothing opened anew, nothing leaked
      // The 8th allocation's grants find no free queue: the recorded grants hold theirs.
      const eighth = await again('POST', '/v1/allocations', {
        resources: [{ kind: 'memory', bytes: 4 * MiB }],
      });
      expect(eighth.status).toBe(201);
      const refused = await again('GET', `/v1/allocations/${String(eighth.body!.id)}/grants`);
      expect(refused.status).toBe(503);
      expect(JSON.stringify(refused.body)).toContain('NO_QUEUE');

      // The window handed out before the restart still works: a job through it, checked with node:crypto.
      const input = randomBytes(1 * MiB);
      inst.map(mem!).bytes.set(input, 0);
      await inst.job(sha!, { ...mem!, offset: 0 }, { ...mem!, offset: 2 * MiB }, input.length);
      const digest = createHash('sha256').update(input).digest();
      expect(Buffer.from(inst.map(mem!).bytes.subarray(2 * MiB, 2 * MiB + 32)).equals(digest)).toBe(true);

      // The restarted GRM revokes the old window before it acknowledges the release.
      expect((await again('DELETE', `/v1/allocations/${id}`)).status).toBe(204);
      expect(regs.state).toBe(TwState.REVOKED);
      await expect(
        inst.job(sha!, { ...mem!, offset: 0 }, { ...mem!, offset: 2 * MiB }, 4096),
      ).rejects.toMatchObject({ code: 'GRANT_REVOKED' });
      expect(openWindows(state)).toBe(6);
      // Its queue is free again: the 8th allocation gets its grants now.
      expect((await again('GET', `/v1/allocations/${String(eighth.body!.id)}/grants`)).status).toBe(200);
      expect(openWindows(state)).toBe(7);
    } finally {
      regs.close();
      inst.close();
    }
  }, 120_000);
});

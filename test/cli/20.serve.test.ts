// `rafabric serve` as an operator meets it (issue 8 items 7 and 12): a fatal startup error ends the
// process with exit 1 and the store's message (it used to print the error and hang); a damaged or lost
// journal is refused until --repair, whose notes are logged; DELETE with a JSON content type and no
// body is accepted.
import * as fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { client, type Served, serve, serveFails, stop, stopModel } from '../helpers/serve.js';

const TOKEN = 'serve-test-token';
const dirs: string[] = [];
const running: Served[] = [];

afterEach(async () => {
  for (const s of running.splice(0)) await stop(s, 'SIGKILL');
  for (const d of dirs.splice(0)) {
    stopModel(d);
    fs.rmSync(d, { recursive: true, force: true });
  }
});

const base = (state: string) => [
  '--emulate',
  '1',
  '--memory',
  '64M',
  '--state',
  state,
  '--tokens',
  `alice=${TOKEN}`,
];

function stateDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'serve-test-'));
  dirs.push(d);
  return d;
}

async function start(state: string, extra: string[] = []): Promise<Served> {
  const s = await serve([...base(state), ...extra]);
  running.push(s);
  return s;
}

/** A state folder whose store holds one committed allocation; serve stopped (model left running). */
async function withOneAllocation(): Promise<{ state: string; journal: string; id: string }> {
  const state = stateDir();
  const s = await start(state);
  const res = await client(s.url, TOKEN)('POST', '/v1/allocations', {
    resources: [{ kind: 'memory', bytes: 4 * 1024 * 1024 }],
  });
  expect(res.status).toBe(201);
  await stop(s, 'SIGTERM');
  return { state, journal: path.join(state, 'store', 'journal.jsonl'), id: String(res.body!.id) };
}

describe('serve: fatal startup errors exit', () => {
  it('a store held by another serve: exit 1 with the STORE_LOCKED message, the first keeps serving', async () => {
    const state = stateDir();
    const first = await start(state);
    const { code, stderr } = await serveFails(base(state));
    expect(code).toBe(1);
    expect(stderr).toMatch(/is open in process \d+.*\[STORE_LOCKED\]/s);
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
  }, 60_000);

  it('a state path that is a file: exit 1 with a message', async () => {
    const file = path.join(stateDir(), 'not-a-dir');
    fs.writeFileSync(file, '');
    const { code, stderr } = await serveFails(base(file));
    expect(code).toBe(1);
    expect(stderr).toMatch(/^rafabric: .*(ENOTDIR|EEXIST|not a directory|file already exists)/m);
  }, 60_000);
});

describe('serve: damage at the journal end is refused unless --repair', () => {
  it('a flipped byte in the last complete line: exit 1 STORE_CORRUPT; --repair starts, logs the note, rolls it back', async () => {
    const { state, journal, id } = await withOneAllocation();
    const bytes = fs.readFileSync(journal);
    const lastStart = bytes.lastIndexOf(0x0a, bytes.length - 2) + 1;
    bytes[lastStart + 10] = bytes[lastStart + 10]! ^ 0x01;
    fs.writeFileSync(journal, bytes);
    const refused = await serveFails(base(state));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/the last, is complete but damaged .*--repair.*\[STORE_CORRUPT\]/s);
    expect(fs.readFileSync(journal).equals(bytes), 'a refused start rewrites nothing').toBe(true);

    const repaired = await start(state, ['--repair']);
    expect(repaired.stderr()).toMatch(/repair: cut \d+ bytes/);
    // The commit record was dropped: the allocation's intent is rolled back, its slice released.
    expect(repaired.banner).toMatch(/\b1 differences reconciled/);
    expect((await client(repaired.url, TOKEN)('GET', `/v1/allocations/${id}`)).status).toBe(404);
  }, 60_000);

  it.each([
    ['emptied', (journal: string) => fs.writeFileSync(journal, '')],
    ['deleted', (journal: string) => fs.rmSync(journal)],
  ])(
    'an %s journal while the store held records: exit 1 STORE_CORRUPT, --repair starts',
    async (_how, damage) => {
      const { state, journal } = await withOneAllocation();
      damage(journal);
      const refused = await serveFails(base(state));
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(
        /journal\.jsonl is (empty|missing), but .*store\.json says records .*\[STORE_CORRUPT\]/s,
      );
      const repaired = await start(state, ['--repair']);
      expect(repaired.stderr()).toMatch(/repair: .*journal\.jsonl is (empty|missing)/);
    },
    60_000,
  );

  it('an empty state folder is a fresh store', async () => {
    const s = await start(stateDir());
    expect(s.banner).toMatch(/\b0 differences reconciled/);
  }, 60_000);
});

describe('serve: request handling', () => {
  it('DELETE with Content-Type: application/json and no body is accepted (204)', async () => {
    const s = await start(stateDir());
    const call = client(s.url, TOKEN);
    const a = await call('POST', '/v1/allocations', {
      resources: [{ kind: 'memory', bytes: 4 * 1024 * 1024 }],
    });
    expect(a.status).toBe(201);
    const res = await fetch(`${s.url}/v1/allocations/${String(a.body!.id)}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    });
    expect(res.status, await res.text()).toBe(204);
    // POST with an empty JSON body is still refused with its own message.
    const empty = await fetch(`${s.url}/v1/allocations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    });
    expect(empty.status).toBe(400);
    expect(await empty.text()).toMatch(/request body is empty/);
  }, 60_000);
});

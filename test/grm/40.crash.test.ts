// kill -9 of the GRM during allocations, then a restart on the same state: no allocation a client
// was told succeeded is lost, and no capacity leaks (slice tables read through the driver).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stopModel } from '../helpers/serve.js';
import { overlaps, readSliceTables } from './helpers.js';

const root = path.resolve(import.meta.dirname, '../..');
const TOKEN = 'crash-test-token';
const state = mkdtempSync(path.join(os.tmpdir(), 'grm-crash-'));
const children: ChildProcess[] = [];

function serve(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [
      path.join(root, 'bin/rafabric.js'),
      'serve',
      '--emulate',
      '2',
      '--memory',
      '512M',
      '--port',
      '0',
      '--state',
      state,
      '--tokens',
      `alice=${TOKEN}`,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, RAFABRIC_LOG: 'warn' },
    },
  );
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1]! });
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
}

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  stopModel(state); // a graceful stop with --state leaves the device model running
  rmSync(state, { recursive: true, force: true });
});

describe('crash safety', () => {
  it('survives kill -9 during allocations', async () => {
    const first = await serve();
    const auth = { authorization: `Bearer ${TOKEN}` };
    const headers = { ...auth, 'content-type': 'application/json' };
    const confirmed: string[] = [];
    let killed = false;
    const clients = Array.from({ length: 8 }, async () => {
      while (!killed) {
        try {
          const res = await fetch(`${first.url}/v1/allocations`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ resources: [{ kind: 'memory', bytes: 4 * 1024 * 1024 }] }),
          });
          if (res.status === 201) confirmed.push(((await res.json()) as { id: string }).id);
          else await res.text();
        } catch {
          return; // the GRM is gone
        }
      }
    });
    await new Promise((r) => setTimeout(r, 1500));
    first.child.kill('SIGKILL');
    killed = true;
    await Promise.all(clients);
    expect(confirmed.length).toBeGreaterThan(3);

    const second = await serve();
    for (const id of confirmed) {
      const res = await fetch(`${second.url}/v1/allocations/${id}`, { headers: auth });
      expect(res.status, `allocation ${id} was confirmed before the crash`).toBe(200);
      expect(((await res.json()) as { state: string }).state).toBe('active');
    }
    const list = (await (await fetch(`${second.url}/v1/allocations`, { headers: auth })).json()) as {
      id: string;
      resources: { placements: { bytes?: number }[] }[];
    }[];
    const slices = readSliceTables(path.join(state, 'model'), 2);
    expect(overlaps(slices)).toEqual([]);
    // every slice on the adapters belongs to a live allocation, and nothing else is held
    expect(slices.length).toBe(
      list.reduce((n, a) => n + a.resources.reduce((m, r) => m + r.placements.length, 0), 0),
    );
    for (const id of confirmed)
      expect(
        (await fetch(`${second.url}/v1/allocations/${id}`, { method: 'DELETE', headers: auth })).status,
      ).toBe(204);
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
  });
});

// The QEMU mode's command-line refusals, on the host (no VM): `agent --qemu-guest` with a bad backend
// or outside a guest, and `serve --qemu` with an unreadable or invalid topology or a flag it cannot
// take. Each is refused with a clear message and exit status, and starts nothing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeClusterCerts } from '../../src/agent/rpc/certs.js';

const repo = path.resolve(import.meta.dirname, '..', '..');
const cli = path.join(repo, 'bin', 'rafabric.js');
const dir = mkdtempSync(path.join(os.tmpdir(), 'rafabric-qemu-cli-'));
const certs = path.join(dir, 'certs');

const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, RAFABRIC_LOG: 'silent' },
  });
  return { status: r.status, stderr: r.stderr };
};

beforeAll(() => {
  makeClusterCerts({ dir: certs, agents: ['vm-a'] });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('agent --qemu-guest', () => {
  const agent = (backend: string) =>
    run(
      'agent',
      '--qemu-guest',
      backend,
      '--server',
      'vm-a',
      '--adapters',
      '1',
      '--listen',
      '127.0.0.1:0',
      '--certs',
      certs,
    );

  it('refuses a backend other than pci or vfio', () => {
    const r = agent('shm');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--qemu-guest: 'shm' is not pci or vfio/);
  });

  it('outside a guest (no ivshmem device here), refuses before loading any module', () => {
    const r = agent('pci');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /--adapters 1, but this machine has 0 ivshmem device\(s\): run it in a QEMU guest/,
    );
  });
});

describe('serve --qemu', () => {
  const serve = (...args: string[]) =>
    run('serve', '--tokens', 'alice=s3cr3t-token-0123456789abcdef', '--port', '0', ...args);

  it('refuses a topology file that does not exist, is not JSON, or is invalid', () => {
    expect(serve('--qemu', path.join(dir, 'none.json')).stderr).toMatch(/--qemu: cannot read .*none\.json/);
    writeFileSync(path.join(dir, 'bad.json'), '{');
    expect(serve('--qemu', path.join(dir, 'bad.json')).stderr).toMatch(/--qemu: .*bad\.json is not JSON/);
    writeFileSync(path.join(dir, 'zero.json'), JSON.stringify({ vms: [{ name: 'a', adapters: 0 }] }));
    expect(serve('--qemu', path.join(dir, 'zero.json')).stderr).toMatch(/no VM carries an adapter/);
  });

  it('refuses options of the embedded pool', () => {
    writeFileSync(path.join(dir, 'ok.json'), JSON.stringify({ vms: [{ name: 'a', adapters: 1 }] }));
    const r = serve('--qemu', path.join(dir, 'ok.json'), '--state', path.join(dir, 'state'));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--qemu cannot be used with --state/);
  });

  it('takes --boot-timeout only with --qemu, and only in 10..3600 s', () => {
    writeFileSync(path.join(dir, 'ok.json'), JSON.stringify({ vms: [{ name: 'a', adapters: 1 }] }));
    const short = serve('--qemu', path.join(dir, 'ok.json'), '--boot-timeout', '5');
    expect(short.status).toBe(2);
    expect(short.stderr).toMatch(/--boot-timeout: must be 10\.\.3600, got 5/);
    expect(serve('--qemu', path.join(dir, 'ok.json'), '--boot-timeout', 'soon').stderr).toMatch(
      /--boot-timeout: 'soon' is not a whole number/,
    );
    const embedded = serve('--boot-timeout', '600', '--emulate', '1');
    expect(embedded.status).toBe(2);
    expect(embedded.stderr).toMatch(/--boot-timeout is for QEMU mode: use it with --qemu/);
  });
});

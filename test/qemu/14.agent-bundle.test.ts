// The guest agent's bundle (scripts/bundle-agent.mjs, made by `npm run build`): one file a QEMU guest
// loads over 9p instead of ~270. Copied alone into a folder that has no dist/ and no node_modules/
// (only the native addon, the shipped bitstreams and the agent's .proto, which it reads at run time),
// it still runs `rafabric agent --qemu-guest`: here, outside a guest, up to its refusal. And the QEMU
// pool refuses a missing or stale bundle, saying to run `npm run build`.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeClusterCerts } from '../../src/agent/rpc/certs.js';
import { agentBundlePath } from '../../src/modes/qemu/agent-bundle.js';

const repo = path.resolve(import.meta.dirname, '..', '..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'rafabric-qemu-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('guest agent bundle', () => {
  it('runs on its own: no dist/ modules, no node_modules/ beside it', () => {
    const root = path.join(dir, 'alone');
    mkdirSync(path.join(root, 'dist', 'bundle'), { recursive: true });
    copyFileSync(agentBundlePath(repo), path.join(root, 'dist', 'bundle', 'agent.js'));
    symlinkSync(path.join(repo, 'build'), path.join(root, 'build'));
    symlinkSync(path.join(repo, 'bitstreams'), path.join(root, 'bitstreams'));
    mkdirSync(path.join(root, 'src', 'agent', 'rpc'), { recursive: true });
    cpSync(
      path.join(repo, 'src', 'agent', 'rpc', 'agent.proto'),
      path.join(root, 'src', 'agent', 'rpc', 'agent.proto'),
    );
    const certs = path.join(dir, 'certs');
    makeClusterCerts({ dir: certs, agents: ['vm-a'] });
    const r = spawnSync(
      process.execPath,
      [
        path.join(root, 'dist', 'bundle', 'agent.js'),
        'agent',
        '--qemu-guest',
        'pci',
        '--server',
        'vm-a',
        '--adapters',
        '1',
        '--listen',
        '127.0.0.1:0',
        '--certs',
        certs,
      ],
      { encoding: 'utf8', timeout: 60_000, cwd: dir, env: { ...process.env, RAFABRIC_LOG: 'silent' } },
    );
    expect(r.stderr).toMatch(
      /--adapters 1, but this machine has 0 ivshmem device\(s\): run it in a QEMU guest/,
    );
    expect(r.status).toBe(2);
  });

  it('the pool refuses a missing or stale bundle with what to run', () => {
    const root = path.join(dir, 'stale');
    mkdirSync(path.join(root, 'dist', 'cli'), { recursive: true });
    expect(() => agentBundlePath(root)).toThrow(/agent bundle .* is missing: run `npm run build`/);
    mkdirSync(path.join(root, 'dist', 'bundle'));
    const bundle = path.join(root, 'dist', 'bundle', 'agent.js');
    const entry = path.join(root, 'dist', 'cli', 'agent-main.js');
    writeFileSync(bundle, '');
    writeFileSync(entry, '');
    utimesSync(bundle, new Date(1_000_000), new Date(1_000_000));
    expect(() => agentBundlePath(root)).toThrow(
      /agent bundle .* is older than .*agent-main\.js: run `npm run build`/,
    );
    utimesSync(entry, new Date(500_000), new Date(500_000));
    expect(agentBundlePath(root)).toBe(bundle);
  });
});

// `rafabric agent` as a command: every flag validated with a clear error (exit 2, nothing started),
// and a clean stop on SIGINT/SIGTERM that takes its own device model down with it.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { modelPidOf } from '../../src/agent/host.js';
import { cli, root, startAgent, stopModel } from './helpers.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'agent-cmd-'));
const certs = path.join(work, 'certs');
afterAll(() => rmSync(work, { recursive: true, force: true }));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('rafabric agent', () => {
  beforeAll(() => {
    expect(cli(['certs', '--dir', certs, '--agents', 'server1']).status).toBe(0);
  });

  it.each([
    [['--listen', '127.0.0.1'], /--listen: '127\.0\.0\.1' is not HOST:PORT/],
    [['--listen', '127.0.0.1:70000'], /--listen port: must be 0\.\.65535, got 70000/],
    [['--listen', '[zz]:1'], /is not HOST:PORT/],
    [['--adapters', '0'], /--adapters: must be 1\.\.64, got 0/],
    [['--server', 'bad name'], /--server: 'bad name' is not a valid name/],
    [['--memory', 'lots'], /--memory: 'lots' is not a size/],
    [['--server', 'server9'], /certificates for 'server9' missing: .*server9\.crt.*rafabric certs --dir/],
    [['--certs', '/nonexistent/certs'], /--certs: \/nonexistent\/certs is not a folder/],
  ])('refuses %j with a clear error and starts nothing', (override, message) => {
    const flags: Record<string, string> = {
      '--server': 'server1',
      '--adapters': '1',
      '--listen': '127.0.0.1:0',
      '--certs': certs,
      '--memory': '16M',
    };
    for (let i = 0; i < override.length; i += 2) flags[override[i]!] = override[i + 1]!;
    const r = cli(['agent', ...Object.entries(flags).flat()]);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.status).toBe(2);
  });

  it.each(['SIGINT', 'SIGTERM'] as const)('stops cleanly on %s, its device model too', async (signal) => {
    const child = spawn(
      process.execPath,
      [
        path.join(root, 'bin/rafabric.js'),
        'agent',
        '--server',
        'server1',
        '--adapters',
        '1',
        '--listen',
        '127.0.0.1:0',
        '--certs',
        certs,
        '--memory',
        '16M',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RAFABRIC_LOG: 'info' } },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // A failed expectation must not leave the agent running (its model dies with it: no --dir).
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    await expect
      .poll(() => out, { timeout: 30_000 })
      .toMatch(/^agent server1 listening on 127\.0\.0\.1:\d+\n$/);
    await expect.poll(() => err, { timeout: 10_000 }).toMatch(/device model started.*\n/);
    const started = JSON.parse(err.split('\n').find((l) => l.includes('device model started'))!) as {
      modelPid: number;
      modelDir: string;
    };
    expect(alive(started.modelPid)).toBe(true);
    expect(existsSync(started.modelDir)).toBe(true);
    child.kill(signal);
    expect(await exited).toBe(0);
    expect(err).toMatch(new RegExp(`"signal":"${signal}".*agent stopping`));
    expect(alive(started.modelPid)).toBe(false);
    expect(existsSync(started.modelDir)).toBe(false);
  });

  it('with --dir, leaves its device model running on SIGTERM and the next agent takes it over', async () => {
    const stateDir = path.join(work, 'kept');
    const first = await startAgent({ server: 'server1', certs, stateDir, adapters: 1, memory: '16M' });
    const modelPid = modelPidOf(stateDir)!;
    try {
      expect(await first.stop()).toBe(0);
      expect(alive(modelPid)).toBe(true);
      const second = await startAgent({ server: 'server1', certs, stateDir, adapters: 1, memory: '16M' });
      expect(await second.stop()).toBe(0);
      expect(modelPidOf(stateDir)).toBe(modelPid); // the same model, not a new one
      expect(alive(modelPid)).toBe(true);
    } finally {
      stopModel(stateDir);
    }
    await expect.poll(() => alive(modelPid), { timeout: 10_000 }).toBe(false);
  });

  // The --dir takeover flake: a stop signal that reached the agent before its handlers were installed
  // took the default action (exit by signal). Handlers now come first; this sends SIGTERM while the
  // agent starts (its device model has just made its socket, the agent has not printed its line).
  it('with --dir, a SIGTERM while it starts ends it cleanly (exit 0) and leaves the model running', async () => {
    const stateDir = path.join(work, 'signalled-while-starting');
    const child = spawn(
      process.execPath,
      [
        path.join(root, 'bin/rafabric.js'),
        'agent',
        '--server',
        'server1',
        '--adapters',
        '1',
        '--listen',
        '127.0.0.1:0',
        '--certs',
        certs,
        '--memory',
        '16M',
        '--dir',
        stateDir,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RAFABRIC_LOG: 'silent' } },
    );
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      stopModel(stateDir);
    });
    const socket = path.join(stateDir, 'model', 'ra0.sock');
    await expect.poll(() => existsSync(socket), { timeout: 30_000, interval: 2 }).toBe(true);
    expect(out).toBe(''); // still starting
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const modelPid = modelPidOf(stateDir)!;
    expect(alive(modelPid)).toBe(true);
  });
});

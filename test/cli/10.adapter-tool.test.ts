// The low-level tool end to end: `rafabric model` serving sockets, then `rafabric adapter ...` on them.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32cBytes } from '../helpers/reference.js';

const root = path.resolve(import.meta.dirname, '../..');
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [path.join(root, 'bin/rafabric.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, RAFABRIC_LOG: 'silent' },
  });
const cliBuffer = (...args: string[]) =>
  spawnSync(process.execPath, [path.join(root, 'bin/rafabric.js'), ...args], {
    env: { ...process.env, RAFABRIC_LOG: 'silent' },
  });

describe('rafabric model + adapter', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cli-'));
  const work = mkdtempSync(path.join(os.tmpdir(), 'cli-files-'));
  const uri = (i: number) => `shm://${dir}/ra${i}.sock`;
  let model: ChildProcess;

  beforeAll(async () => {
    model = spawn(
      process.execPath,
      [path.join(root, 'bin/rafabric.js'), 'model', '--adapters', '2', '--dir', dir, '--memory', '256M'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RAFABRIC_LOG: 'silent' } },
    );
    await new Promise<void>((resolve, reject) => {
      let out = '';
      model.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('ready')) resolve();
      });
      model.once('exit', (c) => reject(new Error(`model exited ${c}`)));
    });
  });
  afterAll(async () => {
    model.kill('SIGTERM');
    await new Promise((r) => model.once('exit', r));
    expect(existsSync(path.join(dir, 'ra0.sock'))).toBe(false); // SIGTERM stops it cleanly
    rmSync(dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('info --json reports identity and capacities', () => {
    const r = cli('adapter', 'info', uri(1), '--json');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      fabricId: 1,
      memoryBytes: 256 * 1024 * 1024,
      specVersion: '1.0',
      status: { ready: true },
    });
  });

  it('run: sha256, crc32c and aes-256-gcm of a file equal node:crypto / the reference', () => {
    const input = randomBytes(200_000);
    const inFile = path.join(work, 'in.bin');
    const out = path.join(work, 'out.bin');
    writeFileSync(inFile, input);
    expect(cli('adapter', 'run', uri(0), '--function', 'sha256', '--in', inFile, '--out', out).status).toBe(
      0,
    );
    expect(readFileSync(out).equals(createHash('sha256').update(input).digest())).toBe(true);
    expect(cli('adapter', 'run', uri(0), '--function', 'crc32c', '--in', inFile, '--out', out).status).toBe(
      0,
    );
    expect(readFileSync(out).equals(crc32cBytes(input))).toBe(true);
    const key = randomBytes(32);
    const iv = randomBytes(12);
    const r = cli(
      'adapter',
      'run',
      uri(0),
      '--function',
      'aes-256-gcm',
      '--in',
      inFile,
      '--out',
      out,
      '--key',
      key.toString('hex'),
      '--iv',
      iv.toString('hex'),
      '--json',
    );
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ function: 'aes-256-gcm', loadedImage: true });
    const c = createCipheriv('aes-256-gcm', key, iv);
    expect(readFileSync(out).equals(Buffer.concat([c.update(input), c.final(), c.getAuthTag()]))).toBe(true);
  });

  it('run refuses a bad key with a clear message and exit code 2', () => {
    writeFileSync(path.join(work, 'x'), 'x');
    const r = cli(
      'adapter',
      'run',
      uri(0),
      '--function',
      'aes-256-gcm',
      '--in',
      path.join(work, 'x'),
      '--out',
      path.join(work, 'y'),
      '--key',
      'zz',
      '--iv',
      '00'.repeat(12),
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--key/);
  });

  it('write, copy across the fabric and read back byte-exact', () => {
    const data = randomBytes(10_000);
    writeFileSync(path.join(work, 'data'), data);
    expect(cli('adapter', 'write', `${uri(0)}@12345`, '--in', path.join(work, 'data')).status).toBe(0);
    const copy = cli('adapter', 'copy', `${uri(0)}@12345`, `${uri(1)}@777`, '--bytes', '10000', '--json');
    expect(copy.status).toBe(0);
    expect(JSON.parse(copy.stdout).bytes).toBe(10_000);
    const r = cliBuffer(
      'adapter',
      'read',
      `${uri(1)}@777`,
      '--bytes',
      '10000',
      '--out',
      path.join(work, 'back'),
    );
    expect(r.status).toBe(0);
    expect(readFileSync(path.join(work, 'back')).equals(data)).toBe(true);
  });

  it('dump shows slots and no slices left behind', () => {
    const r = cli('adapter', 'dump', uri(0), '--json');
    expect(r.status).toBe(0);
    const d = JSON.parse(r.stdout) as { slices: unknown[]; slots: { function?: string }[] };
    expect(d.slices).toEqual([]);
    expect(d.slots.map((s) => s.function)).toContain('aes-256-gcm');
  });

  it('gives a clear error for an adapter that is not there', () => {
    const r = cli('adapter', 'info', `shm://${dir}/ra9.sock`);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot open .*ra9\.sock.*OPEN_FAILED/);
  });
});

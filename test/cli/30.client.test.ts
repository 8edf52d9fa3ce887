// The README's client example against a real `rafabric serve`: `adapters`, `alloc`, `exec`, `free`
// run as commands over HTTP; the job's output is checked against node:crypto and the allocation's
// slices are read from the adapters' registers (not from the GRM's answers).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSliceTables } from '../grm/helpers.js';
import { Prng } from '../helpers/prng.js';
import { matmulF32 } from '../helpers/reference.js';

const root = path.resolve(import.meta.dirname, '../..');
const TOKEN = 'client-test-token';
const ADAPTERS = 2;

describe('rafabric adapters | alloc | exec | free against a real serve', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cli-client-'));
  const state = path.join(dir, 'state');
  let server: ChildProcess | undefined;
  let url = '';

  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [path.join(root, 'bin/rafabric.js'), ...args, '--url', url], {
      encoding: 'utf8',
      env: { ...process.env, RAFABRIC_TOKEN: TOKEN, RAFABRIC_LOG: 'warn' },
      timeout: 60_000,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  beforeAll(async () => {
    server = spawn(
      process.execPath,
      [
        path.join(root, 'bin/rafabric.js'),
        'serve',
        '--emulate',
        String(ADAPTERS),
        '--memory',
        '1G',
        '--port',
        '0',
        '--state',
        state,
        '--stop-model', // with --state a graceful stop would leave the device model running
        '--tokens',
        `alice=${TOKEN}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RAFABRIC_LOG: 'warn' } },
    );
    url = await new Promise<string>((resolve, reject) => {
      let out = '';
      let err = '';
      server!.stdout!.on('data', (d: Buffer) => {
        out += d;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      server!.stderr!.on('data', (d: Buffer) => {
        err += d;
      });
      server!.once('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
    });
  });

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the README example: adapters, alloc, exec (checked against node:crypto), free', () => {
    const adapters = cli('adapters', '--json');
    expect(adapters.status, adapters.stderr).toBe(0);
    const pool = JSON.parse(adapters.stdout) as { id: string; memory: { total: number } }[];
    expect(pool).toHaveLength(ADAPTERS);
    expect(pool.every((a) => a.memory.total === 2 ** 30)).toBe(true);

    const alloc = cli(
      'alloc',
      '--resource',
      'accelerator=aes-256-gcm',
      '--resource',
      'memory=512M',
      '--json',
    );
    expect(alloc.status, alloc.stderr).toBe(0);
    const a = JSON.parse(alloc.stdout) as {
      id: string;
      resources: { kind: string; placements: { adapter: string; slice: number }[] }[];
    };
    // Two slices exist on the adapters, read from their registers.
    const slices = readSliceTables(path.join(state, 'model'), ADAPTERS);
    expect(slices.map((s) => s.kind).sort()).toEqual(['context', 'memory']);
    const memory = slices.find((s) => s.kind === 'memory')!;
    expect(memory.length).toBe(512 * 2 ** 20);

    const key = randomBytes(32);
    const iv = randomBytes(12);
    const input = randomBytes(10_000);
    const inFile = path.join(dir, 'in.bin');
    const outFile = path.join(dir, 'out.bin');
    writeFileSync(inFile, input);
    const exec = cli(
      'exec',
      a.id,
      '--function',
      'aes-256-gcm',
      '--key',
      key.toString('hex'),
      '--iv',
      iv.toString('hex'),
      '--in',
      inFile,
      '--out',
      outFile,
    );
    expect(exec.status, exec.stderr).toBe(0);
    expect(exec.stdout).toMatch(/aes-256-gcm: 10000 bytes in, 10016 bytes out/);
    const c = createCipheriv('aes-256-gcm', key, iv);
    expect(readFileSync(outFile).equals(Buffer.concat([c.update(input), c.final(), c.getAuthTag()]))).toBe(
      true,
    );

    const free = cli('free', a.id);
    expect(free.status, free.stderr).toBe(0);
    expect(free.stdout).toBe(`released ${a.id}\n`);
    expect(readSliceTables(path.join(state, 'model'), ADAPTERS)).toEqual([]);
  });

  it('exec runs matmul-f32 with --dims on a compute slice (checked against the TS reference)', () => {
    const alloc = cli('alloc', '--resource', 'compute=1', '--json');
    expect(alloc.status, alloc.stderr).toBe(0);
    const { id } = JSON.parse(alloc.stdout) as { id: string };
    const [m, n, k] = [5, 3, 7];
    const prng = new Prng(537); // seeded: a failure replays
    const a = Float32Array.from({ length: m * k }, () => Math.fround(prng.next() * 2 - 1));
    const b = Float32Array.from({ length: k * n }, () => Math.fround(prng.next() * 2 - 1));
    const inFile = path.join(dir, 'matmul.in');
    const outFile = path.join(dir, 'matmul.out');
    writeFileSync(inFile, Buffer.concat([Buffer.from(a.buffer), Buffer.from(b.buffer)]));
    const exec = cli(
      'exec',
      id,
      '--function',
      'matmul-f32',
      '--dims',
      `${m},${n},${k}`,
      '--in',
      inFile,
      '--out',
      outFile,
    );
    expect(exec.status, exec.stderr).toBe(0);
    expect(readFileSync(outFile).equals(Buffer.from(matmulF32(m, n, k, a, b).buffer))).toBe(true);
    // dimensions out of range: refused by the CLI before anything is sent, the file left alone
    writeFileSync(outFile, 'untouched');
    const bad = cli(
      'exec',
      id,
      '--function',
      'matmul-f32',
      '--dims',
      '5,3',
      '--in',
      inFile,
      '--out',
      outFile,
    );
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/--dims: expected m,n,k/);
    expect(readFileSync(outFile, 'utf8')).toBe('untouched');
    expect(cli('free', id).status).toBe(0);
  });

  it('reports refusals with the server code and a non-zero exit', () => {
    const free = cli('free', 'a-000000000000');
    expect(free.status).not.toBe(0);
    expect(free.stderr).toMatch(/NOT_FOUND/);
    const alloc = cli('alloc', '--resource', 'memory=64G');
    expect(alloc.status).not.toBe(0);
    expect(alloc.stderr).toMatch(/RESOURCE_UNAVAILABLE/);
    const noToken = spawnSync(
      process.execPath,
      [path.join(root, 'bin/rafabric.js'), 'adapters', '--url', url],
      {
        encoding: 'utf8',
        env: { ...process.env, RAFABRIC_TOKEN: '' },
      },
    );
    expect(noToken.status).not.toBe(0);
    expect(noToken.stderr).toMatch(/no token/);
  });
});

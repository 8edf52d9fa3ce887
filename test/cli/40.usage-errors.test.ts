// What the user typed wrong is a usage error: exit 2 and a message naming the flag, before anything is
// started, created or sent (src/cli/output.ts exitCodes). Each command runs as a real process
// (bin/rafabric.js on the built dist/); the cases of a table run at once, since each process loads the CLI.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLI = path.resolve(import.meta.dirname, '../../bin/rafabric.js');
const TOKENS = 'alice=alice-usage-token';

interface Ran {
  args: string[];
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A refused command exits at once; one still running after this accepted what it should refuse. */
const REFUSAL_BOUND_MS = 60_000;

/**
 * Runs the CLI without the caller's RAFABRIC_* settings (a token or URL there would change the case). A
 * process still running after REFUSAL_BOUND_MS (a serve that started) gets SIGTERM: it stops what it
 * started, and its case fails on the exit code.
 */
function run(args: string[]): Promise<Ran> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('RAFABRIC_')));
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...env, RAFABRIC_LOG: 'warn' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGTERM'), REFUSAL_BOUND_MS);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ args, code, stdout, stderr });
    }),
  );
}

/** Runs every case at once; each must exit `code` with stderr matching its pattern. */
async function expectExits(code: number, cases: readonly (readonly [string[], RegExp])[]): Promise<void> {
  const results = await Promise.all(cases.map(([args]) => run(args)));
  results.forEach((r, i) => {
    const context = `rafabric ${r.args.join(' ')}\n${r.stderr}`;
    expect(r.code, context).toBe(code);
    expect(r.stderr, context).toMatch(cases[i]![1]);
  });
}

const work = mkdtempSync(path.join(os.tmpdir(), 'cli-usage-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('commander usage errors of every subcommand exit 2', () => {
  it('missing options and arguments, unknown options, at the top level and nested', async () => {
    await expectExits(2, [
      [['alloc'], /required option '--resource/],
      [['exec', 'x', '--function', 'sha256', '--in', 'f'], /required option '--out/],
      [['free'], /missing required argument 'id'/],
      [['serve', '--bogus'], /unknown option '--bogus'/],
      [['certs'], /required option '--dir/],
      [['agent'], /required option '--server/], // the agent-only entry (src/cli/agent-main.ts)
      [
        ['adapter', 'run', 'x', '--function', 'sha256', '--in', 'i', '--out', 'o', '--bogus'],
        /unknown option '--bogus'/,
      ],
      [['cluster', 'up'], /required option '--dir/],
      [['nonesuch'], /unknown command 'nonesuch'/],
    ]);
  }, 120_000);

  it('--help and --version still exit 0', async () => {
    const results = await Promise.all([
      run(['--version']),
      run(['alloc', '--help']),
      run(['adapter', 'run', '--help']),
      run(['agent', '--help']),
    ]);
    for (const r of results) expect(r.code, `rafabric ${r.args.join(' ')}: ${r.stderr}`).toBe(0);
    expect(results[0]!.stdout).toMatch(/^\d+\.\d+\.\d+/);
    expect(results[1]!.stdout).toMatch(/Usage: rafabric alloc/);
  }, 120_000);
});

describe('serve: a refused flag exits 2 naming it, before anything starts', () => {
  const serve = (...args: string[]) => ['serve', '--port', '0', '--emulate', '1', '--memory', '64M', ...args];

  it('tokens: empty, malformed, too short, none at all', async () => {
    await expectExits(2, [
      [serve('--tokens', ''), /^rafabric: --tokens: .*\[CLI_USAGE\]/m],
      [serve('--tokens', 'alice'), /^rafabric: --tokens: .*not tenant=TOKEN/m],
      [serve('--tokens', 'alice=x'), /^rafabric: --tokens: .*at least/m],
      [serve(), /^rafabric: --tokens: no tenant tokens/m],
    ]);
  }, 120_000);

  it('flag conflicts and flags naming files that cannot be read', async () => {
    await expectExits(2, [
      [serve('--tokens', TOKENS, '--etcd', 'http://127.0.0.1:1', '--repair'), /--repair .*--etcd/],
      [serve('--tokens', TOKENS, '--trust', '/nonexistent'), /^rafabric: --trust: .*\/nonexistent/m],
      [
        serve('--tokens', TOKENS, '--request-classes', '/nonexistent.json'),
        /^rafabric: --request-classes: .*\/nonexistent\.json/m,
      ],
      [
        serve('--tokens', TOKENS, '--qemu', '/nonexistent.json'),
        /^rafabric: --qemu: cannot read \/nonexistent\.json/m,
      ],
    ]);
  }, 120_000);

  it('flags of another mode: replica timers without --etcd, state flags without --state, an empty --host', async () => {
    await expectExits(2, [
      [serve('--tokens', TOKENS, '--leader-ttl', '0'), /^rafabric: --leader-ttl: only with --etcd/m],
      [
        serve('--tokens', TOKENS, '--stale-intent-ms', 'abc'),
        /^rafabric: --stale-intent-ms: only with --etcd/m,
      ],
      [serve('--tokens', TOKENS, '--stop-model'), /^rafabric: --stop-model: only with --state/m],
      [serve('--tokens', TOKENS, '--repair'), /^rafabric: --repair: only with --state/m],
      [serve('--tokens', TOKENS, '--host', ''), /^rafabric: --host: empty/m],
      // With --etcd the values are checked before etcd is asked (it used to be a failed start, exit 1).
      [
        serve('--tokens', TOKENS, '--etcd', 'http://127.0.0.1:1', '--leader-ttl', '0'),
        /^rafabric: --leader-ttl: must be 2\.\.3600/m,
      ],
    ]);
  }, 120_000);
});

describe('cluster flags: checked before anything starts (found from outside)', () => {
  const serve = (...args: string[]) => ['serve', '--port', '0', ...args];

  it('a malformed --etcd URL, and --agents-from-etcd with a --certs folder that does not exist', async () => {
    const agentDir = path.join(work, 'agent-never-started');
    await expectExits(2, [
      [
        serve('--tokens', TOKENS, '--etcd', 'notaurl'),
        /^rafabric: --etcd: .*"notaurl" must be http:\/\/HOST:PORT/m,
      ],
      [
        serve(
          '--tokens',
          TOKENS,
          '--etcd',
          'http://127.0.0.1:1',
          '--agents-from-etcd',
          '--certs',
          '/nonexistent',
        ),
        /^rafabric: --certs: \/nonexistent is not a folder/m,
      ],
      [
        serve('--tokens', TOKENS, '--etcd', 'http://127.0.0.1:1', '--agents-from-etcd'),
        /^rafabric: --certs: required with --agents-from-etcd/m,
      ],
    ]);
    // The agent refuses the URL before it starts its device model (it used to start it, then fail with 1).
    const certs = path.join(work, 'certs');
    const made = await run(['certs', '--dir', certs, '--agents', 's1', '--grm', 'grm']);
    expect(made.code, made.stderr).toBe(0);
    const r = await run([
      'agent',
      '--server',
      's1',
      '--adapters',
      '1',
      '--memory',
      '64M',
      '--listen',
      '127.0.0.1:0',
      '--certs',
      certs,
      '--dir',
      agentDir,
      '--etcd',
      'notaurl',
    ]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--etcd: .*"notaurl" must be http:\/\/HOST:PORT/);
    expect(existsSync(agentDir)).toBe(false);
  }, 120_000);
});

describe('model: flags are checked before the folder is made', () => {
  it('--adapters 0 exits 2 and creates no --dir', async () => {
    const dir = path.join(work, 'model-never-made');
    const r = await run(['model', '--adapters', '0', '--dir', dir]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--adapters/);
    expect(existsSync(dir)).toBe(false);
  }, 60_000);
});

describe('client commands: flags checked before the GRM is contacted', () => {
  let grm: Server;
  let url = '';
  const requests: string[] = [];
  const client = (...args: string[]) => [...args, '--url', url, '--token', 'alice-usage-token'];

  beforeAll(async () => {
    // A GRM that records what reaches it and refuses it all: a usage error must not get here.
    grm = createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'INVALID_REQUEST', message: 'recorded by the test' } }));
    });
    await new Promise<void>((resolve) => grm.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(grm.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => grm.close(resolve)));

  it('alloc: a bad --resource or --lease is exit 2 naming the flag, not GRM_UNREACHABLE', async () => {
    await expectExits(2, [
      [client('alloc', '--resource', 'memory=16Q'), /^rafabric: --resource memory: '16Q' is not a size/m],
      [client('alloc', '--resource', 'compute=abc'), /^rafabric: --resource compute: /m],
      [client('alloc', '--resource', 'memory=-1'), /^rafabric: --resource memory: /m],
      [client('alloc', '--resource', 'memory=0'), /^rafabric: --resource memory: '0' is out of range/m],
      [client('alloc', '--resource', 'gpu=1'), /^rafabric: --resource: unknown kind 'gpu'/m],
      [client('alloc', '--resource', 'memory'), /^rafabric: --resource: 'memory' must look like/m],
      [client('alloc', '--resource', 'memory=1M', '--lease', 'abc'), /^rafabric: --lease: /m],
    ]);
    expect(requests).toEqual([]);
  }, 120_000);

  it('alloc: only a GRM that does not answer is GRM_UNREACHABLE (exit 1)', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const r = await run([
      'alloc',
      '--resource',
      'memory=1M',
      '--url',
      `http://127.0.0.1:${port}`,
      '--token',
      't',
    ]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/cannot reach the GRM .*\[CLI_GRM_UNREACHABLE\]/);
  }, 60_000);

  it('exec: flags of different functions given together are exit 2 naming both', async () => {
    const input = path.join(work, 'in.bin');
    const output = path.join(work, 'out.bin');
    writeFileSync(input, 'x');
    const aes = ['--key', '00'.repeat(32), '--iv', '00'.repeat(12)];
    const files = ['--in', input, '--out', output];
    await expectExits(2, [
      [
        client('exec', 'a-1', '--function', 'aes-256-gcm', ...aes, '--dims', '1,1,1', ...files),
        /^rafabric: --key and --dims: /m,
      ],
      [
        client(
          'exec',
          'a-1',
          '--function',
          'matmul-f32',
          '--iv',
          '00'.repeat(12),
          '--dims',
          '1,1,1',
          ...files,
        ),
        /^rafabric: --iv and --dims: /m,
      ],
      [
        client('exec', 'a-1', '--function', 'sha256', '--dims', '1,1,1', ...files),
        /^rafabric: --dims: it is for matmul-f32, not --function sha256/m,
      ],
      [
        client('exec', 'a-1', '--function', 'sha256', '--in', path.join(work, 'none'), '--out', output),
        /^rafabric: --in: /m,
      ],
    ]);
    expect(requests).toEqual([]);
    expect(existsSync(output)).toBe(false);
  }, 120_000);
});

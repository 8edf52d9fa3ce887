// `rafabric serve` when its start fails after the pool came up (the port is taken): what this start made
// is stopped before it exits 1 (the temporary state folder, the device model it spawned), but a model
// that was already running for --state (a restart reusing it) keeps running with its allocations. And the
// operator's --request-classes reach the GRM.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI, client, serve, stop, stopModel } from '../helpers/serve.js';

const TOKEN = 'serve-start-token';
const TOKENS = `alice=${TOKEN}`;
const dirs: string[] = [];

afterEach(() => {
  for (const d of dirs.splice(0)) {
    stopModel(d);
    fs.rmSync(d, { recursive: true, force: true });
  }
});

function stateDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'serve-start-'));
  dirs.push(d);
  return d;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface FailedStart {
  code: number | null;
  stderr: string;
  /** From the "device model started" log line, when this start spawned one. */
  model?: { dir: string; pid: number };
}

/** Runs serve expecting a failed start, with the info log read for the model it spawned. */
function serveFailing(args: string[]): Promise<FailedStart> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RAFABRIC_LOG: 'info' },
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.resume();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not exit after a failed start: ${stderr}`));
    }, 60_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      const started = stderr
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { msg?: string; dir?: string; modelPid?: number })
        .find((entry) => entry.msg === 'device model started');
      resolve({
        code,
        stderr,
        ...(started ? { model: { dir: started.dir!, pid: started.modelPid! } } : {}),
      });
    });
  });
}

describe('serve: a start that fails once the pool is up undoes it', () => {
  let taken: Server;
  let port = '';
  const pool = ['--emulate', '1', '--memory', '64M', '--tokens', TOKENS];

  beforeAll(async () => {
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    port = String((taken.address() as { port: number }).port);
  });
  afterAll(() => new Promise((resolve) => taken.close(resolve)));

  it('without --state: exit 1, the temporary state folder and the model are gone', async () => {
    const r = await serveFailing([...pool, '--port', port]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/EADDRINUSE/);
    expect(r.model, r.stderr).toBeDefined();
    expect(fs.existsSync(path.dirname(r.model!.dir)), `${r.model!.dir} left behind`).toBe(false);
    expect(alive(r.model!.pid)).toBe(false);
  }, 90_000);

  it('with --state and no model running: the model this start spawned is stopped, not orphaned', async () => {
    const state = stateDir();
    const r = await serveFailing([...pool, '--port', port, '--state', state]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/EADDRINUSE/);
    expect(r.model, r.stderr).toBeDefined();
    expect(alive(r.model!.pid), 'the model spawned by the failed start still runs').toBe(false);
  }, 90_000);

  it('with --state and a model left running by the previous serve: that model keeps running', async () => {
    const state = stateDir();
    const first = await serve([...pool, '--state', state]);
    await stop(first, 'SIGTERM'); // a graceful stop with --state leaves the model running
    const pid = Number(fs.readFileSync(path.join(state, 'model', 'ra-model.pid'), 'utf8'));
    expect(alive(pid)).toBe(true);
    const r = await serveFailing([...pool, '--port', port, '--state', state]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.model, 'the failed start reused the running model').toBeUndefined();
    expect(alive(pid), 'the reused model was stopped by the failed start').toBe(true);
  }, 90_000);
});

describe('serve --request-classes', () => {
  it("the file's classes reach the GRM: a resource naming one is placed", async () => {
    const state = stateDir();
    const classes = path.join(state, 'classes.json');
    fs.writeFileSync(
      classes,
      JSON.stringify({ classes: [{ name: 'any-memory', selector: 'freeMemoryBytes >= 1' }] }),
    );
    const s = await serve([
      '--emulate',
      '1',
      '--memory',
      '64M',
      '--tokens',
      TOKENS,
      '--request-classes',
      classes,
    ]);
    try {
      const res = await client(s.url, TOKEN)('POST', '/v1/allocations', {
        resources: [{ kind: 'memory', bytes: 4 * 1024 * 1024, class: 'any-memory' }],
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    } finally {
      await stop(s, 'SIGTERM');
    }
  }, 90_000);
});

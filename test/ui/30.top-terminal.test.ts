// `rafabric top` through a pseudo-terminal (util-linux `script`), against a real `rafabric serve`: the
// screen is read back (ANSI stripped, last frame), a change made through the API must be redrawn in
// place within a second, and `q` must end it with the terminal restored. Off a terminal it prints one
// frame and exits. The frame's layout (bars, busiest first) is checked on hand-made views.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DashboardView, ViewAdapter } from '../../src/api/routes/ui-view.js';
import { busiestFirst, placementBar, renderFrame } from '../../src/cli/commands/top.js';
import { CLI, client, type Served, serve, stop, stopModel } from '../helpers/serve.js';

const TOKEN = 'alice-top-token';
const MiB = 2 ** 20;
const CLEAR = '\x1b[H\x1b[2J';
const ALT_SCREEN_OFF = '\x1b[?25h\x1b[?1049l';
// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences are what it strips
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

function adapter(id: string, overrides: Partial<ViewAdapter> = {}): ViewAdapter {
  return {
    id,
    server: 's1',
    health: 'healthy',
    memoryBytes: 100 * MiB,
    computeUnits: 10,
    slots: [],
    slices: [],
    utilizationPercent: null,
    utilization: [],
    ...overrides,
  };
}

describe('rafabric top: the frame', () => {
  const plain = { colour: false, widthCols: 100 };

  it('draws each slice over the cells its start and size cover', () => {
    const slices = [
      { kind: 'memory', base: 0, length: 50 * MiB, owner: 'own', allocation: 'a1' } as const,
      { kind: 'memory', base: 80 * MiB, length: 10 * MiB, owner: 'other' } as const,
    ];
    expect(placementBar(100 * MiB, slices, 10, new Map(), plain)).toBe('[#####···+·]');
    // A slice smaller than a cell still shows.
    expect(
      placementBar(100 * MiB, [{ kind: 'memory', base: 0, length: 1, owner: 'other' }], 10, new Map(), plain),
    ).toBe('[+·········]');
  });

  it('lists adapters busiest first (utilization, then memory in use, then id)', () => {
    const used = (bytes: number) => [{ kind: 'memory', base: 0, length: bytes, owner: 'other' } as const];
    const order = busiestFirst([
      adapter('ra0'),
      adapter('ra1', { utilizationPercent: 40 }),
      adapter('ra2', { slices: used(30 * MiB) }),
      adapter('ra3', { utilizationPercent: 90 }),
      adapter('ra4', { utilizationPercent: 40, slices: used(MiB) }),
    ]).map((a) => a.id);
    expect(order).toEqual(['ra3', 'ra4', 'ra1', 'ra2', 'ra0']);
  });

  it("gives an operator one letter per allocation and names tenants; a tenant sees others' as +", () => {
    const view = (role: 'operator' | 'tenant'): DashboardView => ({
      viewer: { tenant: role === 'operator' ? 'ops' : 'bob', role },
      at: '2026-01-01T00:00:00.000Z',
      adapters: [
        adapter('ra0', {
          slices: [
            role === 'operator'
              ? {
                  kind: 'memory',
                  base: 0,
                  length: 50 * MiB,
                  owner: 'allocation',
                  allocation: 'a-1',
                  tenant: 'alice',
                }
              : { kind: 'memory', base: 0, length: 50 * MiB, owner: 'other' },
          ],
        }),
      ],
      allocations:
        role === 'operator'
          ? [{ id: 'a-1', tenant: 'alice', state: 'active', policy: {}, createdAt: '', resources: [] }]
          : [],
      events: [],
    });
    const ops = renderFrame(view('operator'), plain);
    expect(ops.find((l) => l.includes('memory'))).toContain('[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa······');
    expect(ops.join('\n')).toContain('a a-1  alice  active');
    const bob = renderFrame(view('tenant'), plain);
    expect(bob.find((l) => l.includes('memory'))).toContain('[++++++++++++++++++++++++++++++······');
    expect(bob.join('\n')).not.toContain('alice');
  });
});

describe('rafabric top against a real serve', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ui-top-'));
  const state = path.join(dir, 'state');
  let served: Served | undefined;
  let top: ChildProcess | undefined;

  beforeAll(async () => {
    served = await serve([
      '--emulate',
      '2',
      '--memory',
      '64M',
      '--state',
      state,
      '--stop-model',
      '--tokens',
      `alice=${TOKEN},bob=bob-top-token`,
    ]);
  });

  afterAll(async () => {
    if (top && top.exitCode === null) top.kill('SIGKILL');
    if (served) await stop(served, 'SIGTERM');
    stopModel(state);
    rmSync(dir, { recursive: true, force: true });
  });

  const env = () => ({
    ...process.env,
    RAFABRIC_URL: served!.url,
    RAFABRIC_TOKEN: TOKEN,
    RAFABRIC_LOG: 'warn',
  });

  it('off a terminal prints one frame and exits', async () => {
    const r = spawnSync(process.execPath, [CLI, 'top'], { encoding: 'utf8', env: env(), timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain('\x1b');
    expect(r.stdout).toMatch(/^rafabric top {2}alice \(tenant view\)/);
    expect(r.stdout.match(/^\S+\/ra\d +\S+ +healthy/gm)).toHaveLength(2);
  });

  it('in a pseudo-terminal redraws in place within a second of a change, and q quits', async () => {
    const api = client(served!.url, TOKEN);
    const first = await api('POST', '/v1/allocations', { resources: [{ kind: 'memory', bytes: 32 * MiB }] });
    expect(first.status).toBe(201);
    // script gives the command a pseudo-terminal; stty sets its size (script's own has none).
    top = spawn(
      'script',
      ['-q', '-e', '-c', `stty cols 100 rows 40; exec "${process.execPath}" "${CLI}" top`, '/dev/null'],
      {
        env: env(),
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let screen = '';
    top.stdout!.on('data', (d: Buffer) => (screen += d.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => top!.once('exit', (code) => resolve(code)));
    /** The last complete frame on the screen, as text. */
    const lastFrame = () => {
      const frames = screen.split(CLEAR);
      return (frames.length > 2 ? frames.at(-2)! : (frames.at(-1) ?? ''))
        .replace(ANSI, '')
        .replaceAll('\r', '');
    };
    const waitFor = async (what: RegExp, timeoutMs: number) => {
      const started = performance.now();
      while (!what.test(screen.split(CLEAR).at(-1)!.replace(ANSI, ''))) {
        if (performance.now() - started > timeoutMs)
          throw new Error(`not on the screen within ${timeoutMs} ms: ${what}\n${lastFrame()}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return performance.now() - started;
    };

    await waitFor(new RegExp(`${first.body!.id}[\\s\\S]*events`), 30_000);
    const frame = lastFrame();
    expect(frame).toContain('alice (tenant view)');
    // 32 MiB of 64: half the memory bar's 60 cells are the tenant's own.
    const memoryLines = frame.split('\n').filter((l) => l.trimStart().startsWith('memory'));
    expect(memoryLines).toHaveLength(2);
    expect(memoryLines[0]).toContain(`[${'#'.repeat(30)}${'·'.repeat(30)}] 32 MiB/64 MiB`);
    expect(memoryLines[1]).toContain(`[${'·'.repeat(60)}] 0 B/64 MiB`);

    const second = await api('POST', '/v1/allocations', { resources: [{ kind: 'memory', bytes: 16 * MiB }] });
    expect(second.status).toBe(201);
    const redrawMs = await waitFor(new RegExp(`allocations \\(2\\)[\\s\\S]*${second.body!.id}`), 1000);
    console.log(`top: second allocation on the screen ${redrawMs.toFixed(0)} ms after the API answered`);

    top.stdin!.write('q');
    const code = await Promise.race([
      exited,
      new Promise((resolve) => setTimeout(() => resolve('still running 5 s after q'), 5000)),
    ]);
    expect(code).toBe(0);
    expect(screen).toContain(ALT_SCREEN_OFF); // the terminal's own screen and cursor are back
  });
});

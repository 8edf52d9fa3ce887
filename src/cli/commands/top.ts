// `rafabric top`: the dashboard in a terminal. Adapters as placement bars (memory, compute units, slot
// contexts), busiest first, then the allocations and the latest GRM events. On a terminal it follows
// GET /v1/events/stream and redraws in place (alternate screen, ANSI) until `q`; elsewhere (a pipe, a
// file) or with --once it prints one frame from GET /v1/dashboard and exits.
import type { Command } from 'commander';
import type { DashboardView, ViewAdapter, ViewSlice } from '../../api/routes/ui-view.js';
import { GrmCode } from '../../common/codes.js';
import { RaError } from '../../common/errors.js';
import { call, grmClient } from '../grm-client.js';
import { formatBytes } from '../output.js';

const ESC = '\x1b[';
const ALT_SCREEN_ON = `${ESC}?1049h${ESC}?25l`;
const ALT_SCREEN_OFF = `${ESC}?25h${ESC}?1049l`;
const HOME_AND_CLEAR = `${ESC}H${ESC}2J`;
const RECONNECT_MS = 1000;

/** Bar cells: free, the viewer's own, another tenant's, no committed allocation. */
const CELL = { free: '·', own: '#', other: '+', unattributed: '?' } as const;
/** Operator view: allocations get letters a, b, c... in the order of the allocation list. */
const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
/** ANSI colours per allocation letter (operator view) or owner (tenant view). */
const COLOURS = [34, 32, 33, 35, 36, 31];

interface Style {
  colour: boolean;
  widthCols: number;
}

function paint(text: string, colour: number | undefined, style: Style): string {
  return style.colour && colour !== undefined ? `${ESC}${colour}m${text}${ESC}0m` : text;
}

function cellOf(s: ViewSlice, letters: ReadonlyMap<string, string>): { char: string; colour?: number } {
  if (s.owner === 'own') return { char: CELL.own, colour: 34 };
  if (s.owner === 'other') return { char: CELL.other, colour: 90 };
  if (s.owner === 'unattributed') return { char: CELL.unattributed, colour: 31 };
  const letter = letters.get(s.allocation) ?? '*';
  return { char: letter, colour: COLOURS[LETTERS.indexOf(letter) % COLOURS.length] };
}

/** One placement bar, `cells` wide: each slice fills the cells its [base, base+length) touches. */
export function placementBar(
  total: number,
  slices: readonly ViewSlice[],
  cells: number,
  letters: ReadonlyMap<string, string>,
  style: Style,
): string {
  const out: string[] = Array.from({ length: cells }, () => CELL.free);
  if (total > 0) {
    for (const s of slices) {
      const first = Math.min(cells - 1, Math.floor((s.base / total) * cells));
      const last = Math.max(first, Math.min(cells - 1, Math.ceil(((s.base + s.length) / total) * cells) - 1));
      const { char, colour } = cellOf(s, letters);
      for (let i = first; i <= last; i++) out[i] = paint(char, colour, style);
    }
  }
  return `[${out.join('')}]`;
}

/** Busiest first: highest latest utilization, then most memory in slices, then id. */
export function busiestFirst(adapters: readonly ViewAdapter[]): ViewAdapter[] {
  const memoryUsed = (a: ViewAdapter) =>
    a.slices.filter((s) => s.kind === 'memory').reduce((n, s) => n + s.length, 0);
  return [...adapters].sort(
    (a, b) =>
      (b.utilizationPercent ?? 0) - (a.utilizationPercent ?? 0) ||
      memoryUsed(b) - memoryUsed(a) ||
      a.id.localeCompare(b.id),
  );
}

function adapterLines(a: ViewAdapter, letters: ReadonlyMap<string, string>, style: Style): string[] {
  const cells = Math.max(10, style.widthCols - 40);
  const of = (kind: string) => a.slices.filter((s) => s.kind === kind);
  const used = (kind: string) => of(kind).reduce((n, s) => n + s.length, 0);
  const util = a.utilizationPercent === null ? '   -  ' : `${a.utilizationPercent.toFixed(1).padStart(5)}%`;
  const lines = [
    `${a.id.padEnd(14)} ${a.server.padEnd(10)} ${a.health.padEnd(9)} util ${util}`,
    `  memory   ${placementBar(a.memoryBytes, of('memory'), cells, letters, style)} ${formatBytes(used('memory'))}/${formatBytes(a.memoryBytes)}`,
    `  compute  ${placementBar(a.computeUnits, of('compute'), cells, letters, style)} ${used('compute')}/${a.computeUnits}`,
  ];
  for (const slot of a.slots) {
    if (slot.contexts === 0) continue; // an empty slot has no contexts to draw
    const contexts = of('context').filter((s) => s.slot === slot.index);
    lines.push(
      `  slot ${slot.index}   ${placementBar(slot.contexts, contexts, cells, letters, style)} ${slot.contextsUsed}/${slot.contexts} ${slot.function ?? ''}`,
    );
  }
  return lines;
}

/** The whole screen for one view, as lines without trailing newlines. */
export function renderFrame(view: DashboardView, style: Style): string[] {
  const operator = view.viewer.role === 'operator';
  const letters = new Map(view.allocations.map((a, i) => [a.id, LETTERS[i % LETTERS.length]!]));
  const legend = operator
    ? `letters: allocations below, ${CELL.unattributed} no committed allocation, ${CELL.free} free`
    : `${CELL.own} yours, ${CELL.other} other tenants', ${CELL.free} free`;
  const lines = [
    `rafabric top  ${view.viewer.tenant} (${view.viewer.role} view)  ${view.at}  q quits`,
    legend,
    '',
    ...busiestFirst(view.adapters).flatMap((a) => adapterLines(a, letters, style)),
    '',
    `allocations (${view.allocations.length})`,
    ...view.allocations.map((a) => {
      const where = [...new Set(a.resources.flatMap((r) => r.placements.map((p) => p.adapter)))].join(',');
      const tag = operator
        ? `${paint(letters.get(a.id)!, COLOURS[LETTERS.indexOf(letters.get(a.id)!) % COLOURS.length], style)} `
        : '';
      return `  ${tag}${a.id}  ${operator ? `${a.tenant}  ` : ''}${a.state}  ${a.resources.map((r) => r.kind).join('+')}  on ${where}`;
    }),
    '',
    'events',
    ...view.events
      .slice(-5)
      .reverse()
      .map(
        (e) =>
          `  ${e.at.slice(11, 19)} ${e.kind.padEnd(9)} ${e.allocation}${operator ? ` (${e.tenant})` : ''}: ${e.detail}`,
      ),
  ];
  return lines.map((line) => line.trimEnd());
}

interface TopOptions {
  url: string;
  token?: string;
  once?: boolean;
}

/** Follows the stream, calling `draw` with each view, until `signal` aborts. */
async function follow(o: TopOptions, token: string, signal: AbortSignal, draw: (v: DashboardView) => void) {
  const { data: stream, response: res } = await grmClient({ url: o.url, token }).GET('/v1/events/stream', {
    headers: { accept: 'text/event-stream' },
    parseAs: 'stream',
    signal,
  });
  if (res.status === 401)
    throw new RaError(
      GrmCode.UNAUTHORIZED,
      'the GRM did not accept the token; check RAFABRIC_TOKEN or --token',
    );
  if (!res.ok || !stream) throw new Error(`the event stream answered HTTP ${res.status}`);
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of stream) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    const blocks = buffer.split('\n\n');
    buffer = blocks.pop() ?? '';
    for (const block of blocks) {
      const name = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (name === 'view' && data) draw(JSON.parse(data) as DashboardView);
    }
  }
}

async function live(o: TopOptions, token: string): Promise<void> {
  const out = process.stdout;
  const controller = new AbortController();
  let quit: () => void = () => {};
  const quitting = new Promise<void>((resolve) => {
    quit = resolve;
  });
  const onKey = (key: Buffer) => {
    // q, Q, Ctrl-C, Ctrl-D
    if (['q', 'Q', '\u0003', '\u0004'].includes(key.toString())) quit();
  };
  process.stdin.setRawMode(true);
  process.stdin.resume();
  process.stdin.on('data', onKey);
  out.write(ALT_SCREEN_ON);
  const draw = (view: DashboardView) => {
    const lines = renderFrame(view, { colour: true, widthCols: out.columns ?? 100 }).slice(
      0,
      (out.rows ?? 40) - 1,
    );
    out.write(`${HOME_AND_CLEAR}${lines.join('\n')}\n`);
  };
  let problem: unknown;
  const following = (async () => {
    while (!controller.signal.aborted) {
      try {
        await follow(o, token, controller.signal, draw);
      } catch (err) {
        if (controller.signal.aborted) return;
        if (err instanceof RaError) {
          problem = err;
          quit();
          return;
        }
        out.write(`${HOME_AND_CLEAR}cannot follow ${o.url}: ${(err as Error).message}; retrying (q quits)\n`);
      }
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
    }
  })();
  await quitting;
  controller.abort();
  await following.catch(() => {});
  process.stdin.off('data', onKey);
  process.stdin.setRawMode(false);
  process.stdin.pause();
  out.write(ALT_SCREEN_OFF);
  if (problem) throw problem;
}

export function registerTopCommand(program: Command): void {
  program
    .command('top')
    .description(
      'the pool in a terminal, redrawn live: adapters busiest first, allocations, events (q quits)',
    )
    .option('--url <url>', 'GRM address', process.env.RAFABRIC_URL ?? 'http://127.0.0.1:7470')
    .option('--token <token>', 'tenant token (default: $RAFABRIC_TOKEN)')
    .option('--once', 'print one frame and exit (the default when the output is not a terminal)')
    .action(async (o: TopOptions) => {
      const token = o.token ?? process.env.RAFABRIC_TOKEN;
      if (!token)
        throw new RaError(GrmCode.UNAUTHORIZED, 'no token: pass --token TOKEN or set RAFABRIC_TOKEN');
      if (o.once || !process.stdout.isTTY || !process.stdin.isTTY) {
        // The server's own type of the view: the renderer shares it with the dashboard page.
        const view = (await call({ ...o, token }, (api) => api.GET('/v1/dashboard'))) as DashboardView;
        process.stdout.write(`${renderFrame(view, { colour: false, widthCols: 100 }).join('\n')}\n`);
        return;
      }
      await live(o, token);
    });
}

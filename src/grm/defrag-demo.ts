// The demo's defragmentation step (issue 15 item 7: "a fragmented pool admits a large memory request
// after a live migration whose bytes are verified"), every check computed. The pool is filled: one
// pinned filler per adapter (policy.movable false) and CHUNKS movable chunks after it; every other
// chunk is released, so each adapter has free memory only in holes of one chunk. A request for two
// chunks in one extent is then admitted by the GRM after moving live chunks (defrag.ts). Positions and
// sizes are read from the adapters' slice tables (Grm.listAdapters reads the registers through the
// agents, ra-spec §10); the moved contents are read back as the tenant reads them (`io`: the demo maps its grants)
// and compared by sha256 with what was written. For src/cli/commands/demo.ts.
import { createHash, randomBytes } from 'node:crypto';
import type { AdapterView, Allocation, Placement } from '../common/model.js';
import type { Grm } from './grm.js';

/** How the tenant reaches its memory slices (the demo's instance: DMA with its owner key). */
export interface SliceIo {
  write(a: Allocation, p: Placement, data: Buffer): Promise<void>;
  read(a: Allocation, p: Placement, bytes: number): Promise<Buffer>;
}

export interface DefragStepOutcome {
  result: string;
  placements: string;
  check: 'pass' | 'FAIL';
  /** The bench figure: what the defragmentation moved and how long the admission took. */
  movedBytes: number;
  moves: number;
  defragMs: number;
}

/** Movable chunks per adapter; every other one is released. */
const CHUNKS = 4;
const MiB = 2 ** 20;
/** At most this much of each chunk carries the pattern that is verified after the move. */
const PATTERN_BYTES = 2 * MiB;

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const size = (bytes: number) => (bytes >= 1024 * MiB ? `${bytes / 1024 / MiB} GiB` : `${bytes / MiB} MiB`);

/** The allocation's memory slices as the slice tables hold them. */
const slicesOf = (views: AdapterView[], a: Allocation) =>
  views.flatMap((v) =>
    v.slices
      .filter((s) => s.allocation === a.id && s.kind === 'memory')
      .map((s) => ({ adapter: v.id, entry: s.entry, base: s.base, length: s.length })),
  );

/** Largest free extent of one adapter, by its slice table. */
function largestFree(v: AdapterView): number {
  const used = v.slices.filter((s) => s.kind === 'memory').sort((x, y) => x.base - y.base);
  let cursor = 0;
  let largest = 0;
  for (const s of used) {
    largest = Math.max(largest, s.base - cursor);
    cursor = Math.max(cursor, s.base + s.length);
  }
  return Math.max(largest, v.memory.total - cursor);
}

const fail = (result: string): DefragStepOutcome => ({
  result,
  placements: '-',
  check: 'FAIL',
  movedBytes: 0,
  moves: 0,
  defragMs: 0,
});

/** "a fragmented pool admits a large memory request after a live migration whose bytes are verified". */
export async function defragStep(grm: Grm, tenant: string, io: SliceIo): Promise<DefragStepOutcome> {
  const views = await grm.listAdapters();
  if (views.some((v) => v.memory.free !== v.memory.total))
    return fail('the pool has memory in use before the step: it needs every adapter empty');
  const total = Math.min(...views.map((v) => v.memory.total));
  const chunk = Math.min(32 * MiB, Math.floor(total / 16 / (2 * MiB)) * 2 * MiB);
  if (chunk === 0 || views.some((v) => v.memory.total !== total))
    return fail('the step needs adapters of one memory size, at least 32 MiB each');
  const made: Allocation[] = [];
  try {
    // A pinned filler per adapter (more than half of it, so no two share an adapter), then the chunks.
    const fillers: Allocation[] = [];
    for (const _ of views)
      fillers.push(
        await grm.allocate(tenant, {
          resources: [{ kind: 'memory', bytes: total - CHUNKS * chunk }],
          policy: { allowSplit: false, movable: false },
        }),
      );
    made.push(...fillers);
    const chunks: Allocation[] = [];
    for (let i = 0; i < CHUNKS * views.length; i++)
      chunks.push(
        await grm.allocate(tenant, {
          resources: [{ kind: 'memory', bytes: chunk }],
          policy: { allowSplit: false },
        }),
      );
    made.push(...chunks);
    // Every other chunk of each adapter, by offset, is released: holes of one chunk between live ones.
    const at = (a: Allocation) => a.resources[0]!.placements[0]!;
    const byAdapter = new Map<string, Allocation[]>();
    for (const c of chunks) byAdapter.set(at(c).adapter, [...(byAdapter.get(at(c).adapter) ?? []), c]);
    const kept: Allocation[] = [];
    for (const list of byAdapter.values()) {
      list.sort((x, y) => at(x).offset! - at(y).offset!);
      for (const [i, c] of list.entries()) {
        if (i % 2 === 0) await grm.release(tenant, c.id);
        else kept.push(c);
      }
    }
    const fragmented = await grm.listAdapters();
    const free = fragmented.reduce((n, v) => n + v.memory.free, 0);
    const largest = Math.max(...fragmented.map(largestFree));
    if (largest >= 2 * chunk || free < 2 * chunk)
      return fail(`the pool did not fragment: ${size(free)} free, largest extent ${size(largest)}`);
    // The tenant's data in every live chunk.
    const patternBytes = Math.min(chunk, PATTERN_BYTES);
    const written = new Map<string, string>();
    for (const c of kept) {
      const data = randomBytes(patternBytes);
      await io.write(c, at(c), data);
      written.set(c.id, sha256(data));
    }
    const fillersBefore = JSON.stringify(fillers.map((f) => slicesOf(fragmented, f)));

    const startedAtMs = Date.now();
    const t0 = performance.now();
    let big: Allocation;
    try {
      big = await grm.allocate(tenant, {
        resources: [{ kind: 'memory', bytes: 2 * chunk }],
        policy: { allowSplit: false },
      });
    } catch (err) {
      return fail(`${size(2 * chunk)} in one extent refused on a fragmented pool: ${(err as Error).message}`);
    }
    const admitMs = performance.now() - t0;
    made.push(big);
    const last = grm.lastDefragmentation();
    const report = last && last.endedAtMs >= startedAtMs ? last : undefined; // this admission's
    const after = await grm.listAdapters();
    // From the registers: the new slice is one extent of two chunks; the fillers did not move.
    const bigSlices = slicesOf(after, big);
    const oneExtent = bigSlices.length === 1 && bigSlices[0]!.length === 2 * chunk;
    const pinnedStill = JSON.stringify(fillers.map((f) => slicesOf(after, f))) === fillersBefore;
    // Which chunks moved (by the registers), and every live chunk's bytes as the tenant reads them.
    const moved = kept.filter((c) => {
      const s = slicesOf(after, c)[0];
      return !s || s.adapter !== at(c).adapter || s.base !== at(c).offset;
    });
    let intact = 0;
    for (const c of kept) {
      const now = grm.get(tenant, c.id);
      const s = slicesOf(after, c)[0];
      const p = at(now);
      if (!s || s.adapter !== p.adapter || s.entry !== p.slice || s.base !== p.offset) continue;
      if (sha256(await io.read(now, p, patternBytes)) === written.get(c.id)) intact++;
    }
    const evented = moved.filter((c) =>
      grm.allocationEvents(tenant, c.id).some((e) => e.action === 'migrated'),
    ).length;
    const movedBytes = report?.movedBytes ?? 0;
    const ok =
      oneExtent &&
      pinnedStill &&
      moved.length > 0 &&
      report?.moves === moved.length &&
      movedBytes === moved.length * chunk &&
      intact === kept.length &&
      evented === moved.length;
    const where = moved
      .map(
        (c) =>
          `${at(c).adapter}#${at(c).slice} -> ${at(grm.get(tenant, c.id)).adapter}#${at(grm.get(tenant, c.id)).slice}`,
      )
      .join(', ');
    return {
      result:
        `${views.length} adapters filled (pinned fillers + ${size(chunk)} chunks), every other chunk released: ` +
        `${size(free)} free, largest extent ${size(largest)}; ${size(2 * chunk)} in one extent admitted after ` +
        `${moved.length} live migration(s) of ${size(movedBytes)} (${Math.round(report?.ms ?? 0)} ms of moves, ` +
        `${Math.round(admitMs)} ms admission); ${intact}/${kept.length} live chunks read back sha256-equal, ` +
        `pinned fillers unmoved: ${pinnedStill}, 'migrated' events: ${evented}/${moved.length}; released`,
      placements: where || '-',
      check: ok ? 'pass' : 'FAIL',
      movedBytes,
      moves: moved.length,
      defragMs: report?.ms ?? 0,
    };
  } finally {
    for (const a of made) await grm.release(tenant, a.id).catch(() => undefined);
  }
}

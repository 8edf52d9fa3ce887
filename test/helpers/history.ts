// A history checker in the style of etcd's robustness tests: clients record every operation with its
// invocation and return times and its outcome; afterwards the history is checked against a model of the
// pool, and the model against the adapters' registers (never the GRM's own word):
//   - no lost acknowledgement: an allocation answered 201 and not released is still there (the API lists
//     it, and the registers hold every one of its slices, under one owner key of its own);
//   - no double allocation: two allocations that were both certainly live at one moment never hold
//     overlapping slices, and at the end no slice in the registers belongs to two live allocations;
//   - releases really free capacity: at the end the registers hold no slice that no live allocation
//     explains (a released, refused or rolled-back allocation left nothing behind).
// An operation whose answer was lost (the replica was killed, the connection reset) has an unknown
// outcome: the model allows both outcomes, and the final state decides which one happened.

export interface MemoryPlacement {
  adapter: string;
  slice: number;
  offset: number;
  bytes: number;
}

export type Outcome = 'ok' | 'refused' | 'unknown';

export interface AllocateOp {
  kind: 'allocate';
  client: string;
  invokedMs: number;
  returnedMs: number;
  outcome: Outcome;
  status?: number;
  /** When outcome is ok. */
  id?: string;
  placements?: MemoryPlacement[];
}

export interface ReleaseOp {
  kind: 'release';
  client: string;
  invokedMs: number;
  returnedMs: number;
  outcome: Outcome;
  status?: number;
  id: string;
}

export type HistoryOp = AllocateOp | ReleaseOp;

/** One slice in use as an adapter's slice table holds it. */
export interface RegisterSlice {
  adapter: string;
  entry: number;
  kind: string;
  base: number;
  length: number;
  ownerKey: string;
}

export interface FinalState {
  /** id -> placements, as a live replica lists them after the traffic stopped. */
  listed: Map<string, MemoryPlacement[]>;
  /** Every adapter's slices in use, read from the registers. */
  registers: RegisterSlice[];
}

/** Records operations with their times (performance.now()-based, monotonic). */
export class History {
  readonly ops: HistoryOp[] = [];

  async allocate(
    client: string,
    call: () => Promise<{ status: number; id?: string; placements?: MemoryPlacement[] }>,
  ): Promise<AllocateOp> {
    const invokedMs = performance.now();
    let op: AllocateOp;
    try {
      const r = await call();
      const ok = r.status === 201;
      op = {
        kind: 'allocate',
        client,
        invokedMs,
        returnedMs: performance.now(),
        // 5xx from a replica whose store write timed out may still have applied: unknown.
        outcome: ok ? 'ok' : r.status === 503 || r.status >= 500 ? 'unknown' : 'refused',
        status: r.status,
        ...(ok ? { id: r.id!, placements: r.placements! } : {}),
      };
    } catch {
      op = { kind: 'allocate', client, invokedMs, returnedMs: performance.now(), outcome: 'unknown' };
    }
    this.ops.push(op);
    return op;
  }

  async release(client: string, id: string, call: () => Promise<{ status: number }>): Promise<ReleaseOp> {
    const invokedMs = performance.now();
    let op: ReleaseOp;
    try {
      const r = await call();
      op = {
        kind: 'release',
        client,
        id,
        invokedMs,
        returnedMs: performance.now(),
        outcome: r.status === 204 ? 'ok' : r.status >= 500 ? 'unknown' : 'refused',
        status: r.status,
      };
    } catch {
      op = { kind: 'release', client, id, invokedMs, returnedMs: performance.now(), outcome: 'unknown' };
    }
    this.ops.push(op);
    return op;
  }
}

const overlaps = (a: MemoryPlacement, b: MemoryPlacement) =>
  a.adapter === b.adapter &&
  (a.slice === b.slice || (a.offset < b.offset + b.bytes && b.offset < a.offset + a.bytes));

/** Every violation the history and the final state show (empty: the history is allowed). */
export function checkHistory(ops: readonly HistoryOp[], final: FinalState): string[] {
  const violations: string[] = [];
  const allocations = new Map<string, AllocateOp>();
  for (const op of ops) if (op.kind === 'allocate' && op.outcome === 'ok') allocations.set(op.id!, op);
  const releases = new Map<string, ReleaseOp[]>();
  for (const op of ops) if (op.kind === 'release') releases.set(op.id, [...(releases.get(op.id) ?? []), op]);

  // When each acknowledged allocation certainly held its slices: from its 201 until a release of it was
  // first invoked (a release that was invoked may have taken effect at any point after that).
  const certainUntil = (id: string) =>
    Math.min(...(releases.get(id) ?? []).map((r) => r.invokedMs), Number.POSITIVE_INFINITY);
  const released = (id: string) => (releases.get(id) ?? []).some((r) => r.outcome === 'ok');
  const maybeReleased = (id: string) => (releases.get(id) ?? []).some((r) => r.outcome === 'unknown');

  // No double allocation, over time.
  const acked = [...allocations.values()];
  for (let i = 0; i < acked.length; i++) {
    for (let j = i + 1; j < acked.length; j++) {
      const a = acked[i]!;
      const b = acked[j]!;
      const from = Math.max(a.returnedMs, b.returnedMs);
      const to = Math.min(certainUntil(a.id!), certainUntil(b.id!));
      if (from >= to) continue;
      for (const p of a.placements!) {
        const q = b.placements!.find((x) => overlaps(p, x));
        if (q)
          violations.push(
            `double allocation: ${a.id} and ${b.id} were both live at ${from.toFixed(1)} ms and both hold ` +
              `${p.adapter} slice ${p.slice} [${p.offset}, +${p.bytes}) / slice ${q.slice} [${q.offset}, +${q.bytes})`,
          );
      }
    }
  }

  // Which allocations live at the end: acknowledged and not released, plus unknown outcomes the API lists.
  const live = new Map<string, MemoryPlacement[]>();
  for (const a of acked) {
    if (released(a.id!)) {
      if (final.listed.has(a.id!))
        violations.push(`release lost: ${a.id} was released (204) but is still listed`);
      continue;
    }
    if (!final.listed.has(a.id!)) {
      if (!maybeReleased(a.id!))
        violations.push(`lost acknowledgement: ${a.id} was answered 201 and is gone`);
      continue;
    }
    live.set(a.id!, a.placements!);
  }
  for (const [id, placements] of final.listed) {
    if (live.has(id) || allocations.has(id)) continue;
    const unknown = ops.some((op) => op.kind === 'allocate' && op.outcome === 'unknown');
    if (!unknown)
      violations.push(`phantom allocation: ${id} is listed but no client was answered 201 for it`);
    else live.set(id, placements);
  }

  // The registers hold every live allocation's slices, each allocation under one owner key of its own.
  const slices = new Map(final.registers.map((s) => [`${s.adapter}#${s.entry}`, s]));
  const keyOwner = new Map<string, string>();
  const explained = new Set<string>();
  for (const [id, placements] of live) {
    const keys = new Set<string>();
    for (const p of placements) {
      const s = slices.get(`${p.adapter}#${p.slice}`);
      if (s?.kind !== 'memory' || s.base !== p.offset || s.length < p.bytes) {
        violations.push(
          `lost acknowledgement: ${id}'s slice ${p.adapter}#${p.slice} [${p.offset}, +${p.bytes}) is not in the registers`,
        );
        continue;
      }
      keys.add(s.ownerKey);
      if (explained.has(`${p.adapter}#${p.slice}`))
        violations.push(`double allocation: ${p.adapter}#${p.slice} is claimed by two live allocations`);
      explained.add(`${p.adapter}#${p.slice}`);
    }
    if (keys.size > 1) violations.push(`${id}'s slices carry ${keys.size} different owner keys`);
    for (const key of keys) {
      const other = keyOwner.get(key);
      if (other) violations.push(`double allocation: ${id} and ${other} share owner key ${key}`);
      keyOwner.set(key, id);
    }
  }
  // Releases free capacity: nothing else is held.
  for (const s of final.registers) {
    if (!explained.has(`${s.adapter}#${s.entry}`))
      violations.push(
        `capacity not freed: ${s.adapter}#${s.entry} (${s.kind} [${s.base}, +${s.length}), key ${s.ownerKey}) ` +
          'belongs to no live allocation',
      );
  }
  return violations;
}

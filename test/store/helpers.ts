// Shared pieces of the store tests: temporary directories, fixtures, a seeded PRNG, an independent
// reference model of the store's rules, and "crash images" (copies of a store directory's files as a
// crash would leave them on disk, without the live lock).
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { Intent, StoredAllocation, StoreState } from '../../src/store/index.js';
import { StoreCode } from '../../src/store/index.js';

const made: string[] = [];

/** A fresh empty directory, removed after the test. */
export function tempDir(name = 'store'): string {
  const dir = fs.mkdtempSync(join(tmpdir(), `rafabric-${name}-`));
  made.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

export const STORE_FILES = [
  'snapshot.json',
  'snapshot.json.tmp',
  'journal.jsonl',
  'journal.jsonl.tmp',
  'store.json',
] as const;

/** A copy of `dir`'s store files (no lock: its holder "died"), optionally with other journal bytes. */
export function crashImage(dir: string, journal?: Buffer): string {
  const image = tempDir('image');
  for (const file of STORE_FILES) {
    const from = join(dir, file);
    if (fs.existsSync(from)) fs.copyFileSync(from, join(image, file));
  }
  if (journal) fs.writeFileSync(join(image, 'journal.jsonl'), journal);
  return image;
}

export function journalOf(dir: string): Buffer {
  return fs.readFileSync(join(dir, 'journal.jsonl'));
}

/** Byte offset where each journal line starts (and the file's length last). */
export function lineStarts(journal: Buffer): number[] {
  const starts = [0];
  for (let i = 0; i < journal.length; i++) if (journal[i] === 0x0a) starts.push(i + 1);
  return starts;
}

import { Prng } from '../helpers/prng.js';

export { Prng };

const GiB = 2 ** 30;
export const KEY = '00c0ffee0000beef';

export function allocation(id: string, overrides: Partial<StoredAllocation> = {}): StoredAllocation {
  return {
    id,
    tenant: 'tenant-a',
    state: 'active',
    resources: [
      { kind: 'memory', bytes: GiB, placements: [{ adapter: 'ra0', slice: 1, offset: 0, bytes: GiB }] },
    ],
    policy: {},
    createdAt: '2025-06-01T12:00:00.000Z',
    ownerKey: KEY,
    ...overrides,
  };
}

export function intent(id: string, overrides: Partial<Intent> = {}): Intent {
  return {
    id,
    tenant: 'tenant-a',
    ownerKey: KEY,
    placements: [{ adapter: 'ra0', slice: 1, offset: 0, bytes: GiB }],
    createdAt: '2025-06-01T12:00:00.000Z',
    ...overrides,
  };
}

const tenants = ['tenant-a', 'tenant-b', 'ténant-ü-✓'];
const functions = ['aes-256-gcm', 'sha256', 'crc32c'];

function hexKey(rng: Prng): string {
  return Array.from({ length: 16 }, () => '0123456789abcdef'[rng.int(0, 15)]).join('');
}

export function randomAllocation(rng: Prng, id: string, tenant = rng.pick(tenants)): StoredAllocation {
  const resources = Array.from({ length: rng.int(1, 3) }, (_, r) => {
    const adapter = `ra${rng.int(0, 7)}`;
    switch (rng.int(0, 2)) {
      case 0: {
        const bytes = rng.int(1, 64) * 2 ** 24;
        return {
          kind: 'memory' as const,
          bytes,
          placements: [{ adapter, slice: r + 1, offset: rng.int(0, 8) * 2 ** 24, bytes }],
        };
      }
      case 1: {
        const units = rng.int(1, 4);
        return { kind: 'compute' as const, units, placements: [{ adapter, slice: r + 1, units }] };
      }
      default:
        return {
          kind: 'accelerator' as const,
          function: rng.pick(functions),
          placements: [{ adapter, slice: r + 1, slot: rng.int(0, 3), context: rng.int(0, 7), contexts: 1 }],
        };
    }
  });
  const alloc: StoredAllocation = {
    id,
    tenant,
    state: rng.pick(['active', 'active', 'lost'] as const),
    resources,
    policy: rng.chance(0.5) ? { leaseMs: rng.int(1, 60) * 1000, allowSplit: rng.chance(0.5) } : {},
    createdAt: new Date(Date.UTC(2025, 0, 1) + rng.int(0, 1e9)).toISOString(),
    ownerKey: hexKey(rng),
  };
  if (alloc.policy.leaseMs)
    alloc.leaseExpiresAt = new Date(Date.UTC(2025, 6, 1) + rng.int(0, 1e9)).toISOString();
  return alloc;
}

export function intentFor(a: StoredAllocation): Intent {
  return {
    id: a.id,
    tenant: a.tenant,
    ownerKey: a.ownerKey,
    placements: a.resources.flatMap((r) => r.placements),
    createdAt: a.createdAt,
  };
}

/** State as sorted plain objects: readable diffs, order-independent comparison. */
export function plain(state: Pick<StoreState, 'allocations' | 'intents'>): {
  allocations: Record<string, StoredAllocation>;
  intents: Record<string, Intent>;
} {
  const sorted = <T>(map: Map<string, T>) =>
    Object.fromEntries([...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { allocations: sorted(state.allocations), intents: sorted(state.intents) };
}

export type ModelOp =
  | { op: 'recordIntent'; intent: Intent }
  | { op: 'commit'; allocation: StoredAllocation }
  | { op: 'update'; allocation: StoredAllocation }
  | { op: 'abortIntent'; id: string }
  | { op: 'remove'; id: string };

/**
 * The store's rules written again, independently of src/store/state.ts: the outcome each operation must
 * have ('ok' or the error code) and the state after it.
 */
export class Model {
  readonly allocations = new Map<string, StoredAllocation>();
  readonly intents = new Map<string, Intent>();

  apply(m: ModelOp): 'ok' | typeof StoreCode.CONFLICT | typeof StoreCode.NOT_FOUND {
    switch (m.op) {
      case 'recordIntent':
        if (this.intents.has(m.intent.id) || this.allocations.has(m.intent.id)) return StoreCode.CONFLICT;
        this.intents.set(m.intent.id, structuredClone(m.intent));
        return 'ok';
      case 'commit': {
        const i = this.intents.get(m.allocation.id);
        if (this.allocations.has(m.allocation.id)) return StoreCode.CONFLICT;
        if (i && (i.tenant !== m.allocation.tenant || i.ownerKey !== m.allocation.ownerKey))
          return StoreCode.CONFLICT;
        this.intents.delete(m.allocation.id);
        this.allocations.set(m.allocation.id, structuredClone(m.allocation));
        return 'ok';
      }
      case 'update': {
        const current = this.allocations.get(m.allocation.id);
        if (!current) return StoreCode.NOT_FOUND;
        if (current.tenant !== m.allocation.tenant) return StoreCode.CONFLICT;
        this.allocations.set(m.allocation.id, structuredClone(m.allocation));
        return 'ok';
      }
      case 'abortIntent':
        return this.intents.delete(m.id) ? 'ok' : StoreCode.NOT_FOUND;
      case 'remove':
        return this.allocations.delete(m.id) ? 'ok' : StoreCode.NOT_FOUND;
    }
  }
}

/** Runs one model operation against a store; returns 'ok' or the StoreError code. */
export async function runOn(
  store: {
    recordIntent(i: Intent): Promise<void>;
    commit(a: StoredAllocation): Promise<void>;
    update(a: StoredAllocation): Promise<void>;
    abortIntent(id: string): Promise<void>;
    remove(id: string): Promise<void>;
  },
  m: ModelOp,
): Promise<string> {
  try {
    switch (m.op) {
      case 'recordIntent':
        await store.recordIntent(m.intent);
        break;
      case 'commit':
        await store.commit(m.allocation);
        break;
      case 'update':
        await store.update(m.allocation);
        break;
      case 'abortIntent':
        await store.abortIntent(m.id);
        break;
      case 'remove':
        await store.remove(m.id);
        break;
    }
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

/** A random operation over a small id space, so conflicts and misses happen as often as successes. */
export function randomOp(rng: Prng, model: Model): ModelOp {
  const id = `alloc-${rng.int(0, 11)}`;
  const existing = model.allocations.get(id);
  const pending = model.intents.get(id);
  switch (rng.int(0, 5)) {
    case 0:
      return { op: 'recordIntent', intent: intentFor(randomAllocation(rng, id)) };
    case 1: {
      // Usually commit what the intent announced; sometimes something that contradicts it.
      const a = randomAllocation(rng, id, pending?.tenant);
      if (pending && rng.chance(0.85)) a.ownerKey = pending.ownerKey;
      return { op: 'commit', allocation: a };
    }
    case 2:
    case 3: {
      const tenant = existing && rng.chance(0.9) ? existing.tenant : undefined;
      return { op: 'update', allocation: randomAllocation(rng, id, tenant) };
    }
    case 4:
      return { op: 'abortIntent', id };
    default:
      return { op: 'remove', id };
  }
}

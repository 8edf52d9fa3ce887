// THE table of placement scenarios (as the Kubernetes DRA structured allocator's tests): each case is a
// pool, one operation, and the expected outcome per strategy. `firstFit` is omitted where the seed's
// baseline must do exactly what `preferred` does; where it differs, the difference is the point.
import type {
  ExistingSlice,
  Inventory,
  PlannedSlice,
  ResizeOptions,
  Skipped,
  UnplacedWhy,
} from '../../src/rvl/index.js';
import { adapter, compute, contexts, GiB, loaded, MiB, memory, pool } from './fixtures.js';

export type Operation =
  | { plan: unknown }
  | { grow: { slice: ExistingSlice; length: number; options?: ResizeOptions } }
  | { shrink: { slice: ExistingSlice; length: number } }
  | { migrate: { slice: ExistingSlice; targets: string[] } };

export type Outcome =
  | {
      placements: Partial<PlannedSlice>[];
      /** firstAvailable: the alternative granted per resource; adminAccess: the adapters watched. */
      alternatives?: Record<number, number>;
      monitors?: Record<number, string[]>;
    }
  | { resize: Record<string, unknown> }
  | { fails: { resourceIndex: number; why: UnplacedWhy; skipped?: Skipped } };

export interface PlacementCase {
  name: string;
  inventory: Inventory;
  op: Operation;
  preferred: Outcome;
  firstFit?: Outcome;
}

const aes = 'aes-256-gcm';
const mem = (bytes: number, policy?: object) => ({
  plan: { resources: [{ kind: 'memory', bytes }], policy },
});
const mine = (s: ExistingSlice): ExistingSlice => ({ ...s, allocation: 'mine' });

// Pools several cases share.
const fourAndEight = pool(
  [adapter('a0'), adapter('a1'), adapter('a2'), adapter('a3')],
  [memory('a0', 0, 0, 4 * GiB), memory('a1', 0, 0, 4 * GiB)],
);
const holes = pool([adapter('a0')], [memory('a0', 0, 2 * GiB, 2 * GiB), memory('a0', 1, 6 * GiB, GiB)]);
const degradedAndFull = pool(
  [adapter('a0', { health: 'degraded' }), adapter('a1')],
  [memory('a1', 0, 0, 8 * GiB)],
);
const aesFullShaBusy = [loaded(0, aes, 8), loaded(1, 'sha256', 1)];
const aesFullShaBusySlices = [contexts('a0', 0, 0, 0, 8), contexts('a0', 1, 1, 0, 1)];

export const cases: PlacementCase[] = [
  {
    name: 'fits-one-adapter',
    inventory: pool([adapter('a0'), adapter('a1')]),
    op: mem(3 * GiB),
    preferred: {
      placements: [
        {
          resourceIndex: 0,
          kind: 'memory',
          adapter: 'a0',
          entry: 0,
          base: 0,
          length: 3 * GiB,
          bytes: 3 * GiB,
        },
      ],
    },
  },
  {
    name: 'memory-rounds-up-to-alignment',
    inventory: pool([adapter('a0')]),
    op: mem(3 * MiB + 1),
    preferred: { placements: [{ adapter: 'a0', base: 0, length: 4 * MiB, bytes: 3 * MiB + 1 }] },
  },
  {
    name: 'needs-a-combination',
    inventory: pool([adapter('a0'), adapter('a1')]),
    op: mem(12 * GiB),
    preferred: {
      placements: [
        { adapter: 'a0', entry: 0, base: 0, length: 8 * GiB, bytes: 8 * GiB },
        { adapter: 'a1', entry: 0, base: 0, length: 4 * GiB, bytes: 4 * GiB },
      ],
    },
  },
  {
    name: 'cannot-fit',
    inventory: pool([adapter('a0'), adapter('a1')]),
    op: mem(20 * GiB),
    preferred: { fails: { resourceIndex: 0, why: 'NOT_ENOUGH_FREE' } },
  },
  {
    // 5 GiB free in three holes, but the policy wants one contiguous extent.
    name: 'fragmented-pool',
    inventory: holes,
    op: mem(3 * GiB, { allowSplit: false }),
    preferred: { fails: { resourceIndex: 0, why: 'NOT_CONTIGUOUS' } },
  },
  {
    // Split allowed: preferred takes the largest hole, then the hole that fits the rest exactly.
    name: 'fragmented-pool-split-allowed',
    inventory: holes,
    op: mem(3 * GiB),
    preferred: {
      placements: [
        { adapter: 'a0', entry: 2, base: 0, length: 2 * GiB },
        { adapter: 'a0', entry: 3, base: 7 * GiB, length: GiB },
      ],
    },
    firstFit: {
      placements: [
        { adapter: 'a0', entry: 2, base: 0, length: 2 * GiB },
        { adapter: 'a0', entry: 3, base: 4 * GiB, length: GiB },
      ],
    },
  },
  {
    // 6 MiB is free, but a foreign slice at 1 MiB leaves only [4, 8) MiB on 2 MiB boundaries.
    name: 'fragmented-pool-unaligned',
    inventory: pool([adapter('a0', { memoryBytes: 8 * MiB })], [memory('a0', 0, MiB, 2 * MiB)]),
    op: mem(5 * MiB),
    preferred: { fails: { resourceIndex: 0, why: 'NOT_ENOUGH_FREE' } },
  },
  {
    name: 'unhealthy-adapter',
    inventory: pool([adapter('a0', { health: 'unhealthy' }), adapter('a1')]),
    op: mem(GiB),
    preferred: { placements: [{ adapter: 'a1', base: 0 }] },
  },
  {
    name: 'unhealthy-only',
    inventory: pool([adapter('a0', { health: 'unhealthy' })]),
    op: mem(GiB, { allowDegraded: true }),
    preferred: { fails: { resourceIndex: 0, why: 'NO_ELIGIBLE_ADAPTER', skipped: { unhealthy: ['a0'] } } },
  },
  {
    name: 'degraded-only-when-allowed',
    inventory: degradedAndFull,
    op: mem(GiB),
    preferred: { fails: { resourceIndex: 0, why: 'NOT_ENOUGH_FREE', skipped: { degraded: ['a0'] } } },
  },
  {
    name: 'degraded-when-allowed',
    inventory: degradedAndFull,
    op: mem(GiB, { allowDegraded: true }),
    preferred: { placements: [{ adapter: 'a0', base: 0 }] },
  },
  {
    name: 'healthy-before-degraded',
    inventory: pool([adapter('a0', { health: 'degraded' }), adapter('a1')]),
    op: mem(GiB, { allowDegraded: true }),
    preferred: { placements: [{ adapter: 'a1' }] },
    firstFit: { placements: [{ adapter: 'a0' }] },
  },
  {
    name: 'same-server-preferred',
    inventory: pool([adapter('a0', { server: 's1' }), adapter('a1', { server: 's2' })]),
    op: mem(GiB, { sameServer: 's2' }),
    preferred: { placements: [{ adapter: 'a1' }] },
    firstFit: { placements: [{ adapter: 'a0' }] },
  },
  {
    // 10 GiB: the local 2 GiB hole plus one remote adapter beats two remote adapters.
    name: 'same-server-combination',
    inventory: pool(
      [adapter('a0', { server: 's1' }), adapter('a1', { server: 's2' }), adapter('a2', { server: 's2' })],
      [memory('a0', 0, 0, 6 * GiB)],
    ),
    op: mem(10 * GiB, { sameServer: 's1' }),
    preferred: {
      placements: [
        { adapter: 'a1', base: 0, length: 8 * GiB },
        { adapter: 'a0', base: 6 * GiB, length: 2 * GiB },
      ],
    },
    firstFit: {
      placements: [
        { adapter: 'a0', base: 6 * GiB, length: 2 * GiB },
        { adapter: 'a1', base: 0, length: 8 * GiB },
      ],
    },
  },
  {
    // The compute goes where the memory went (one adapter) rather than to a0's exact-fit range.
    name: 'fewest-adapters',
    inventory: pool([adapter('a0'), adapter('a1')], [memory('a0', 0, 0, 8 * GiB), compute('a0', 1, 0, 14)]),
    op: {
      plan: {
        resources: [
          { kind: 'memory', bytes: GiB },
          { kind: 'compute', units: 2 },
        ],
      },
    },
    preferred: {
      placements: [
        { resourceIndex: 0, adapter: 'a1', entry: 0, base: 0 },
        { resourceIndex: 1, kind: 'compute', adapter: 'a1', entry: 1, base: 0, length: 2, units: 2 },
      ],
    },
    firstFit: {
      placements: [
        { resourceIndex: 0, adapter: 'a1', entry: 0 },
        { resourceIndex: 1, adapter: 'a0', entry: 2, base: 14, length: 2 },
      ],
    },
  },
  {
    // 12 GiB over free 4, 4, 8, 8: two adapters (8 + the 4 that fits exactly), not three.
    name: 'fewest-adapters-combination',
    inventory: fourAndEight,
    op: mem(12 * GiB),
    preferred: {
      placements: [
        { adapter: 'a2', base: 0, length: 8 * GiB },
        { adapter: 'a0', base: 4 * GiB, length: 4 * GiB },
      ],
    },
    firstFit: {
      placements: [
        { adapter: 'a0', base: 4 * GiB, length: 4 * GiB },
        { adapter: 'a1', base: 4 * GiB, length: 4 * GiB },
        { adapter: 'a2', base: 0, length: 4 * GiB },
      ],
    },
  },
  {
    name: 'max-adapters-respected',
    inventory: fourAndEight,
    op: mem(12 * GiB, { maxAdapters: 2 }),
    preferred: {
      placements: [
        { adapter: 'a2', length: 8 * GiB },
        { adapter: 'a0', length: 4 * GiB },
      ],
    },
    firstFit: { fails: { resourceIndex: 0, why: 'MAX_ADAPTERS' } },
  },
  {
    name: 'max-adapters-one',
    inventory: pool([adapter('a0'), adapter('a1')]),
    op: mem(12 * GiB, { maxAdapters: 1 }),
    preferred: { fails: { resourceIndex: 0, why: 'MAX_ADAPTERS' } },
  },
  {
    // The limit counts the whole request: the compute may not open a second adapter.
    name: 'max-adapters-counts-whole-request',
    inventory: pool([adapter('a0'), adapter('a1')], [memory('a0', 0, 0, 8 * GiB), compute('a1', 0, 0, 16)]),
    op: {
      plan: {
        resources: [
          { kind: 'memory', bytes: GiB },
          { kind: 'compute', units: 1 },
        ],
        policy: { maxAdapters: 1 },
      },
    },
    preferred: { fails: { resourceIndex: 1, why: 'MAX_ADAPTERS', skipped: { maxAdapters: ['a0'] } } },
  },
  {
    name: 'best-fit-least-fragmentation',
    inventory: pool([adapter('a0'), adapter('a1')], [memory('a0', 0, 6 * GiB, GiB)]),
    op: mem(GiB),
    preferred: { placements: [{ adapter: 'a0', base: 7 * GiB, length: GiB }] },
    firstFit: { placements: [{ adapter: 'a0', base: 0, length: GiB }] },
  },
  {
    name: 'accelerator-reuses-loaded-slot',
    inventory: pool([adapter('a0', { slots: [loaded(1, aes, 2)] })], [contexts('a0', 0, 1, 0, 2)]),
    op: { plan: { resources: [{ kind: 'accelerator', function: aes }] } },
    preferred: {
      placements: [
        { kind: 'context', adapter: 'a0', entry: 1, slot: 1, base: 2, length: 1, loadBitstream: undefined },
      ],
    },
    firstFit: {
      placements: [{ kind: 'context', slot: 0, base: 0, length: 1, loadBitstream: { function: aes } }],
    },
  },
  {
    name: 'accelerator-needs-empty-slot',
    inventory: pool([adapter('a0', { slots: aesFullShaBusy })], aesFullShaBusySlices),
    op: { plan: { resources: [{ kind: 'accelerator', function: aes }] } },
    preferred: {
      placements: [
        { adapter: 'a0', entry: 2, slot: 2, base: 0, length: 1, loadBitstream: { function: aes } },
      ],
    },
  },
  {
    name: 'accelerator-no-slot-left',
    inventory: pool([adapter('a0', { slotCount: 2, slots: aesFullShaBusy })], aesFullShaBusySlices),
    op: { plan: { resources: [{ kind: 'accelerator', function: aes }] } },
    preferred: { fails: { resourceIndex: 0, why: 'NO_SLOT' } },
  },
  {
    name: 'accelerator-replaces-idle-engine',
    inventory: pool(
      [adapter('a0', { slotCount: 2, slots: [loaded(0, aes, 8), loaded(1, 'sha256')] })],
      [contexts('a0', 0, 0, 0, 8)],
    ),
    op: { plan: { resources: [{ kind: 'accelerator', function: aes }] } },
    preferred: { placements: [{ slot: 1, base: 0, length: 1, loadBitstream: { function: aes } }] },
    firstFit: { fails: { resourceIndex: 0, why: 'NO_SLOT' } },
  },
  {
    name: 'accelerator-unsupported-function',
    inventory: pool([adapter('a0', { functionsSupported: ['sha256'] })]),
    op: { plan: { resources: [{ kind: 'accelerator', function: aes }] } },
    preferred: { fails: { resourceIndex: 0, why: 'NO_SLOT' } },
  },
  {
    // An idle sha256 engine stays loaded for the next sha256 request; the tenant gets an empty slot.
    name: 'logic-on-empty-slot',
    inventory: pool([adapter('a0', { slots: [loaded(0, 'sha256')] })]),
    op: { plan: { resources: [{ kind: 'logic', bitstream: 'tenant-x' }] } },
    preferred: {
      placements: [
        { kind: 'context', slot: 1, base: 0, length: 8, loadBitstream: { bitstream: 'tenant-x' } },
      ],
    },
  },
  {
    name: 'logic-replaces-idle-engine',
    inventory: pool([adapter('a0', { slotCount: 1, slots: [loaded(0, 'sha256')] })]),
    op: { plan: { resources: [{ kind: 'logic', bitstream: 'tenant-x' }] } },
    preferred: { placements: [{ slot: 0, length: 8, loadBitstream: { bitstream: 'tenant-x' } }] },
    firstFit: { fails: { resourceIndex: 0, why: 'NO_SLOT' } },
  },
  {
    name: 'compute-gathered-from-several',
    inventory: pool([adapter('a0'), adapter('a1')], [compute('a0', 0, 0, 12), compute('a1', 0, 0, 10)]),
    op: { plan: { resources: [{ kind: 'compute', units: 8 }] } },
    preferred: {
      placements: [
        { kind: 'compute', adapter: 'a1', entry: 1, base: 10, length: 6, units: 6 },
        { kind: 'compute', adapter: 'a0', entry: 1, base: 12, length: 2, units: 2 },
      ],
    },
    firstFit: {
      placements: [
        { adapter: 'a0', base: 12, length: 4, units: 4 },
        { adapter: 'a1', base: 10, length: 4, units: 4 },
      ],
    },
  },
  {
    name: 'two-resources-one-request-no-overlap',
    inventory: pool([adapter('a0')], [memory('a0', 0, 4 * GiB, 4 * GiB)]),
    op: {
      plan: {
        resources: [
          { kind: 'memory', bytes: 2 * GiB },
          { kind: 'memory', bytes: 2 * GiB },
          { kind: 'accelerator', function: aes },
          { kind: 'accelerator', function: aes },
        ],
      },
    },
    preferred: {
      placements: [
        { resourceIndex: 0, entry: 1, base: 0, length: 2 * GiB },
        { resourceIndex: 1, entry: 2, base: 2 * GiB, length: 2 * GiB },
        { resourceIndex: 2, entry: 3, slot: 0, base: 0, loadBitstream: { function: aes } },
        { resourceIndex: 3, entry: 4, slot: 0, base: 1, loadBitstream: undefined },
      ],
    },
  },
  {
    name: 'slice-table-full',
    inventory: pool([adapter('a0', { sliceEntries: 1 })], [memory('a0', 0, 0, GiB)]),
    op: mem(GiB),
    preferred: {
      fails: { resourceIndex: 0, why: 'NO_ELIGIBLE_ADAPTER', skipped: { sliceTableFull: ['a0'] } },
    },
  },
  {
    // 5 GiB free in three holes but only two free entries: a split needs one entry per slice.
    name: 'slice-table-limits-a-split',
    inventory: pool([adapter('a0', { sliceEntries: 4 })], holes.slices),
    op: mem(5 * GiB),
    preferred: { fails: { resourceIndex: 0, why: 'NOT_ENOUGH_FREE' } },
  },
  {
    name: 'grow-in-place',
    inventory: pool([adapter('a0')], [mine(memory('a0', 0, 0, 2 * GiB))]),
    op: { grow: { slice: mine(memory('a0', 0, 0, 2 * GiB)), length: 4 * GiB } },
    preferred: {
      resize: {
        kind: 'in-place',
        slice: { adapter: 'a0', entry: 0, base: 0, length: 2 * GiB },
        toLength: 4 * GiB,
      },
    },
  },
  {
    name: 'grow-compute-in-place',
    inventory: pool([adapter('a0')], [mine(compute('a0', 0, 0, 4))]),
    op: { grow: { slice: mine(compute('a0', 0, 0, 4)), length: 6 } },
    preferred: { resize: { kind: 'in-place', toLength: 6 } },
  },
  {
    // Blocked behind another allocation: move to a bigger extent, same server as before.
    name: 'grow-by-migration',
    inventory: pool(
      [adapter('a0', { server: 's1' }), adapter('a1', { server: 's2' }), adapter('a2', { server: 's1' })],
      [mine(memory('a0', 0, 0, 2 * GiB)), memory('a0', 1, 2 * GiB, 6 * GiB)],
    ),
    op: { grow: { slice: mine(memory('a0', 0, 0, 2 * GiB)), length: 4 * GiB } },
    preferred: {
      resize: {
        kind: 'migrate',
        from: { adapter: 'a0', entry: 0, base: 0, length: 2 * GiB },
        to: { kind: 'memory', adapter: 'a2', entry: 0, base: 0, length: 4 * GiB },
      },
    },
    firstFit: { resize: { kind: 'migrate', to: { adapter: 'a1', base: 0, length: 4 * GiB } } },
  },
  {
    name: 'shrink',
    inventory: pool([adapter('a0')], [mine(memory('a0', 0, 0, 4 * GiB))]),
    op: { shrink: { slice: mine(memory('a0', 0, 0, 4 * GiB)), length: 3 * GiB + 1 } },
    preferred: {
      resize: { kind: 'shrink', slice: { adapter: 'a0', entry: 0 }, toLength: 3 * GiB + 2 * MiB },
    },
  },
  {
    name: 'migrate-off-unhealthy',
    inventory: pool(
      [adapter('a0', { health: 'unhealthy' }), adapter('a1'), adapter('a2')],
      [mine(memory('a0', 0, 0, 2 * GiB)), memory('a2', 0, 0, 5 * GiB)],
    ),
    op: { migrate: { slice: mine(memory('a0', 0, 0, 2 * GiB)), targets: ['a0', 'a1', 'a2'] } },
    preferred: {
      resize: { kind: 'migrate', to: { adapter: 'a2', entry: 1, base: 5 * GiB, length: 2 * GiB } },
    },
    firstFit: { resize: { kind: 'migrate', to: { adapter: 'a1', entry: 0, base: 0, length: 2 * GiB } } },
  },
  {
    name: 'migrate-nowhere',
    inventory: pool(
      [adapter('a0', { health: 'unhealthy' }), adapter('a1')],
      [mine(memory('a0', 0, 0, 2 * GiB))],
    ),
    op: { migrate: { slice: mine(memory('a0', 0, 0, 2 * GiB)), targets: ['a0'] } },
    preferred: { fails: { resourceIndex: 0, why: 'NO_ELIGIBLE_ADAPTER', skipped: { unhealthy: ['a0'] } } },
  },

  // ---- the request language (docs/grm.md): Kubernetes DRA scenarios translated ----
  {
    // DRA: a request for a whole device. a0 has a slice on it, a1 is entirely free.
    name: 'whole-adapter',
    inventory: pool([adapter('a0'), adapter('a1')], [memory('a0', 0, 0, GiB)]),
    op: { plan: { resources: [{ kind: 'adapter' }] } },
    preferred: {
      placements: [
        {
          resourceIndex: 0,
          kind: 'memory',
          adapter: 'a1',
          entry: 0,
          base: 0,
          length: 8 * GiB,
          bytes: 8 * GiB,
        },
        { resourceIndex: 0, kind: 'compute', adapter: 'a1', entry: 1, base: 0, length: 16, units: 16 },
      ],
    },
  },
  {
    // An idle loaded engine is no tenant's: the adapter is still entirely free; a held context is not.
    name: 'whole-adapter-none-entirely-free',
    inventory: pool(
      [adapter('a0', { slots: aesFullShaBusy }), adapter('a1')],
      [...aesFullShaBusySlices, compute('a1', 0, 15, 1)],
    ),
    op: { plan: { resources: [{ kind: 'adapter' }] } },
    preferred: { fails: { resourceIndex: 0, why: 'NOT_ENOUGH_FREE' } },
  },
  {
    // DRA "too many devices": three whole adapters from a pool of two.
    name: 'whole-adapters-too-many',
    inventory: pool([adapter('a0'), adapter('a1')]),
    op: { plan: { resources: [{ kind: 'adapter', count: 3 }] } },
    preferred: { fails: { resourceIndex: 0, why: 'NOT_ENOUGH_FREE' } },
  },
  {
    // Held whole by another allocation: its empty slots take no one else's contexts (skipped, named).
    name: 'whole-adapter-slots-stay-its-holders',
    inventory: pool([adapter('a0')], [memory('a0', 0, 0, 8 * GiB), compute('a0', 1, 0, 16)]),
    op: { plan: { resources: [{ kind: 'accelerator', function: aes }] } },
    preferred: { fails: { resourceIndex: 0, why: 'NO_ELIGIBLE_ADAPTER', skipped: { heldWhole: ['a0'] } } },
  },
  {
    // The same pool with a second adapter: the accelerator goes there, not into a0's empty slots.
    name: 'whole-adapter-held-elsewhere',
    inventory: pool([adapter('a0'), adapter('a1')], [memory('a0', 0, 0, 8 * GiB), compute('a0', 1, 0, 16)]),
    op: { plan: { resources: [{ kind: 'accelerator', function: aes }] } },
    preferred: {
      placements: [{ kind: 'context', adapter: 'a1', slot: 0, loadBitstream: { function: aes } }],
    },
  },
  {
    // Full by two allocations is not held whole: the empty slots stay open to everyone.
    name: 'full-adapter-of-two-owners-is-not-whole',
    inventory: pool([adapter('a0')], [memory('a0', 0, 0, 8 * GiB), compute('a0', 1, 0, 16, 'third')]),
    op: { plan: { resources: [{ kind: 'accelerator', function: aes }] } },
    preferred: { placements: [{ kind: 'context', adapter: 'a0', entry: 2, slot: 0 }] },
  },
  {
    // DRA allocationMode All: every adapter the selector matches, each whole.
    name: 'all-matching-adapters',
    inventory: pool([
      adapter('a0', { zone: 'z1' }),
      adapter('a1', { zone: 'z2' }),
      adapter('a2', { zone: 'z2' }),
    ]),
    op: { plan: { resources: [{ kind: 'adapter', allocationMode: 'all', selector: 'zone == "z2"' }] } },
    preferred: {
      placements: [
        { kind: 'memory', adapter: 'a1', length: 8 * GiB },
        { kind: 'compute', adapter: 'a1', length: 16 },
        { kind: 'memory', adapter: 'a2', length: 8 * GiB },
        { kind: 'compute', adapter: 'a2', length: 16 },
      ],
    },
  },
  {
    // All means all: one matching adapter in use fails the request (and names it).
    name: 'all-matching-one-in-use',
    inventory: pool(
      [adapter('a0', { zone: 'z1' }), adapter('a1', { zone: 'z2' }), adapter('a2', { zone: 'z2' })],
      [memory('a2', 0, 0, GiB)],
    ),
    op: { plan: { resources: [{ kind: 'adapter', allocationMode: 'all', selector: 'zone == "z2"' }] } },
    preferred: { fails: { resourceIndex: 0, why: 'NOT_ENOUGH_FREE' } },
  },
  {
    // DRA firstAvailable: a whole adapter if one is free, else 4 GiB; the second is granted.
    name: 'first-available-second-alternative',
    inventory: pool([adapter('a0')], [memory('a0', 0, 0, GiB)]),
    op: {
      plan: {
        resources: [
          { kind: 'firstAvailable', alternatives: [{ kind: 'adapter' }, { kind: 'memory', bytes: 4 * GiB }] },
        ],
      },
    },
    preferred: {
      placements: [{ resourceIndex: 0, kind: 'memory', adapter: 'a0', base: GiB, length: 4 * GiB }],
      alternatives: { 0: 1 },
    },
  },
  {
    name: 'first-available-first-alternative',
    inventory: pool([adapter('a0')]),
    op: {
      plan: {
        resources: [
          { kind: 'memory', bytes: GiB },
          {
            kind: 'firstAvailable',
            alternatives: [
              { kind: 'compute', units: 8 },
              { kind: 'compute', units: 2 },
            ],
          },
        ],
      },
    },
    preferred: {
      placements: [
        { resourceIndex: 0, kind: 'memory' },
        { resourceIndex: 1, kind: 'compute', length: 8 },
      ],
      alternatives: { 1: 0 },
    },
  },
  {
    // The choice of one resource backtracks when a later resource cannot fit beside it.
    name: 'first-available-backtracks-for-a-later-resource',
    inventory: pool([adapter('a0')]),
    op: {
      plan: {
        resources: [
          {
            kind: 'firstAvailable',
            alternatives: [
              { kind: 'compute', units: 12 },
              { kind: 'compute', units: 4 },
            ],
          },
          { kind: 'compute', units: 10 },
        ],
      },
    },
    preferred: {
      placements: [
        { resourceIndex: 0, kind: 'compute', base: 0, length: 4 },
        { resourceIndex: 1, kind: 'compute', base: 4, length: 10 },
      ],
      alternatives: { 0: 1 },
    },
  },
  {
    name: 'first-available-none-fits',
    inventory: pool([adapter('a0')]),
    op: {
      plan: {
        resources: [
          {
            kind: 'firstAvailable',
            alternatives: [
              { kind: 'compute', units: 17 },
              { kind: 'memory', bytes: 9 * GiB },
            ],
          },
        ],
      },
    },
    preferred: { fails: { resourceIndex: 0, why: 'NOT_ENOUGH_FREE' } },
  },
  {
    // Selectors on attributes: model and zone, the same request goes where they say.
    name: 'selector-on-attributes',
    inventory: pool([
      adapter('a0', { model: 'ra-0x1', zone: 'z1' }),
      adapter('a1', { model: 'ra-0x2', zone: 'z1' }),
      adapter('a2', { model: 'ra-0x2', zone: 'z2' }),
    ]),
    op: {
      plan: { resources: [{ kind: 'memory', bytes: GiB, selector: 'model == "ra-0x2" && zone != "z1"' }] },
    },
    preferred: { placements: [{ adapter: 'a2' }] },
  },
  {
    // Selectors on capacity: only adapters with 6 GiB free qualify, so the best fit (a0) is passed over.
    name: 'selector-on-capacity',
    inventory: pool([adapter('a0'), adapter('a1')], [memory('a0', 0, 0, 4 * GiB)]),
    op: { plan: { resources: [{ kind: 'memory', bytes: GiB, selector: 'freeMemoryBytes >= 6442450944' }] } },
    preferred: { placements: [{ adapter: 'a1', base: 0 }] },
    firstFit: { placements: [{ adapter: 'a1', base: 0 }] },
  },
  {
    name: 'selector-on-functions',
    inventory: pool([adapter('a0', { functionsSupported: ['crc32c'] }), adapter('a1')]),
    op: { plan: { resources: [{ kind: 'compute', units: 1, selector: '"sha256" in functions' }] } },
    preferred: { placements: [{ adapter: 'a1' }] },
  },
  {
    name: 'selector-matches-nothing',
    inventory: pool([adapter('a0', { zone: 'z1' })]),
    op: { plan: { resources: [{ kind: 'memory', bytes: GiB, selector: 'zone == "z9"' }] } },
    preferred: { fails: { resourceIndex: 0, why: 'NO_MATCHING_ADAPTER' } },
  },
  {
    // Hard constraint: both on one server. Left free, resource 1 would go to s2 (s1 keeps 2 GiB).
    name: 'constraint-same-server',
    inventory: pool([adapter('a0'), adapter('a1', { server: 's2' }), adapter('a2', { server: 's2' })]),
    op: {
      plan: {
        resources: [
          { kind: 'memory', bytes: 6 * GiB },
          { kind: 'memory', bytes: 6 * GiB },
        ],
        constraints: [{ matchAttribute: 'server' }],
      },
    },
    preferred: {
      placements: [
        { resourceIndex: 0, adapter: 'a1' },
        { resourceIndex: 1, adapter: 'a2' },
      ],
    },
  },
  {
    // A preference is not a constraint: the same request without it spans two servers.
    name: 'same-server-without-constraint-spans-servers',
    inventory: pool([adapter('a0'), adapter('a1', { server: 's2' }), adapter('a2', { server: 's2' })]),
    op: {
      plan: {
        resources: [
          { kind: 'memory', bytes: 6 * GiB },
          { kind: 'memory', bytes: 6 * GiB },
        ],
        policy: { sameServer: 's1' },
      },
    },
    preferred: {
      placements: [
        { resourceIndex: 0, adapter: 'a0' },
        { resourceIndex: 1, adapter: 'a1' },
      ],
    },
  },
  {
    // matchAttribute over a subset: resources 0 and 2 share a zone; resource 1 goes anywhere.
    name: 'constraint-same-zone-for-two-of-three',
    inventory: pool([
      adapter('a0', { zone: 'z1' }),
      adapter('a1', { zone: 'z2', server: 's2' }),
      adapter('a2', { zone: 'z2', server: 's3' }),
    ]),
    op: {
      plan: {
        resources: [
          { kind: 'memory', bytes: 5 * GiB },
          { kind: 'memory', bytes: 5 * GiB },
          { kind: 'memory', bytes: 5 * GiB },
        ],
        constraints: [{ matchAttribute: 'zone', resources: [0, 2] }],
      },
    },
    preferred: {
      placements: [
        { resourceIndex: 0, adapter: 'a1' },
        { resourceIndex: 1, adapter: 'a0' },
        { resourceIndex: 2, adapter: 'a2' },
      ],
    },
  },
  {
    name: 'constraint-cannot-hold',
    inventory: pool([adapter('a0'), adapter('a1', { server: 's2' })]),
    op: {
      plan: {
        resources: [
          { kind: 'memory', bytes: 6 * GiB },
          { kind: 'memory', bytes: 6 * GiB },
        ],
        constraints: [{ matchAttribute: 'server' }],
      },
    },
    preferred: { fails: { resourceIndex: 1, why: 'CONSTRAINT' } },
  },
  {
    // DRA adminAccess: watch an adapter in use, full even, taking nothing.
    name: 'admin-access-to-an-adapter-in-use',
    inventory: pool([adapter('a0'), adapter('a1')], [memory('a1', 0, 0, 8 * GiB), compute('a1', 1, 0, 16)]),
    op: { plan: { resources: [{ kind: 'adapter', adminAccess: true, selector: 'id == "a1"' }] } },
    preferred: { placements: [], monitors: { 0: ['a1'] } },
  },
];

// Random pools and requests for the property tests (seeded through test/helpers/prng.ts).
import type { AdapterInventory, Resource } from '../../src/rvl/index.js';
import type { Prng } from '../helpers/prng.js';
import { adapter, loaded, MiB } from './fixtures.js';

export const functions = ['aes-256-gcm', 'sha256', 'crc32c'];

export function randomAdapter(rng: Prng, i: number): AdapterInventory {
  const align = rng.pick([MiB, 2 * MiB, 4 * MiB]);
  const slotCount = rng.int(0, 4);
  const contextsPerEngine = rng.int(1, 8);
  const slots = Array.from({ length: slotCount }, (_, s) => s)
    .filter(() => rng.chance(0.3))
    .map((s) => loaded(s, rng.pick(functions), 0, contextsPerEngine));
  return adapter(`a${i}`, {
    server: rng.pick(['s1', 's2', 's3']),
    health: rng.chance(0.15) ? 'unhealthy' : rng.chance(0.2) ? 'degraded' : 'healthy',
    // Sometimes not a multiple of the alignment: the tail is slack.
    memoryBytes: align * rng.int(4, 64) + (rng.chance(0.2) ? rng.int(1, align - 1) : 0),
    memoryAlignBytes: align,
    computeUnits: rng.int(0, 16),
    slotCount,
    slots,
    contextsPerEngine,
    sliceEntries: rng.int(2, 24),
    functionsSupported: functions.filter(() => rng.chance(0.7)),
  });
}

export function randomResource(rng: Prng): Resource {
  switch (rng.int(0, 4)) {
    case 0:
    case 1:
      return { kind: 'memory', bytes: rng.int(1, 96 * MiB) };
    case 2:
      return { kind: 'compute', units: rng.int(1, 20) };
    case 3:
      return { kind: 'accelerator', function: rng.pick(functions), contexts: rng.int(1, 3) };
    default:
      return { kind: 'logic', bitstream: `tenant-${rng.int(0, 3)}` };
  }
}

export function randomRequest(rng: Prng) {
  const policy: Record<string, unknown> = {};
  if (rng.chance(0.4)) policy.sameServer = rng.pick(['s1', 's2', 's3']);
  if (rng.chance(0.3)) policy.maxAdapters = rng.int(1, 3);
  if (rng.chance(0.2)) policy.allowSplit = false;
  if (rng.chance(0.3)) policy.allowDegraded = true;
  return { resources: Array.from({ length: rng.int(1, 3) }, () => randomResource(rng)), policy };
}

const selectors = [
  'server == "s2"',
  'server != "s1" && health == "healthy"',
  'freeMemoryBytes >= 33554432',
  'largestFreeMemoryBytes > 8388608 || freeComputeUnits >= 4',
  '"sha256" in functions',
  'emptySlots > 0 && freeSliceEntries >= 2',
];

/** A plain resource, sometimes with a selector, sometimes a whole adapter. */
function languageResource(rng: Prng) {
  const r: Record<string, unknown> = rng.chance(0.2)
    ? { kind: 'adapter', ...(rng.chance(0.3) ? { count: rng.int(1, 2) } : {}) }
    : { ...randomResource(rng) };
  if (rng.chance(0.5)) r.selector = rng.pick(selectors);
  return r;
}

/** A request using the request language (docs/grm.md): selectors, whole adapters, alternatives, constraints. */
export function randomLanguageRequest(rng: Prng) {
  const { policy } = randomRequest(rng);
  const resources = Array.from({ length: rng.int(1, 3) }, () =>
    rng.chance(0.3)
      ? {
          kind: 'firstAvailable',
          alternatives: Array.from({ length: rng.int(1, 3) }, () => languageResource(rng)),
        }
      : languageResource(rng),
  );
  if (rng.chance(0.05))
    resources.push({ kind: 'adapter', allocationMode: 'all', selector: rng.pick(selectors) });
  const constraints = rng.chance(0.4)
    ? [{ matchAttribute: rng.pick(['server', 'zone']), ...(rng.chance(0.5) ? { resources: [0] } : {}) }]
    : undefined;
  return { resources, ...(constraints ? { constraints } : {}), policy };
}

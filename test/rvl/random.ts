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

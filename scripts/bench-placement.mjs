#!/usr/bin/env node
// Placement benchmark: the RVL's `preferred` strategy against the seed's plain first-fit baseline,
// on the same seeded stream of allocations and releases over a 16-adapter pool. Prints JSON:
// requests accepted, adapters touched per allocation, and planning time per request.
//   node scripts/bench-placement.mjs [--requests N]
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { applyPlan, firstFit, planRequest, preferred, releaseAllocation } = await import(
  path.join(root, 'dist/rvl/index.js')
);
const GiB = 1024 ** 3;
const requests = Number(process.argv[process.argv.indexOf('--requests') + 1]) || 4000;

function mulberry32(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const pool = () => ({
  adapters: Array.from({ length: 16 }, (_, i) => ({
    id: `s${i >> 2}/ra${i & 3}`,
    server: `s${i >> 2}`,
    health: 'healthy',
    memoryBytes: 8 * GiB,
    memoryAlignBytes: 2 * 1024 * 1024,
    computeUnits: 16,
    slots: [],
    slotCount: 4,
    contextsPerEngine: 8,
    sliceEntries: 256,
    functionsSupported: ['aes-256-gcm', 'sha256', 'crc32c', 'pipeline'],
  })),
  slices: [],
});

function run(strategy) {
  const rand = mulberry32(42);
  let inv = pool();
  const live = [];
  let accepted = 0;
  let refused = 0;
  let adaptersTouched = 0;
  let planNs = 0n;
  for (let i = 0; i < requests; i++) {
    if (live.length && rand() < 0.45) {
      const [id] = live.splice(Math.floor(rand() * live.length), 1);
      inv = releaseAllocation(inv, id);
      continue;
    }
    const r = rand();
    const resource =
      r < 0.5
        ? { kind: 'memory', bytes: Math.ceil(rand() * 6 * GiB) }
        : r < 0.75
          ? { kind: 'compute', units: 1 + Math.floor(rand() * 12) }
          : { kind: 'accelerator', function: ['aes-256-gcm', 'sha256', 'crc32c'][Math.floor(rand() * 3)] };
    const t0 = process.hrtime.bigint();
    const result = planRequest(
      inv,
      { resources: [resource], policy: { sameServer: `s${Math.floor(rand() * 4)}` } },
      strategy,
    );
    planNs += process.hrtime.bigint() - t0;
    if (!result.ok) {
      refused++;
      continue;
    }
    const id = `a${i}`;
    inv = applyPlan(inv, result.plan, id);
    live.push(id);
    accepted++;
    adaptersTouched += new Set(result.plan.placements.map((p) => p.adapter)).size;
  }
  return {
    strategy: strategy.name,
    requests: accepted + refused,
    accepted,
    refused,
    acceptRate: accepted / (accepted + refused),
    adaptersPerAllocation: adaptersTouched / accepted,
    planUsPerRequest: Number(planNs) / (accepted + refused) / 1e3,
  };
}

const results = [run(preferred), run(firstFit)];
process.stdout.write(
  `${JSON.stringify({ pool: '16 adapters x 8 GiB, 16 units, 4 slots', seed: 42, results }, null, 2)}\n`,
);

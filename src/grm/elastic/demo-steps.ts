// The demo's reallocation steps with computed checks (issue 15 "the demo tells the truth"): a busy
// elastic compute allocation grows by itself within 2 reallocation periods, an idle one shrinks to its
// min. Sizes are read back from the adapters' slice tables (Grm.listAdapters reads the registers
// through the agents, ra-spec §10), not from the GRM's records. For src/cli/commands/demo.ts.
import type { Allocation } from '../../common/model.js';
import type { Grm } from '../grm.js';
import { reallocateOnce } from '../reallocator.js';

export interface ElasticStepOutcome {
  result: string;
  check: 'pass' | 'FAIL';
  /** Units of the compute slice in the registers before and after. */
  unitsBefore: number;
  unitsAfter: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The units of the allocation's compute slice in its adapter's slice table (0: not there). */
export async function computeUnitsInRegisters(grm: Grm, a: Allocation): Promise<number> {
  const p = a.resources[0]!.placements[0]!;
  const adapter = (await grm.listAdapters()).find((x) => x.id === p.adapter);
  const slice = adapter?.slices.find(
    (s) => s.entry === p.slice && s.kind === 'compute' && s.allocation === a.id,
  );
  return slice?.length ?? 0;
}

const pass = (grm: Grm) => grm.exclusive(() => reallocateOnce(grm, Date.now(), 'elastic'));

/** Runs matmul jobs on the allocation back to back until stop(); failures are counted. */
function matmulLoad(grm: Grm, tenant: string, id: string): { failures: () => number; stop(): Promise<void> } {
  const [m, n, k] = [192, 192, 192];
  const values = Float32Array.from({ length: m * k + k * n }, (_, i) => (i % 251) / 251);
  const input = Buffer.from(values.buffer).toString('base64');
  let running = true;
  let failed = 0;
  const loop = (async () => {
    while (running)
      await grm.runJob(tenant, id, { function: 'matmul-f32', params: { m, n, k }, input }).catch(() => {
        failed++;
      });
  })();
  return {
    failures: () => failed,
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** "reallocation: a busy elastic allocation grows by itself (within 2 reallocation periods)". */
export async function growBusyStep(grm: Grm, tenant: string, periodMs = 300): Promise<ElasticStepOutcome> {
  const a = await grm.allocate(tenant, {
    resources: [{ kind: 'compute', units: 2 }],
    policy: { elastic: { compute: { min: 1, max: 8, targetUtilization: 0.5, cooldownMs: 60_000 } } },
  });
  try {
    const unitsBefore = await computeUnitsInRegisters(grm, a);
    await pass(grm); // the start of the first window
    const load = matmulLoad(grm, tenant, a.id);
    let periods = 0;
    let unitsAfter = unitsBefore;
    try {
      while (periods < 2 && unitsAfter <= unitsBefore) {
        await sleep(periodMs);
        await pass(grm);
        periods++;
        unitsAfter = await computeUnitsInRegisters(grm, grm.get(tenant, a.id));
      }
    } finally {
      await load.stop();
    }
    const grew = unitsAfter > unitsBefore;
    return {
      result: grew
        ? `matmul load: ${unitsBefore} -> ${unitsAfter} compute units after ${periods} reallocation period(s) (slice table)`
        : `matmul load: still ${unitsAfter} compute units after 2 reallocation periods`,
      check: grew ? 'pass' : 'FAIL',
      unitsBefore,
      unitsAfter,
    };
  } finally {
    await grm.release(tenant, a.id).catch(() => undefined);
  }
}

/** "reallocation: an idle elastic allocation shrinks to its min (not released)". */
export async function shrinkIdleStep(
  grm: Grm,
  tenant: string,
  cooldownMs = 100,
): Promise<ElasticStepOutcome> {
  const min = 2;
  const a = await grm.allocate(tenant, {
    resources: [{ kind: 'compute', units: 6 }],
    policy: { elastic: { compute: { min, max: 8, targetUtilization: 0.6, cooldownMs } } },
  });
  try {
    const unitsBefore = await computeUnitsInRegisters(grm, a);
    await pass(grm);
    let unitsAfter = unitsBefore;
    for (let i = 0; i < 10 && unitsAfter !== min; i++) {
      await sleep(cooldownMs * 1.5);
      await pass(grm);
      unitsAfter = await computeUnitsInRegisters(grm, grm.get(tenant, a.id));
    }
    const active = grm.get(tenant, a.id).state === 'active';
    const ok = unitsAfter === min && active;
    return {
      result: ok
        ? `unused: ${unitsBefore} -> ${unitsAfter} compute units, its min (slice table); still allocated`
        : `unused: ${unitsAfter} compute units (min ${min})${active ? '' : ', and no longer allocated'}`,
      check: ok ? 'pass' : 'FAIL',
      unitsBefore,
      unitsAfter,
    };
  } finally {
    await grm.release(tenant, a.id).catch(() => undefined);
  }
}

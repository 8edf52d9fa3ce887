// The operator's metrics move with real actions on a real embedded GRM, and where they describe devices
// they read as the adapters' registers do (opened through the driver here, not asked of the GRM):
// allocation latency by outcome, errors by code, bitstream loads against SLOT_LOADS, contexts against
// SLOT_CONTEXTS_USED, slice entries against the slice tables, jobs and their bytes against SLICE_JOBS,
// migrations' DMA copies, reallocation actions.
import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Fault } from '../../src/driver/regs.js';
import { shrinkIdleStep } from '../../src/grm/elastic/demo-steps.js';
import { reallocateOnce } from '../../src/grm/reallocator.js';
import type { Allocation } from '../../src/grm/types.js';
import { MiB } from '../grm/helpers.js';
import {
  type AdapterRegisters,
  readRegisters,
  type Samples,
  useLivePool,
  withAdapter,
} from './metrics-live.js';

const OK = { outcome: 'ok' };
const latencyCount = (s: Samples, outcome: string) =>
  s.count('rafabric_allocation_duration_seconds_count', { outcome });
const sumOf = (xs: number[]) => xs.reduce((n, x) => n + x, 0);
const slotLoads = (regs: AdapterRegisters[]) =>
  new Map(regs.map((r) => [r.id, sumOf(r.slots.map((s) => s.loads))]));

/** Every device gauge equals what the registers hold now. */
function expectDeviceGaugesMatch(s: Samples, regs: AdapterRegisters[], server: string): void {
  for (const r of regs) {
    const labels = { adapter: r.id, server };
    const memoryUsed = sumOf(r.slices.filter((x) => x.kind === 'memory').map((x) => x.length));
    const unitsUsed = sumOf(r.slices.filter((x) => x.kind === 'compute').map((x) => x.length));
    expect(s.get('rafabric_adapter_memory_capacity_bytes', labels)).toBe(r.memoryBytes);
    expect(s.get('rafabric_adapter_memory_free_bytes', labels)).toBe(r.memoryBytes - memoryUsed);
    expect(s.get('rafabric_adapter_compute_units_capacity', labels)).toBe(r.computeUnits);
    expect(s.get('rafabric_adapter_compute_units_free', labels)).toBe(r.computeUnits - unitsUsed);
    expect(s.get('rafabric_adapter_slice_entries', { ...labels, state: 'used' })).toBe(r.slices.length);
    expect(s.get('rafabric_adapter_slice_entries', { ...labels, state: 'free' })).toBe(
      r.sliceEntries - r.slices.length,
    );
    for (const state of ['empty', 'loading', 'ready', 'busy', 'error'])
      expect(s.get('rafabric_adapter_slots', { ...labels, state }), `${r.id} ${state}`).toBe(
        r.slots.filter((x) => x.state === state).length,
      );
    const loaded = r.slots.filter((x) => (x.state === 'ready' || x.state === 'busy') && x.function);
    const functions = [...new Set(loaded.map((x) => x.function!))];
    for (const fn of functions) {
      const of = loaded.filter((x) => x.function === fn);
      const used = sumOf(of.map((x) => x.contextsUsed));
      expect(s.get('rafabric_adapter_contexts', { ...labels, function: fn, state: 'used' })).toBe(used);
      expect(s.get('rafabric_adapter_contexts', { ...labels, function: fn, state: 'free' })).toBe(
        sumOf(of.map((x) => x.contexts)) - used,
      );
    }
    // No function the slots do not hold.
    expect(
      s
        .all('rafabric_adapter_contexts', labels)
        .map((x) => x.labels.function)
        .filter((fn) => !functions.includes(fn!)),
    ).toEqual([]);
  }
}

describe('metrics move with real actions (embedded GRM, checked against the registers)', () => {
  const live = useLivePool(2);
  const server = () => live.pool.agent.server;
  let accelerator: Allocation;

  async function allocate(body: unknown, status = 201) {
    const res = await live.call('alice', 'POST', '/v1/allocations', body);
    expect(res.statusCode, res.body).toBe(status);
    return res.json() as Allocation;
  }

  it('an idle pool: every allocation state exported, every gauge as the registers say', async () => {
    const s = await live.scrape();
    for (const state of ['active', 'released', 'lost', 'configuring'])
      expect(s.get('rafabric_allocations', { state })).toBe(0);
    expect(s.get('rafabric_allocation_duration_seconds_count', OK)).toBe(0);
    expectDeviceGaugesMatch(s, readRegisters(live), server());
  });

  it('an allocation adds one ok latency sample and its slice to the slice-entry gauges', async () => {
    const before = await live.scrape();
    const a = await allocate({
      resources: [
        { kind: 'memory', bytes: 4 * MiB },
        { kind: 'compute', units: 3 },
      ],
    });
    const after = await live.scrape();
    expect(latencyCount(after, 'ok') - latencyCount(before, 'ok')).toBe(1);
    expect(after.count('rafabric_allocation_duration_seconds_bucket', { ...OK, le: '+Inf' })).toBe(
      latencyCount(after, 'ok'),
    );
    const seconds =
      after.count('rafabric_allocation_duration_seconds_sum', OK) -
      before.count('rafabric_allocation_duration_seconds_sum', OK);
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThan(10);
    expect(after.get('rafabric_allocations', { state: 'active' })).toBe(1);
    const regs = readRegisters(live);
    expect(sumOf(regs.map((r) => r.slices.length))).toBe(2);
    expectDeviceGaugesMatch(after, regs, server());
    expect((await live.call('alice', 'DELETE', `/v1/allocations/${a.id}`)).statusCode).toBe(204);
    expect((await live.scrape()).get('rafabric_allocations', { state: 'active' })).toBe(0);
  });

  it('refused requests count under their code, in the errors and in the latency, and change no register', async () => {
    const before = await live.scrape();
    const regsBefore = readRegisters(live);
    await allocate({ resources: [{ kind: 'memory', bytes: 2 ** 40 }] }, 409);
    await allocate({ resources: [{ kind: 'memory', bytes: -1 }] }, 400);
    await allocate({ resources: [{ kind: 'memory', bytes: -1 }] }, 400);
    const after = await live.scrape();
    const delta = (name: string, labels: Record<string, string>) =>
      after.count(name, labels) - before.count(name, labels);
    expect(delta('rafabric_http_errors_total', { code: 'RESOURCE_UNAVAILABLE' })).toBe(1);
    expect(delta('rafabric_http_errors_total', { code: 'INVALID_REQUEST' })).toBe(2);
    expect(latencyCount(after, 'RESOURCE_UNAVAILABLE') - latencyCount(before, 'RESOURCE_UNAVAILABLE')).toBe(
      1,
    );
    expect(latencyCount(after, 'INVALID_REQUEST') - latencyCount(before, 'INVALID_REQUEST')).toBe(2);
    expect(latencyCount(after, 'ok')).toBe(latencyCount(before, 'ok'));
    expect(readRegisters(live)).toEqual(regsBefore);
  });

  it('a bitstream load counts as SLOT_LOADS counts it; contexts by function read as SLOT_CONTEXTS_USED', async () => {
    const before = await live.scrape();
    const loadsBefore = slotLoads(readRegisters(live));
    accelerator = await allocate({ resources: [{ kind: 'accelerator', function: 'aes-256-gcm' }] });
    const after = await live.scrape();
    const regs = readRegisters(live);
    const loadsAfter = slotLoads(regs);
    let loads = 0;
    for (const r of regs) {
      const labels = { adapter: r.id, outcome: 'ok' };
      const counted =
        after.count('rafabric_bitstream_loads_total', labels) -
        before.count('rafabric_bitstream_loads_total', labels);
      expect(counted, r.id).toBe(loadsAfter.get(r.id)! - loadsBefore.get(r.id)!);
      loads += counted;
    }
    expect(loads).toBe(1);
    const engine = accelerator.resources[0]!.placements[0]!;
    expect(
      after.get('rafabric_adapter_contexts', {
        adapter: engine.adapter,
        server: server(),
        function: 'aes-256-gcm',
        state: 'used',
      }),
    ).toBe(engine.contexts);
    expectDeviceGaugesMatch(after, regs, server());
  });

  it('a failed load counts under LOAD_FAILED and leaves SLOT_LOADS as it was', async () => {
    const regsBefore = readRegisters(live);
    const before = await live.scrape();
    for (let i = 0; i < live.adapters; i++) withAdapter(live, i, (a) => a.injectFault(Fault.FAIL_NEXT_LOAD));
    try {
      const res = await live.call('alice', 'POST', '/v1/allocations', {
        resources: [{ kind: 'accelerator', function: 'sha256' }],
      });
      expect(res.statusCode, res.body).toBe(502);
    } finally {
      for (let i = 0; i < live.adapters; i++) withAdapter(live, i, (a) => a.injectFault(Fault.NONE));
    }
    const after = await live.scrape();
    const regs = readRegisters(live);
    expect(slotLoads(regs)).toEqual(slotLoads(regsBefore));
    const failed = regs.flatMap((r) => r.slots.filter((s) => s.state === 'error').map(() => r.id));
    expect(failed).toHaveLength(1);
    const labels = { adapter: failed[0]!, outcome: 'LOAD_FAILED' };
    expect(
      after.count('rafabric_bitstream_loads_total', labels) -
        before.count('rafabric_bitstream_loads_total', labels),
    ).toBe(1);
    expect(latencyCount(after, 'ADAPTER_FAILURE') - latencyCount(before, 'ADAPTER_FAILURE')).toBe(1);
    expect(
      after.count('rafabric_http_errors_total', { code: 'ADAPTER_FAILURE' }) -
        before.count('rafabric_http_errors_total', { code: 'ADAPTER_FAILURE' }),
    ).toBe(1);
    expectDeviceGaugesMatch(after, regs, server());
  });

  it('a job counts its function and bytes; the engine slice counts it too (SLICE_JOBS)', async () => {
    const engine = accelerator.resources[0]!.placements[0]!;
    const engineSlice = () =>
      readRegisters(live)
        .find((r) => r.id === engine.adapter)!
        .slices.find((s) => s.entry === engine.slice)!;
    const jobsBefore = engineSlice().jobs;
    const before = await live.scrape();
    const key = randomBytes(32);
    const iv = randomBytes(12);
    const input = randomBytes(1000);
    const res = await live.call('alice', 'POST', `/v1/allocations/${accelerator.id}/jobs`, {
      function: 'aes-256-gcm',
      params: { key: key.toString('hex'), iv: iv.toString('hex') },
      input: input.toString('base64'),
    });
    expect(res.statusCode, res.body).toBe(200);
    const output = Buffer.from((res.json() as { output: string }).output, 'base64');
    const c = createCipheriv('aes-256-gcm', key, iv);
    expect(output.equals(Buffer.concat([c.update(input), c.final(), c.getAuthTag()]))).toBe(true);
    const after = await live.scrape();
    const fn = { function: 'aes-256-gcm' };
    const delta = (name: string, labels: Record<string, string>) =>
      after.count(name, labels) - before.count(name, labels);
    expect(delta('rafabric_jobs_total', { ...fn, outcome: 'ok' })).toBe(1);
    expect(delta('rafabric_job_input_bytes_total', fn)).toBe(input.length);
    expect(delta('rafabric_job_output_bytes_total', fn)).toBe(output.length);
    expect(engineSlice().jobs - jobsBefore).toBe(1);
  });

  it('a failed job counts under its code and adds no bytes', async () => {
    const engine = accelerator.resources[0]!.placements[0]!;
    const index = Number(engine.adapter.split('/ra')[1]);
    const before = await live.scrape();
    withAdapter(live, index, (a) => a.injectFault(Fault.FAIL_NEXT_DMA));
    const res = await live.call('alice', 'POST', `/v1/allocations/${accelerator.id}/jobs`, {
      function: 'aes-256-gcm',
      params: { key: randomBytes(32).toString('hex'), iv: randomBytes(12).toString('hex') },
      input: randomBytes(100).toString('base64'),
    });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    const code = (res.json() as { error: { code: string } }).error.code;
    const after = await live.scrape();
    const failures = after
      .all('rafabric_jobs_total', { function: 'aes-256-gcm' })
      .filter((x) => x.labels.outcome !== 'ok');
    const failedBefore = sumOf(
      before
        .all('rafabric_jobs_total', { function: 'aes-256-gcm' })
        .filter((x) => x.labels.outcome !== 'ok')
        .map((x) => x.value),
    );
    expect(sumOf(failures.map((x) => x.value)) - failedBefore).toBe(1);
    expect(failures.map((x) => x.labels.outcome)).toContain('FAULT_INJECTED');
    expect(code).not.toBe('');
    expect(after.count('rafabric_job_input_bytes_total', { function: 'aes-256-gcm' })).toBe(
      before.count('rafabric_job_input_bytes_total', { function: 'aes-256-gcm' }),
    );
  });

  it('a migration counts one DMA copy of the slice bytes and one migrated action', async () => {
    const a = await allocate({ resources: [{ kind: 'memory', bytes: 4 * MiB }] });
    const from = a.resources[0]!.placements[0]!;
    const heldBytes = readRegisters(live)
      .find((r) => r.id === from.adapter)!
      .slices.find((s) => s.entry === from.slice)!.length;
    const other = readRegisters(live).find((r) => r.id !== from.adapter)!.id;
    const before = await live.scrape();
    const moved = await live.pool.grm.migrate('alice', a.id, 0, [other]);
    const to = moved.resources[0]!.placements[0]!;
    expect(to.adapter).toBe(other);
    const regs = readRegisters(live);
    expect(regs.find((r) => r.id === other)!.slices.find((s) => s.entry === to.slice)?.kind).toBe('memory');
    const after = await live.scrape();
    const delta = (name: string, labels: Record<string, string> = {}) =>
      after.count(name, labels) - before.count(name, labels);
    expect(delta('rafabric_dma_copies_total', OK)).toBe(1);
    expect(delta('rafabric_dma_copied_bytes_total')).toBe(heldBytes);
    expect(delta('rafabric_reallocations_total', { action: 'migrated' })).toBe(1);
    expectDeviceGaugesMatch(after, regs, server());
    expect((await live.call('alice', 'DELETE', `/v1/allocations/${a.id}`)).statusCode).toBe(204);
  });

  it('a reclaim by the reallocation loop counts under its action (lease-expired)', async () => {
    const a = await allocate({ resources: [{ kind: 'memory', bytes: 2 * MiB }], policy: { leaseMs: 1000 } });
    const before = await live.scrape();
    const grm = live.pool.grm;
    const events = await grm.exclusive(() => reallocateOnce(grm, Date.now() + 5000));
    expect(events.map((e) => [e.allocation, e.action])).toEqual([[a.id, 'lease-expired']]);
    const after = await live.scrape();
    for (const action of ['lease-expired', 'idle-reclaimed', 'grew', 'shrank', 'migrated'])
      expect(
        after.count('rafabric_reallocations_total', { action }) -
          before.count('rafabric_reallocations_total', { action }),
        action,
      ).toBe(action === 'lease-expired' ? 1 : 0);
    expect(after.get('rafabric_allocations', { state: 'active' })).toBe(
      (before.get('rafabric_allocations', { state: 'active' }) ?? 0) - 1,
    );
    expectDeviceGaugesMatch(after, readRegisters(live), server());
  });

  it('an idle elastic allocation shrinking to its min counts as shrank, as often as its slice shrank', async () => {
    const before = await live.scrape();
    const step = await shrinkIdleStep(live.pool.grm, 'alice');
    // The step reads the compute slice's units from the slice table (ra-spec 10) before and after.
    expect(step.check, step.result).toBe('pass');
    expect(step.unitsAfter).toBeLessThan(step.unitsBefore);
    const after = await live.scrape();
    const delta = (action: string) =>
      after.count('rafabric_reallocations_total', { action }) -
      before.count('rafabric_reallocations_total', { action });
    // The step's allocation (released at its end): its event record says how many shrinks it took.
    const id = live.pool.grm.events
      .recent()
      .filter((e) => e.kind === 'allocated')
      .at(-1)!.allocation;
    const shrinks = live.pool.grm.maintenance.events.of(id).filter((e) => e.action === 'shrank').length;
    expect(shrinks).toBeGreaterThanOrEqual(1);
    expect(delta('shrank')).toBe(shrinks);
    expect(delta('grew')).toBe(0);
  });
});

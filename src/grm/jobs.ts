// Jobs on an allocation's engine: a scratch memory slice for the input and output (reserved in the index
// and programmed with the allocation's owner key, on the engine's adapter or another adapter of the
// same server, which the engine reaches over the fabric, ra-spec §1), then the engine, then the scratch
// slice is released (and scrubbed by the adapter).
import { RaError } from '../common/errors.js';
import type { FunctionName } from '../common/functions.js';
import { serverOf } from '../common/ids.js';
import { jobBufferBytes, type MatmulDims } from '../common/job-scratch.js';
import type { PlannedSlice } from '../rvl/index.js';
import type { StoredAllocation } from '../store/store.js';
import { type GrmContext, usable } from './context.js';
import { scratchLabel } from './pool.js';
import { GrmCode } from './types.js';
import { validateJob } from './validate.js';

let scratchSeq = 0;

/** Runs a job, counted as use of the allocation while it runs and for a while after (the idle rule). */
export async function runJob(
  ctx: GrmContext,
  tenant: string,
  id: string,
  body: unknown,
): Promise<{ output: string }> {
  const job = validateJob(body);
  usable(ctx, tenant, id);
  // Counted before the first await: a reallocation pass that runs while this job waits or runs
  // sees the allocation in use (ra-spec §10 counters move only when a job completes).
  ctx.jobsRunning.set(id, (ctx.jobsRunning.get(id) ?? 0) + 1);
  try {
    const result = await runCounted(ctx, tenant, id, job);
    ctx.metrics.jobDone(job.function, job.inputBytes.length, Buffer.byteLength(result.output, 'base64'));
    return result;
  } catch (err) {
    ctx.metrics.jobFailed(job.function, err);
    throw err;
  } finally {
    const left = (ctx.jobsRunning.get(id) ?? 1) - 1;
    if (left > 0) ctx.jobsRunning.set(id, left);
    else ctx.jobsRunning.delete(id);
    if (ctx.allocations.has(id)) ctx.jobsEndedMs.set(id, Date.now());
  }
}

async function runCounted(
  ctx: GrmContext,
  tenant: string,
  id: string,
  job: ReturnType<typeof validateJob>,
): Promise<{ output: string }> {
  const a = usable(ctx, tenant, id);
  const resource = a.resources.find((r) =>
    job.function === 'matmul-f32'
      ? r.kind === 'compute'
      : job.function === 'pipeline'
        ? r.kind === 'logic'
        : r.kind === 'accelerator' && r.function === job.function,
  );
  const engine = resource?.placements[0];
  if (!engine)
    throw new RaError(GrmCode.INVALID_REQUEST, `allocation ${id} has no ${job.function} engine`, {
      field: 'function',
    });
  const dims = matmulDims(job.function, job.params);
  const scratchBytes = jobBufferBytes(job.function as FunctionName, job.inputBytes.length, dims);
  const label = scratchLabel(id, ++scratchSeq);
  const scratch = await ctx.locks.run(id, async (): Promise<PlannedSlice> => {
    const index = await ctx.pool.ready();
    usable(ctx, tenant, id); // lost or released while the job waited for the lock
    const memory = { kind: 'memory' as const, bytes: scratchBytes };
    let r = index.plan({
      resources: [memory],
      policy: { maxAdapters: 1, adaptersInUse: [engine.adapter], allowSplit: false },
    });
    if (!r.ok)
      r = index.plan({
        resources: [memory],
        policy: { maxAdapters: 1, sameServer: serverOf(engine.adapter), allowSplit: false },
      });
    const p = r.ok ? r.plan.placements[0] : undefined;
    if (!r.ok || !p || serverOf(p.adapter) !== serverOf(engine.adapter))
      throw new RaError(
        GrmCode.RESOURCE_UNAVAILABLE,
        `no free memory on ${serverOf(engine.adapter)} to stage the job input`,
      );
    const reservation = ctx.pool.reserve(r.plan, label);
    ctx.scratch.add(label);
    try {
      await ctx.commands.run(p.adapter, 'program', {
        entry: p.entry,
        kind: 'memory',
        base: p.base,
        length: p.length,
        ownerKey: a.ownerKey,
      });
    } catch (err) {
      ctx.pool.rollback(reservation);
      ctx.scratch.delete(label);
      throw err;
    }
    ctx.pool.commit(reservation);
    return p;
  });
  try {
    return await ctx.commands.agentFor(engine.adapter).call<{ output: string }>('runJob', {
      adapter: engine.adapter,
      function: job.function,
      engineEntry: engine.slice,
      memoryAdapter: scratch.adapter,
      memoryEntry: scratch.entry,
      memoryBytes: scratch.length,
      ownerKey: a.ownerKey,
      input: job.input,
      ...(job.function === 'aes-256-gcm' ? { key: job.params?.key, iv: job.params?.iv } : {}),
      ...dims,
    });
  } catch (err) {
    // The job runs without the allocation's lock (a long job must not hold up its release): a release,
    // lease expiry or preemption meanwhile takes the engine away, and the adapter then refuses the job's
    // descriptors; a reallocation may move the engine too. Neither is an adapter failure: say which,
    // as a conflict.
    const now = ctx.allocations.get(id);
    if (now?.state !== 'active')
      throw new RaError(
        GrmCode.CONFLICT,
        `allocation ${id} was released while its ${job.function} job ran; the job's output is lost`,
        { cause: (err as RaError).code },
      );
    if (!holdsEngine(now, engine))
      throw new RaError(
        GrmCode.CONFLICT,
        `allocation ${id}'s ${job.function} engine migrated while the job ran (reallocation); run the job again`,
        { cause: (err as RaError).code },
      );
    throw err;
  } finally {
    const done = ctx.pool.begin([scratch.adapter]);
    try {
      await ctx.commands
        .run(scratch.adapter, 'release', { entry: scratch.entry, ownerKey: a.ownerKey })
        .catch(() => undefined);
      ctx.pool.release(label, [scratch.adapter]);
      ctx.scratch.delete(label);
    } finally {
      done();
    }
  }
}

/** Whether the allocation still holds the engine slice the job started on. */
function holdsEngine(a: StoredAllocation, engine: { adapter: string; slice: number }): boolean {
  return a.resources.some((r) =>
    r.placements.some((p) => p.adapter === engine.adapter && p.slice === engine.slice),
  );
}

/**
 * matmul-f32's dimensions by name, as the agent protocol carries them: the agent encodes the
 * descriptor's parameter bytes (ra-spec §12), never the GRM.
 */
function matmulDims(fn: string, params: object | undefined): MatmulDims | undefined {
  if (fn !== 'matmul-f32' || !params) return undefined;
  const { m = 0, n = 0, k = 0 } = params as Partial<MatmulDims>;
  return { m, n, k };
}

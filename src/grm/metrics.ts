// The GRM's own metrics (docs/metrics.md): what it did, counted where it happens — allocations and
// their latency, reallocation actions, bitstream loads, jobs and their bytes, migrations and the bytes
// their DMA copies moved — plus what the registers show at scrape time (metrics-devices.ts).
// A registry per GRM, never prom-client's global one: tests run many GRMs in one process. The HTTP
// layer merges it into each server's registry (src/api/metrics-registry.ts). Counting never fails an
// operation: every method here only adds to in-memory counters.
//
// Label values are bounded: outcomes are "ok" or a code of src/common/codes.ts (anything else counts
// as "UNEXPECTED"), functions are the function names of src/common/functions.ts, actions a fixed list,
// adapters the pool's. No allocation id or tenant is ever a label.
import { Counter, Histogram, Registry } from 'prom-client';
import { type AnyCode, codeSetsByOwner } from '../common/codes.js';
import { RaError } from '../common/errors.js';
import { type AllocationEventAction, allocationEventActions } from './elastic/events.js';

/** "ok", or the stable code of the error that ended the operation. */
export type Outcome = 'ok' | AnyCode | 'UNEXPECTED';

const knownCodes: ReadonlySet<string> = new Set(
  Object.values(codeSetsByOwner).flatMap((set) => Object.values(set) as string[]),
);

/** The outcome label of a failure: its code when it is one of ours, else "UNEXPECTED" (a bug). */
export function outcomeOf(err: unknown): Outcome {
  return err instanceof RaError && knownCodes.has(err.code) ? (err.code as AnyCode) : 'UNEXPECTED';
}

/** Every reallocation action (elastic/events.ts; a migration is one of them). */
export type ReallocationAction = AllocationEventAction;

export const reallocationActions: readonly ReallocationAction[] = allocationEventActions;

/**
 * Allocation latency buckets, seconds. Measured on the embedded pool: 2-20 ms for a memory slice, a
 * bitstream load adds its configuration time (ra-spec §5.4: 16 MiB at 1 GB/s is 16.8 ms); a replica
 * that plans again after a conflict, or a slow agent, reaches into seconds.
 */
const ALLOCATION_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

/** What the HTTP layer needs from a GRM for /metrics beyond GrmApi (the Grm class provides it). */
export interface MetricsSource {
  readonly metrics: GrmMetrics;
}

export class GrmMetrics {
  readonly registry = new Registry();
  private readonly allocationSeconds = new Histogram({
    name: 'rafabric_allocation_duration_seconds',
    help: 'Time the GRM took to answer an allocation request (plan, reserve, configure, commit), by outcome: ok or the error code',
    labelNames: ['outcome'],
    buckets: ALLOCATION_BUCKETS_SECONDS,
    registers: [this.registry],
  });
  private readonly reallocations = new Counter({
    name: 'rafabric_reallocations_total',
    help: 'What reallocation did to allocations (grew, shrank, preempted, reclaimed, lost, replaced) and memory slices migrated by DMA, by action',
    labelNames: ['action'],
    registers: [this.registry],
  });
  private readonly loads = new Counter({
    name: 'rafabric_bitstream_loads_total',
    help: 'Bitstream loads into adapter slots the GRM ordered (CMD_SLOT_LOAD, ra-spec 5.4), by adapter and outcome: ok or the error code',
    labelNames: ['adapter', 'outcome'],
    registers: [this.registry],
  });
  private readonly jobs = new Counter({
    name: 'rafabric_jobs_total',
    help: 'Jobs run on allocations (input copied in by DMA, the engine, output copied out), by function and outcome: ok or the error code',
    labelNames: ['function', 'outcome'],
    registers: [this.registry],
  });
  private readonly jobInputBytes = new Counter({
    name: 'rafabric_job_input_bytes_total',
    help: 'Input bytes of the jobs that completed, by function (DMA host to adapter)',
    labelNames: ['function'],
    registers: [this.registry],
  });
  private readonly jobOutputBytes = new Counter({
    name: 'rafabric_job_output_bytes_total',
    help: 'Output bytes of the jobs that completed, by function (DMA adapter to host)',
    labelNames: ['function'],
    registers: [this.registry],
  });
  private readonly copies = new Counter({
    name: 'rafabric_dma_copies_total',
    help: 'Adapter-to-adapter DMA copies the GRM ordered (migrations: ra-spec 8.4 OP_COPY), by outcome: ok or the error code',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  private readonly copiedBytes = new Counter({
    name: 'rafabric_dma_copied_bytes_total',
    help: 'Bytes moved by the adapter-to-adapter DMA copies that succeeded',
    registers: [this.registry],
  });

  constructor() {
    // Every action is exported from the start (0 until it happens), so a rate over it needs no absent().
    for (const action of reallocationActions) this.reallocations.inc({ action }, 0);
    this.allocationSeconds.zero({ outcome: 'ok' });
    this.copiedBytes.inc(0);
  }

  /** Runs one allocation and records its latency under its outcome; rethrows its error. */
  async timeAllocation<T>(allocate: () => Promise<T>): Promise<T> {
    const end = this.allocationSeconds.startTimer();
    try {
      const result = await allocate();
      end({ outcome: 'ok' });
      return result;
    } catch (err) {
      end({ outcome: outcomeOf(err) });
      throw err;
    }
  }

  reallocated(action: ReallocationAction): void {
    this.reallocations.inc({ action });
  }

  bitstreamLoad(adapter: string, err?: unknown): void {
    this.loads.inc({ adapter, outcome: err === undefined ? 'ok' : outcomeOf(err) });
  }

  jobDone(fn: string, inputBytes: number, outputBytes: number): void {
    this.jobs.inc({ function: fn, outcome: 'ok' });
    this.jobInputBytes.inc({ function: fn }, inputBytes);
    this.jobOutputBytes.inc({ function: fn }, outputBytes);
  }

  jobFailed(fn: string, err: unknown): void {
    this.jobs.inc({ function: fn, outcome: outcomeOf(err) });
  }

  copyDone(bytes: number, err?: unknown): void {
    this.copies.inc({ outcome: err === undefined ? 'ok' : outcomeOf(err) });
    if (err === undefined) this.copiedBytes.inc(bytes);
  }
}

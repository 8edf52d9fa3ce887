// Gauges of what the registers show at scrape time (docs/metrics.md): slots by state (ra-spec §9),
// engine contexts used and free by function (SLOT_CONTEXTS, SLOT_CONTEXTS_USED), slice-table entries
// used and free (§10, CAP_SLICES), and the allocations the GRM holds by state. One agent reading per
// scrape, shared by every gauge: prom-client collects the gauges of a registry concurrently.
// Adapters that left the pool disappear because every gauge is reset before it is set.
import { Gauge, type Registry } from 'prom-client';
import type { AgentAdapter } from '../agent/agent.js';
import { allocationSchema } from '../common/schema/model.js';
import type { GrmContext } from './context.js';
import type { AllocationState } from './types.js';

export const slotStates = ['empty', 'loading', 'ready', 'busy', 'error'] as const;

/** The schema's states; "configuring" is an allocation between plan and commit (not yet in the store). */
export const allocationStates = [...allocationSchema.properties.state.enum, 'configuring'] as const;

export interface DeviceSource {
  /** Every adapter as its agent read it from the registers now; an agent that fails is left out. */
  readAdapters(): Promise<readonly AgentAdapter[]>;
  /** The allocations the GRM holds (committed, by their state) and those configuring. */
  allocationStates(): { states: readonly AllocationState[]; configuring: number };
  onError(err: unknown): void;
}

/** The GRM's pool and allocations as the gauges read them. */
export function devicesOf(ctx: GrmContext): DeviceSource {
  return {
    readAdapters: async () => (await ctx.pool.read()).adapters,
    allocationStates: () => ({
      states: [...ctx.allocations.values()].map((a) => a.state),
      configuring: ctx.configuring.size,
    }),
    onError: (err) => ctx.log.warn({ err }, 'metrics: reading the adapters failed'),
  };
}

export interface ContextCount {
  function: string;
  used: number;
  free: number;
}

/** Contexts of the engines loaded in READY or BUSY slots, summed by function (ra-spec §9). */
export function contextsByFunction(a: Pick<AgentAdapter, 'slots'>): ContextCount[] {
  const byFunction = new Map<string, ContextCount>();
  for (const s of a.slots) {
    if ((s.state !== 'ready' && s.state !== 'busy') || !s.function) continue;
    const c = byFunction.get(s.function) ?? { function: s.function, used: 0, free: 0 };
    c.used += s.contextsUsed;
    c.free += s.contexts - s.contextsUsed;
    byFunction.set(s.function, c);
  }
  return [...byFunction.values()];
}

export function deviceGauges(registry: Registry, source: DeviceSource): void {
  let reading: Promise<readonly AgentAdapter[] | undefined> | undefined;
  // The first gauge collected starts the read; the others of the same scrape wait for the same one.
  const read = (): Promise<readonly AgentAdapter[] | undefined> => {
    if (!reading) {
      reading = source.readAdapters().catch((err: unknown) => {
        source.onError(err);
        return undefined;
      });
      void reading.finally(() => {
        reading = undefined;
      });
    }
    return reading;
  };
  const perAdapter = (
    name: string,
    help: string,
    extra: string[],
    set: (g: Gauge<string>, a: AgentAdapter, labels: { adapter: string; server: string }) => void,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ['adapter', 'server', ...extra],
      registers: [registry],
      async collect() {
        this.reset();
        for (const a of (await read()) ?? []) set(this, a, { adapter: a.id, server: a.server });
      },
    });

  perAdapter(
    'rafabric_adapter_slots',
    'Programmable-logic slots by state from SLOT_STATE (ra-spec 9): empty has no engine; ready holds an engine and no contexts, and can take another bitstream without force; busy has contexts in use',
    ['state'],
    (g, a, labels) => {
      for (const state of slotStates)
        g.set({ ...labels, state }, a.slots.filter((s) => s.state === state).length);
    },
  );
  perAdapter(
    'rafabric_adapter_contexts',
    'Contexts of the loaded engines by function and state (ra-spec 9: used is SLOT_CONTEXTS_USED, free is SLOT_CONTEXTS minus used), summed over the ready and busy slots',
    ['function', 'state'],
    (g, a, labels) => {
      for (const c of contextsByFunction(a)) {
        g.set({ ...labels, function: c.function, state: 'used' }, c.used);
        g.set({ ...labels, function: c.function, state: 'free' }, c.free);
      }
    },
  );
  perAdapter(
    'rafabric_adapter_slice_entries',
    'Slice-table entries (ra-spec 10, CAP_SLICES) by state: used holds a slice of any kind, free is SLICE_S_FREE',
    ['state'],
    (g, a, labels) => {
      const used = a.slices.length;
      g.set({ ...labels, state: 'used' }, used);
      g.set({ ...labels, state: 'free' }, a.sliceEntries - used);
    },
  );
  new Gauge({
    name: 'rafabric_allocations',
    help: 'Allocations the GRM holds, by state: active and lost are in the store; configuring are between plan and commit; released ones are removed, so released is always 0',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const { states, configuring } = source.allocationStates();
      for (const state of allocationStates)
        this.set({ state }, state === 'configuring' ? configuring : states.filter((s) => s === state).length);
    },
  });
}

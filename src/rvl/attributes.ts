// What a selector may read of an adapter (docs/grm.md "Selectors"): its identity and the attributes its
// agent publishes (server, fabric zone, model, firmware, functions), and its capacity now. Each is a
// getter over the planner's own view of the adapter (AdapterAvailability), read only when a selector
// names it, so an attribute costs nothing to requests that do not use it.
import { DEFAULT_ZONE } from '../common/schema/model.js';
import { type AdapterAvailability, freeEntryCount } from './availability.js';

export type AttributeType = 'string' | 'number' | 'list';
export type AttributeValue = string | number | readonly string[];

export interface Attribute {
  type: AttributeType;
  read(a: AdapterAvailability): AttributeValue;
  description: string;
}

export { DEFAULT_ZONE };

/** A function engine's name without the image the GRM labels it with (`<function>@<sha256>`). */
const functionName = (label: string): string => {
  const at = label.indexOf('@');
  return at < 0 ? label : label.slice(0, at);
};

const sum = (extents: readonly { length: number }[]): number => extents.reduce((s, e) => s + e.length, 0);
const largest = (extents: readonly { length: number }[]): number =>
  extents.reduce((m, e) => Math.max(m, e.length), 0);

export const attributes: Readonly<Record<string, Attribute>> = {
  id: { type: 'string', read: (a) => a.id, description: 'adapter id, <server>/ra<fabric port>' },
  server: { type: 'string', read: (a) => a.server, description: 'server the adapter is in' },
  zone: {
    type: 'string',
    read: (a) => a.zone ?? DEFAULT_ZONE,
    description: `fabric zone (agent --zone; "${DEFAULT_ZONE}" when unset)`,
  },
  model: { type: 'string', read: (a) => a.model ?? '', description: 'device model (ra-spec §3 DEVICE_ID)' },
  firmware: {
    type: 'string',
    read: (a) => a.firmware ?? '',
    description: 'firmware: the register-file version (ra-spec §3 SPEC_VERSION)',
  },
  health: { type: 'string', read: (a) => a.health, description: 'healthy, degraded or unhealthy' },
  functions: {
    type: 'list',
    read: (a) => [...new Set(a.functionsSupported.map(functionName))],
    description: 'functions its slots can load',
  },
  memoryBytes: { type: 'number', read: (a) => a.memoryBytes, description: 'on-card memory, bytes' },
  computeUnits: { type: 'number', read: (a) => a.computeUnits, description: 'compute units' },
  slots: { type: 'number', read: (a) => a.slots.length, description: 'programmable-logic slots' },
  contextsPerEngine: { type: 'number', read: (a) => a.contextsPerEngine, description: 'contexts per engine' },
  freeMemoryBytes: {
    type: 'number',
    read: (a) => sum(a.freeMemory),
    description: 'free memory now, bytes (aligned)',
  },
  largestFreeMemoryBytes: {
    type: 'number',
    read: (a) => largest(a.freeMemory),
    description: 'largest free memory extent now, bytes',
  },
  freeComputeUnits: {
    type: 'number',
    read: (a) => sum(a.freeCompute),
    description: 'free compute units now',
  },
  emptySlots: {
    type: 'number',
    read: (a) => a.slots.filter((s) => s.empty).length,
    description: 'slots with nothing loaded now',
  },
  freeSliceEntries: {
    type: 'number',
    read: freeEntryCount,
    description: 'free slice-table entries now (ra-spec §10)',
  },
};

export const attributeNames = Object.keys(attributes);

/** The attribute a constraint matches, as a string key (server, zone, model, firmware are strings). */
export function attributeKey(a: AdapterAvailability, name: string): string {
  return String(attributes[name]!.read(a));
}

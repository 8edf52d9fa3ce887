// An in-memory GrmApi for the HTTP tests: it records every call, keeps each tenant's allocations apart
// (another tenant's id is NOT_FOUND, as the real GRM answers), and validates just enough to prove
// that the HTTP layer passes odd values through to it rather than judging them itself.
import { BitstreamCode } from '../../src/bitstream/codes.js';
import { RaError } from '../../src/common/errors.js';
import { GrmEventLog } from '../../src/grm/events.js';
import type { DashboardSource, PoolPicture } from '../../src/grm/picture.js';
import { QuotaBook, type TenantUsage } from '../../src/grm/quotas.js';
import {
  type AdapterView,
  type AllocatedResource,
  type Allocation,
  type Gang,
  type GrmApi,
  GrmCode,
} from '../../src/grm/types.js';

export const MUTATING = [
  'allocate',
  'resize',
  'release',
  'runJob',
  'registerBitstream',
  'allocateGang',
  'releaseGang',
  'setQuota',
] as const;
export const MAX_RESOURCES = 64;
const KINDS = ['accelerator', 'memory', 'compute', 'logic'];

type Method = keyof GrmApi;

function invalid(message: string): never {
  throw new RaError(GrmCode.INVALID_REQUEST, message);
}

function quantity(value: unknown, field: string): number {
  if (!Number.isSafeInteger(value) || (value as number) <= 0)
    invalid(`${field} must be a positive safe integer`);
  return value as number;
}

export function adapterView(id: string, overrides: Partial<AdapterView> = {}): AdapterView {
  return {
    id,
    server: 'host-a',
    health: 'healthy',
    memory: { total: 16 * 2 ** 30, free: 16 * 2 ** 30 },
    computeUnits: { total: 8, free: 8 },
    slots: { total: 4, free: 4 },
    slices: [],
    ...overrides,
  };
}

export class FakeGrm implements GrmApi, DashboardSource {
  readonly calls: { method: Method; args: unknown[] }[] = [];
  readonly allocations = new Map<string, Allocation>();
  readonly bitstreams = [{ id: 'crc32c-1', function: 'crc32c', version: '1.0.0', signed: true }];
  adapters: AdapterView[] = [adapterView('ra0'), adapterView('ra1', { server: 'host-b' })];
  healthy = true;
  private readonly failures = new Map<Method, unknown>();
  private nextId = 1;

  /** The next call of `method` throws `err` (anything: a RaError, a plain Error, a string). */
  failNext(method: Method, err: unknown): void {
    this.failures.set(method, err);
  }

  mutatingCalls(): { method: Method; args: unknown[] }[] {
    return this.calls.filter((call) => (MUTATING as readonly string[]).includes(call.method));
  }

  private record(method: Method, args: unknown[]): void {
    this.calls.push({ method, args });
    if (this.failures.has(method)) {
      const err = this.failures.get(method);
      this.failures.delete(method);
      throw err;
    }
  }

  private owned(tenant: string, id: string): Allocation {
    const allocation = this.allocations.get(id);
    if (allocation === undefined || allocation.tenant !== tenant) {
      throw new RaError(GrmCode.NOT_FOUND, `no allocation ${id}`);
    }
    return allocation;
  }

  /** The dashboard's source: its adapters and allocations as a picture (no slots, no busy time). */
  readonly events = new GrmEventLog();
  operators = new Set<string>();
  isOperator(tenant: string): boolean {
    return this.operators.has(tenant);
  }

  // Roles and quotas (issue 16): the GRM's own quota book over the fake's allocations.
  readonly quotas = new QuotaBook(() => this.allocations.values());
  listAll(): Allocation[] {
    this.record('listAll', []);
    return [...this.allocations.values()];
  }
  usage(tenant: string): TenantUsage {
    this.record('usage', [tenant]);
    return this.quotas.report(tenant);
  }
  usageAll(also: Iterable<string> = []): TenantUsage[] {
    this.record('usageAll', []);
    return this.quotas.reportAll(also);
  }
  setQuota(tenant: string, quota: unknown): TenantUsage {
    this.record('setQuota', [tenant, quota]);
    this.quotas.configure(this.quotas.withTenant(tenant, quota));
    return this.quotas.report(tenant);
  }
  async picture(): Promise<PoolPicture> {
    const tenantOf = (id: string | undefined) => (id ? this.allocations.get(id)?.tenant : undefined);
    return {
      adapters: this.adapters.map((a) => ({
        id: a.id,
        server: a.server,
        health: a.health,
        memoryBytes: a.memory.total,
        computeUnits: a.computeUnits.total,
        clockNs: 0,
        slots: [],
        slices: a.slices.map((s) => {
          const tenant = tenantOf(s.allocation);
          return { ...s, ...(tenant ? { tenant } : {}), busyNs: 0 };
        }),
      })),
      allocations: [...this.allocations.values()],
    };
  }

  async listAdapters(): Promise<AdapterView[]> {
    this.record('listAdapters', []);
    return this.adapters;
  }

  async allocate(tenant: string, request: unknown): Promise<Allocation> {
    this.record('allocate', [tenant, request]);
    return this.build(tenant, request);
  }

  private build(tenant: string, request: unknown): Allocation {
    const resources = (request as { resources?: unknown }).resources;
    if (!Array.isArray(resources) || resources.length === 0) invalid('resources must be a non-empty array');
    if (resources.length > MAX_RESOURCES) invalid(`at most ${MAX_RESOURCES} resources`);
    const allocated = resources.map((r: Record<string, unknown>, i): AllocatedResource => {
      if (!KINDS.includes(r?.kind as string)) invalid(`resources[${i}].kind is unknown`);
      const kind = r.kind as AllocatedResource['kind'];
      if (kind === 'memory') {
        const bytes = quantity(r.bytes, `resources[${i}].bytes`);
        if (bytes > 2 ** 40) throw new RaError(GrmCode.RESOURCE_UNAVAILABLE, 'not enough free memory');
        return { kind, bytes, placements: [{ adapter: 'ra0', slice: i, offset: 0, bytes }] };
      }
      if (kind === 'compute') {
        const units = quantity(r.units, `resources[${i}].units`);
        return { kind, units, placements: [{ adapter: 'ra0', slice: i, units }] };
      }
      return { kind, placements: [{ adapter: 'ra1', slice: i, slot: 0 }] };
    });
    const id = `al-${this.nextId++}`;
    const allocation: Allocation = {
      id,
      tenant,
      state: 'active',
      resources: allocated,
      policy: {},
      createdAt: new Date(0).toISOString(),
    };
    this.allocations.set(id, allocation);
    return allocation;
  }

  get(tenant: string, id: string): Allocation {
    this.record('get', [tenant, id]);
    return this.owned(tenant, id);
  }

  list(tenant: string): Allocation[] {
    this.record('list', [tenant]);
    return [...this.allocations.values()].filter((a) => a.tenant === tenant);
  }

  async resize(tenant: string, id: string, request: unknown): Promise<Allocation> {
    this.record('resize', [tenant, id, request]);
    const allocation = this.owned(tenant, id);
    const { resource, bytes } = request as { resource?: unknown; bytes?: unknown };
    const target = typeof resource === 'number' ? allocation.resources[resource] : undefined;
    if (target?.kind !== 'memory') invalid('resource must index a memory resource');
    target.bytes = quantity(bytes, 'bytes');
    return allocation;
  }

  /** The fake reallocates nothing: an allocation it holds has no events. */
  allocationEvents(tenant: string, id: string): [] {
    this.record('allocationEvents', [tenant, id]);
    this.owned(tenant, id);
    return [];
  }

  /** The fake has no adapters: the allocation as it is, without grants. */
  async grants(tenant: string, id: string): Promise<Allocation> {
    this.record('grants', [tenant, id]);
    return this.owned(tenant, id);
  }

  async release(tenant: string, id: string): Promise<void> {
    this.record('release', [tenant, id]);
    this.owned(tenant, id);
    this.allocations.delete(id);
  }

  /** Each member allocated as allocate() does; the fake never refuses a gang for room. */
  async allocateGang(tenant: string, request: unknown): Promise<Gang> {
    this.record('allocateGang', [tenant, request]);
    const members = (request as { members?: unknown }).members;
    if (!Array.isArray(members) || members.length === 0) invalid('members must be a non-empty array');
    const id = `g-${this.nextId++}`;
    const allocations: Allocation[] = [];
    for (const m of members) {
      const a = { ...this.build(tenant, m), gang: id };
      this.allocations.set(a.id, a);
      allocations.push(a);
    }
    return { id, allocations };
  }

  getGang(tenant: string, id: string): Gang {
    this.record('getGang', [tenant, id]);
    const allocations = [...this.allocations.values()].filter((a) => a.gang === id && a.tenant === tenant);
    if (allocations.length === 0) throw new RaError(GrmCode.NOT_FOUND, `no gang ${id}`);
    return { id, allocations };
  }

  async releaseGang(tenant: string, id: string): Promise<void> {
    this.record('releaseGang', [tenant, id]);
    for (const a of this.getGang(tenant, id).allocations) this.allocations.delete(a.id);
  }

  async runJob(tenant: string, id: string, job: unknown): Promise<{ output: string }> {
    this.record('runJob', [tenant, id, job]);
    this.owned(tenant, id);
    const { input } = job as { input?: unknown };
    if (typeof input !== 'string') invalid('input must be a base64 string');
    // Upper-cases the decoded input, and carries a field the API must not pass on.
    const output = Buffer.from(Buffer.from(input, 'base64').toString('latin1').toUpperCase(), 'latin1');
    return Object.assign({ output: output.toString('base64') }, { internalTimingNs: 1234 });
  }

  async publishBitstream(_tenant: string, id: string): Promise<{ id: string }> {
    this.record('publishBitstream', [id]);
    return { id };
  }

  listBitstreams() {
    this.record('listBitstreams', []);
    return this.bitstreams;
  }

  async registerBitstream(_tenant: string, body: unknown): Promise<{ id: string }> {
    this.record('registerBitstream', [body]);
    const { descriptor, image } = body as {
      descriptor?: { id?: unknown; signed?: unknown };
      image?: unknown;
    };
    if (typeof image !== 'string') invalid('body must be {"descriptor": {...}, "image": BASE64}');
    if (typeof descriptor?.id !== 'string')
      throw new RaError(BitstreamCode.DESCRIPTOR, 'descriptor.id is missing');
    if (descriptor.signed === false) throw new RaError(BitstreamCode.UNSIGNED, 'the image is not signed');
    if (this.bitstreams.some((b) => b.id === descriptor.id)) {
      throw new RaError(BitstreamCode.EXISTS, `${descriptor.id} is already registered`);
    }
    this.bitstreams.push({ id: descriptor.id, function: 'crc32c', version: '1.0.0', signed: true });
    return { id: descriptor.id };
  }

  health() {
    this.record('health', []);
    const unhealthy = this.adapters.filter((a) => a.health === 'unhealthy').length;
    return { ok: this.healthy, adapters: this.adapters.length, unhealthy };
  }
}

// Quotas per tenant (issue 16): what a tenant may hold at once — memory bytes, compute units, contexts,
// slice-table entries (ra-spec §5: every placement is one entry) and allocations — and what it holds now.
//
// Counting is race-free because it happens in the same synchronous step as the plan and reservation
// (allocate.ts, resize.ts): a request's usage is held here under its key before anything awaits, and
// stays held until the allocation (or the grown resource) is in `ctx.allocations`, in the same tick as
// the hold is settled. Usage = committed allocations + held (reserved, not yet committed), so two
// concurrent requests of one tenant can never both pass a limit that only one of them fits under.
import type { FromSchema } from 'json-schema-to-ts';
import { RaError } from '../common/errors.js';
import type { AllocatedResource } from '../common/model.js';
import { quotaSchema, quotaTableSchema, TENANT_NAME_PATTERN } from '../common/schema/model.js';
import { compile, firstProblem, requestRefusal, requestWording } from '../common/schema/validator.js';
import type { PlannedSlice } from '../rvl/index.js';
import { GrmCode } from './types.js';

export const QUOTA_FIELDS = ['bytes', 'units', 'contexts', 'sliceEntries', 'allocations'] as const;
export type QuotaField = (typeof QUOTA_FIELDS)[number];
export type Usage = Record<QuotaField, number>;
export type Quota = FromSchema<typeof quotaSchema>;
export type QuotaTable = FromSchema<typeof quotaTableSchema>;

export interface TenantUsage {
  tenant: string;
  usage: Usage;
  quota: Quota;
}

const checkQuota = compile<Quota>(quotaSchema);
const checkTable = compile<QuotaTable>(quotaTableSchema);
const tenantPattern = new RegExp(TENANT_NAME_PATTERN);

export const noUsage = (): Usage => ({ bytes: 0, units: 0, contexts: 0, sliceEntries: 0, allocations: 0 });

function add(a: Usage, b: Usage): Usage {
  const sum = noUsage();
  for (const f of QUOTA_FIELDS) sum[f] = a[f] + b[f];
  return sum;
}

/** An allocation's usage from its placements, as the store keeps them (the placement's own fields). */
export function usageOfResources(resources: readonly AllocatedResource[]): Usage {
  const u = noUsage();
  u.allocations = 1;
  for (const r of resources) {
    for (const p of r.placements) {
      u.sliceEntries += 1;
      u.bytes += p.bytes ?? 0;
      u.units += p.units ?? 0;
      u.contexts += p.contexts ?? 0;
    }
  }
  return u;
}

/**
 * A plan's usage, counted as toPublicPlacement (context.ts) will record it: each slice's length as the
 * adapter will hold it (memory rounded up to the alignment), never the amount asked. So a held plan
 * and the committed allocation it becomes weigh the same, and a request whose slices round up past
 * the quota is refused (counting the bytes asked let 1 MiB through a 1 MiB quota as a 2 MiB slice).
 */
export function usageOfPlan(placements: readonly PlannedSlice[], allocations: number): Usage {
  const u = noUsage();
  u.allocations = allocations;
  for (const p of placements) {
    u.sliceEntries += 1;
    if (p.kind === 'memory') u.bytes += p.length;
    else if (p.kind === 'compute') u.units += p.length;
    else if (p.kind === 'context') u.contexts += p.length;
  }
  return u;
}

function invalid(errors: Parameters<typeof firstProblem>[0], data: unknown, root: string): RaError {
  const { message, details } = requestRefusal(
    firstProblem(errors, data, root, requestWording),
    root,
    `${root} must be a JSON object`,
  );
  return new RaError(GrmCode.INVALID_REQUEST, message, details);
}

/** A quota as a client sent it (PUT /v1/tenants/{tenant}/quota): INVALID_REQUEST naming the field. */
export function validateQuota(body: unknown): Quota {
  if (!checkQuota(body)) throw invalid(checkQuota.errors ?? [], body, 'quota');
  return body;
}

/** A whole table (the --quotas file): INVALID_REQUEST naming the tenant and field. */
export function validateQuotaTable(body: unknown): QuotaTable {
  if (!checkTable(body)) throw invalid(checkTable.errors ?? [], body, 'quotas');
  return body;
}

export function validateTenantName(tenant: string): string {
  if (!tenantPattern.test(tenant))
    throw new RaError(
      GrmCode.INVALID_REQUEST,
      'tenant: must be 1 to 64 characters of a-z, 0-9, "_" or "-" (the names --tokens gives)',
      { field: 'tenant' },
    );
  return tenant;
}

/** The committed allocations the book counts (the GRM's map, read at each check). */
export interface Holder {
  tenant: string;
  resources: readonly AllocatedResource[];
}

function subtract(a: Usage, b: Usage): Usage {
  const diff = noUsage();
  for (const f of QUOTA_FIELDS) diff[f] = a[f] - b[f];
  return diff;
}

/**
 * The committed allocations by id (the GRM's map), with each tenant's usage kept current on every set
 * and delete: a quota check reads one tenant's sum instead of walking every allocation of the pool.
 * Allocations are replaced, never changed in place (the GRM sets a new object), so set() sees each change.
 */
export class CommittedAllocations<T extends Holder & { id: string }> extends Map<string, T> {
  // Construct it empty: Map's constructor would call set() on initial entries before this field exists.
  private readonly byTenant = new Map<string, Usage>();

  override set(id: string, a: T): this {
    const old = super.get(id);
    if (old) this.count(old, -1);
    super.set(id, a);
    this.count(a, 1);
    return this;
  }

  override delete(id: string): boolean {
    const old = super.get(id);
    if (!old) return false;
    this.count(old, -1);
    return super.delete(id);
  }

  override clear(): void {
    super.clear();
    this.byTenant.clear();
  }

  /** What the tenant's committed allocations hold (a copy). */
  usageOf(tenant: string): Usage {
    return { ...(this.byTenant.get(tenant) ?? noUsage()) };
  }

  /** Tenants holding at least one committed allocation. */
  tenants(): Iterable<string> {
    return this.byTenant.keys();
  }

  private count(a: T, sign: 1 | -1): void {
    const u = usageOfResources(a.resources);
    const now = this.byTenant.get(a.tenant) ?? noUsage();
    const next = sign === 1 ? add(now, u) : subtract(now, u);
    if (next.allocations > 0) this.byTenant.set(a.tenant, next);
    else this.byTenant.delete(a.tenant);
  }
}

export class QuotaBook {
  private table: QuotaTable = {};
  private readonly held = new Map<string, { tenant: string; usage: Usage }>();

  /**
   * `committed`: the committed allocations, walked at each check; or a CommittedAllocations, whose
   * per-tenant sums are read instead (the GRM's: no walk of the pool per request).
   */
  constructor(
    private readonly committed: (() => Iterable<Holder>) | CommittedAllocations<Holder & { id: string }>,
  ) {}

  /** Replaces every limit at once (the table is validated first: a bad table changes nothing). */
  configure(table: unknown): void {
    this.table = structuredClone(validateQuotaTable(table));
  }

  /** The table with `tenant`'s quota replaced (nothing applied: configure() it once it is stored). */
  withTenant(tenant: string, quota: unknown): QuotaTable {
    validateTenantName(tenant);
    const valid = validateQuota(quota);
    return { ...this.table, tenants: { ...this.table.tenants, [tenant]: valid } };
  }

  get current(): QuotaTable {
    return structuredClone(this.table);
  }

  quotaOf(tenant: string): Quota {
    return { ...(this.table.tenants?.[tenant] ?? this.table.default ?? {}) };
  }

  /** Committed plus held (configuring) usage of the tenant. */
  usageOf(tenant: string): Usage {
    let u = noUsage();
    if (typeof this.committed !== 'function') u = this.committed.usageOf(tenant);
    else for (const a of this.committed()) if (a.tenant === tenant) u = add(u, usageOfResources(a.resources));
    for (const h of this.held.values()) if (h.tenant === tenant) u = add(u, h.usage);
    return u;
  }

  report(tenant: string): TenantUsage {
    return { tenant, usage: this.usageOf(tenant), quota: this.quotaOf(tenant) };
  }

  /** Every tenant the book knows of: holding something, or named in the table, plus `also`. */
  reportAll(also: Iterable<string> = []): TenantUsage[] {
    const names = new Set<string>(also);
    if (typeof this.committed !== 'function') for (const t of this.committed.tenants()) names.add(t);
    else for (const a of this.committed()) names.add(a.tenant);
    for (const h of this.held.values()) names.add(h.tenant);
    for (const t of Object.keys(this.table.tenants ?? {})) names.add(t);
    return [...names].sort().map((t) => this.report(t));
  }

  /** QUOTA_EXCEEDED when `more` on top of what the tenant holds passes a limit; nothing is held. */
  check(tenant: string, more: Usage): void {
    const quota = this.quotaOf(tenant);
    const limited = QUOTA_FIELDS.filter((f) => quota[f] !== undefined && more[f] > 0);
    if (limited.length === 0) return;
    const now = this.usageOf(tenant);
    for (const f of limited) {
      const limit = quota[f]!;
      if (now[f] + more[f] > limit)
        throw new RaError(
          GrmCode.QUOTA_EXCEEDED,
          `tenant ${tenant} would hold ${now[f] + more[f]} ${f} (${now[f]} now + ${more[f]} asked), above its quota of ${limit}; release something or ask an operator for a larger quota`,
          { field: f, quota: limit, used: now[f], asked: more[f] },
        );
    }
  }

  /**
   * Checks and holds `usage` under `key` in one synchronous step (the caller must not await between
   * planning and this): QUOTA_EXCEEDED holds nothing. settle(key) gives it back.
   */
  hold(tenant: string, key: string, usage: Usage): void {
    if (this.held.has(key)) throw new Error(`quota hold ${key} taken twice`);
    this.check(tenant, usage);
    this.held.set(key, { tenant, usage });
  }

  /** The held usage is committed (now in the allocations) or given up; unknown keys are ignored. */
  settle(key: string): void {
    this.held.delete(key);
  }

  /** How many more of `field` the tenant may take (Infinity: not limited). */
  headroom(tenant: string, field: QuotaField): number {
    const limit = this.quotaOf(tenant)[field];
    return limit === undefined ? Number.POSITIVE_INFINITY : Math.max(0, limit - this.usageOf(tenant)[field]);
  }
}

// One index serves every tenant, but tenants do not share engines of different images: an accelerator
// request may reuse a loaded engine only when its image (SLOT_IMAGE_HASH, ra-spec §9) is the one
// chosen for the tenant (docs/bitstreams.md, "Ownership"). So the index names a function engine by
// function and image, `<function>@<payload sha256>`, an adapter supports every image of a function it
// runs, and a tenant's request asks for the label of its own image.
import type { Catalog, CatalogEntry } from '../bitstream/catalog.js';
import { BitstreamCode } from '../bitstream/codes.js';
import { RaError } from '../common/errors.js';
import type { PlacementRequest, PlannedSlice } from '../rvl/index.js';

export const engineLabel = (fn: string, payloadSha256: string): string => `${fn}@${payloadSha256}`;

/** Every label a catalog's images give each function (published and tenants' own). */
export function labelsByFunction(catalog: Catalog): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of catalog.list()) {
    const labels = out.get(e.function) ?? [];
    const label = engineLabel(e.function, e.payloadSha256);
    if (!labels.includes(label)) labels.push(label);
    out.set(e.function, labels);
  }
  for (const labels of out.values()) labels.sort();
  return out;
}

/** A request as the index plans it for one tenant, and how to turn its loads into catalog ids. */
export interface TenantRequest {
  request: PlacementRequest;
  /** The catalog id an accelerator's or logic resource's load stands for. */
  loadOf(load: NonNullable<PlannedSlice['loadBitstream']>): { bitstream: string };
  /** A plan failure's message with labels turned back into function names. */
  readable(message: string): string;
}

/**
 * Rewrites accelerator functions as the labels of the tenant's images (its newest visible bitstream
 * per function); a function no visible bitstream provides is BITSTREAM_NOT_FOUND before planning.
 */
export function forTenant(catalog: Catalog, tenant: string, request: PlacementRequest): TenantRequest {
  const byLabel = new Map<string, CatalogEntry>();
  const label = <R extends PlacementRequest['resources'][number]>(r: R): R => {
    if (r.kind !== 'accelerator') return r;
    const entry = catalog.findByFunction(r.function, {}, tenant)[0];
    if (!entry)
      throw new RaError(
        BitstreamCode.NOT_FOUND,
        `no bitstream in the catalog provides ${r.function}: register one, or ask for another function`,
      );
    const named = engineLabel(r.function, entry.payloadSha256);
    byLabel.set(named, entry);
    return { ...r, function: named };
  };
  // firstAvailable alternatives are labelled too: any of them may be the one granted.
  const resources = request.resources.map((r) =>
    r.kind === 'firstAvailable' ? { ...r, alternatives: r.alternatives.map(label) } : label(r),
  );
  return {
    request: { ...request, resources },
    loadOf(load) {
      if ('bitstream' in load) return { bitstream: catalog.get(load.bitstream, tenant).id };
      const entry = byLabel.get(load.function);
      if (!entry) throw new RaError(BitstreamCode.NOT_FOUND, `no bitstream provides ${load.function}`);
      return { bitstream: entry.id };
    },
    readable(message) {
      let out = message;
      for (const [label, entry] of byLabel) out = out.split(label).join(entry.function);
      return out;
    },
  };
}

// The bitstreams the package ships (bitstreams/, made by scripts/make-bitstreams.mjs) as a catalog,
// the GRM's catalog (a writable folder of tenants' bitstreams beside the shipped ones), and loading a
// function's newest compatible one into a free slot (for `adapter run`, the demo).
import path from 'node:path';
import { DeviceCode } from '../common/codes.js';
import { RaError } from '../common/errors.js';
import type { Adapter } from '../driver/adapter.js';
import { packageRoot } from '../driver/native.js';
import { Slots } from '../driver/slots.js';
import { Catalog } from './catalog.js';
import { BitstreamCode } from './codes.js';
import { type LoadBitstreamOptions, type LoadedBitstream, loadBitstream } from './loader.js';
import { defaultTrustPath, TrustStore } from './trust.js';

export const shippedCatalogPath = path.join(packageRoot, 'bitstreams');

/** The shipped bitstreams, verified against the package's trust store. */
export function openShippedCatalog(): Catalog {
  return Catalog.open(shippedCatalogPath, { trust: defaultTrustPath, strict: true });
}

export interface ServerCatalogOptions {
  /** Where registered bitstreams are written; never inside the package. */
  dir: string;
  /** Trust stores (folders of *.pub.pem or JSON key lists) whose keys may sign registrations. */
  trust?: readonly string[];
  /** Also accept registrations signed by the package's development key (its private key is public). */
  trustDevKey?: boolean;
}

/**
 * The GRM's catalog: the shipped bitstreams (published, read-only, verified under the package's key)
 * plus `dir`, where tenants register their own under the trust stores given, and nothing else: the
 * development key signs registrations only when asked for.
 */
export function openServerCatalog(o: ServerCatalogOptions): Catalog {
  const dir = path.resolve(o.dir);
  const relative = path.relative(shippedCatalogPath, dir);
  if (relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative))) {
    throw new RaError(
      BitstreamCode.PATH,
      `the bitstream folder ${dir} is inside the package's own bitstreams: choose a folder of your own (--bitstreams DIR)`,
    );
  }
  const stores = (o.trust ?? []).map((t) => TrustStore.load(t));
  if (o.trustDevKey) stores.push(TrustStore.load(defaultTrustPath));
  return Catalog.open(dir, {
    create: true,
    trust: TrustStore.union(...stores),
    include: openShippedCatalog(),
  });
}

/**
 * Loads the newest bitstream of `catalog` providing `fn` that `adapter` can host into its first
 * empty (or failed) slot. Refuses when no bitstream fits or every slot holds an engine.
 */
export async function loadFunctionIntoFreeSlot(
  adapter: Adapter,
  fn: string,
  { catalog = openShippedCatalog(), ...options }: LoadBitstreamOptions & { catalog?: Catalog } = {},
): Promise<LoadedBitstream> {
  const [entry] = catalog.findByFunction(fn, adapter.identity);
  if (!entry) {
    throw new RaError(
      BitstreamCode.NOT_FOUND,
      `no bitstream in ${catalog.dir} provides ${fn} for ${adapter.uri}: register one (Catalog.register) or load one with \`rafabric bitstream load\``,
    );
  }
  const free = new Slots(adapter).list().find((s) => s.state === 'empty' || s.state === 'error');
  if (!free) {
    throw new RaError(
      DeviceCode.NO_RESOURCE,
      `every slot of ${adapter.uri} holds an engine: unload one, or load ${entry.id} over it with --force`,
    );
  }
  return loadBitstream(adapter, free.index, entry, {
    trust: catalog.trust,
    policy: catalog.policy,
    ...options,
  });
}

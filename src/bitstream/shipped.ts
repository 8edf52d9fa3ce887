// The bitstreams the package ships (bitstreams/, made by scripts/make-bitstreams.mjs) as a catalog,
// and loading a function's newest compatible one into a free slot (for `adapter run`, the demo).
import path from 'node:path';
import type { Adapter } from '../driver/adapter.js';
import { RaError } from '../driver/errors.js';
import { packageRoot } from '../driver/native.js';
import { Slots } from '../driver/slots.js';
import { Catalog } from './catalog.js';
import { BitstreamCode } from './codes.js';
import { type LoadBitstreamOptions, type LoadedBitstream, loadBitstream } from './loader.js';
import { defaultTrustPath } from './trust.js';

export const shippedCatalogPath = path.join(packageRoot, 'bitstreams');

/** The shipped bitstreams, verified against the package's trust store. */
export function openShippedCatalog(): Catalog {
  return Catalog.open(shippedCatalogPath, { trust: defaultTrustPath, strict: true });
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
      'NO_RESOURCE',
      `every slot of ${adapter.uri} holds an engine: unload one, or load ${entry.id} over it with --force`,
    );
  }
  return loadBitstream(adapter, free.index, entry, {
    trust: catalog.trust,
    policy: catalog.policy,
    ...options,
  });
}

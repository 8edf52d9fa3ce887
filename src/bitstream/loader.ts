// Loading a verified bitstream into a slot (ra-spec §17.5). Every check (schema, sizes, hashes,
// header, signature under the policy, spec, function, contexts, slot and staging sizes) runs before
// the first register access, so a refused bitstream leaves the adapter exactly as it was.
import { readFileSync } from 'node:fs';
import { DriverCode } from '../common/codes.js';
import { RaError } from '../common/errors.js';
import type { Adapter } from '../driver/adapter.js';
import { type SlotInfo, Slots } from '../driver/slots.js';
import type { CatalogEntry } from './catalog.js';
import { BitstreamCode } from './codes.js';
import { readBitstream } from './files.js';
import { defaultPolicy, type SignaturePolicy, type SignatureStatus, TrustStore } from './trust.js';
import { type VerifiedBitstream, verifyBitstream } from './verify.js';

export interface LoadBitstreamOptions {
  /** Reprogram a slot whose contexts are in use (their slices are released). */
  force?: boolean;
  /** Configuration progress, 0..1000. */
  onProgress?: (permille: number) => void;
  policy?: SignaturePolicy;
  /** A TrustStore or a folder / JSON file; the package's trust store (bitstreams/trust) by default. */
  trust?: TrustStore | string;
}

/** A catalog entry, a descriptor path (or the image path beside it), or the two in memory. */
export type BitstreamSource = CatalogEntry | string | { descriptor: unknown; image: Uint8Array };

export interface LoadedBitstream {
  id: string;
  version: string;
  function: string;
  payloadSha256: string;
  signature: SignatureStatus;
  slot: SlotInfo;
}

function readSource(source: BitstreamSource): { descriptor: unknown; image: Uint8Array; subject?: string } {
  if (typeof source === 'string') {
    const files = readBitstream(source);
    return { descriptor: files.descriptor, image: files.image };
  }
  if ('imagePath' in source) {
    let image: Buffer;
    try {
      image = readFileSync(source.imagePath);
    } catch (err) {
      throw new RaError(
        BitstreamCode.IMAGE,
        `cannot read image ${source.imagePath}: ${(err as Error).message}`,
      );
    }
    return { descriptor: source.descriptor, image };
  }
  return source;
}

/** Every check, no register touched: what loadBitstream does before it loads. */
export function prepareBitstream(
  adapter: Pick<Adapter, 'identity'>,
  slot: number,
  source: BitstreamSource,
  options: LoadBitstreamOptions = {},
): VerifiedBitstream {
  const { identity } = adapter;
  if (!Number.isInteger(slot) || slot < 0 || slot >= identity.slots) {
    throw new RaError(
      DriverCode.INVALID_ARGUMENT,
      `slot ${slot} does not exist: ${identity.uri} has slots 0..${identity.slots - 1}`,
    );
  }
  const trust = options.trust instanceof TrustStore ? options.trust : TrustStore.load(options.trust);
  return verifyBitstream(readSource(source), {
    trust,
    policy: options.policy ?? defaultPolicy,
    target: identity,
  });
}

/** Verifies `source` for `adapter`, then loads it into `slot` and checks what the slot reports. */
export async function loadBitstream(
  adapter: Adapter,
  slot: number,
  source: BitstreamSource,
  options: LoadBitstreamOptions = {},
): Promise<LoadedBitstream> {
  const verified = prepareBitstream(adapter, slot, source, options);
  const d = verified.descriptor;
  const info = await new Slots(adapter).load(slot, verified.image, {
    force: options.force ?? false,
    onProgress: options.onProgress,
  });
  if (info.state !== 'ready' || info.imageHash !== d.image.payloadSha256 || info.function !== d.function) {
    throw new RaError(
      BitstreamCode.LOAD_MISMATCH,
      `slot ${slot} of ${adapter.uri} reports ${info.state}, ${info.function ?? 'no function'}, hash ${info.imageHash} after loading ${d.id} (${d.function}, ${d.image.payloadSha256}): unload it and retry`,
    );
  }
  return {
    id: d.id,
    version: d.version,
    function: d.function,
    payloadSha256: d.image.payloadSha256,
    signature: verified.signature,
    slot: info,
  };
}

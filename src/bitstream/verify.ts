// Verifying a bitstream: every check a descriptor and its image must pass, in one order, used alike
// by `rafabric bitstream verify`, the catalog and the loader (docs/bitstreams.md, "Checks").
import path from 'node:path';
import { assertCompatible, type TargetAdapter } from './compatibility.js';
import { type Descriptor, validateDescriptor } from './descriptor.js';
import { type BitstreamFiles, readBitstream } from './files.js';
import type { ImageHeader } from './image.js';
import { type CheckedImage, checkImage } from './image-checks.js';
import {
  checkSignature,
  defaultPolicy,
  type SignaturePolicy,
  type SignatureStatus,
  type TrustStore,
} from './trust.js';

export interface VerifyOptions {
  trust: TrustStore;
  policy?: SignaturePolicy;
  /** Also check that this adapter can host the bitstream. */
  target?: TargetAdapter;
}

export interface VerifiedBitstream {
  descriptor: Descriptor;
  image: Buffer;
  header: ImageHeader;
  imageSha256: string;
  payloadBytes: number;
  signature: SignatureStatus;
}

/**
 * Checks, in order: schema and descriptor rules; image size, sha256, header and stage list; the
 * signature under the policy; the target adapter (spec, function, contexts, sizes). Throws a RaError
 * with a BITSTREAM_* code for the first failure.
 */
export function verifyBitstream(
  input: { descriptor: unknown; image: Uint8Array; subject?: string },
  { trust, policy = defaultPolicy, target }: VerifyOptions,
): VerifiedBitstream {
  const descriptor = validateDescriptor(input.descriptor, input.subject);
  const image = Buffer.from(input.image.buffer, input.image.byteOffset, input.image.length);
  const checked: CheckedImage = checkImage(descriptor, image);
  const signature = checkSignature(descriptor, checked.imageSha256, trust, policy);
  if (target) assertCompatible(descriptor, target);
  return { descriptor, image, ...checked, signature };
}

/** readBitstream + verifyBitstream. */
export function verifyBitstreamFile(
  file: string,
  options: VerifyOptions,
): VerifiedBitstream & BitstreamFiles {
  const files = readBitstream(file);
  const verified = verifyBitstream(
    {
      descriptor: files.descriptor,
      image: files.image,
      subject: `descriptor ${path.basename(files.descriptorPath)}`,
    },
    options,
  );
  return { ...files, ...verified };
}

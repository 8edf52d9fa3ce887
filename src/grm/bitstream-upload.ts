// Checks on a bitstream upload (POST /v1/bitstreams) made before anything is decoded or verified:
// the shape, and the image size against what an adapter can load at all (ra-spec §2: images are
// loaded through the 3 MiB staging window; loading from memory slices is not supported).

import { BitstreamCode } from '../bitstream/codes.js';
import { STAGING_WINDOW_BYTES } from '../bitstream/image.js';
import { isCanonicalBase64 } from '../common/base64.js';
import { RaError } from '../common/errors.js';
import { GrmCode } from './types.js';

export interface BitstreamLimits {
  /** Largest image accepted: anything larger no adapter can load. */
  imageBytes: number;
  /** Bitstreams one tenant may hold in the catalog. */
  perTenantCount: number;
  /** Image bytes one tenant may hold in the catalog. */
  perTenantBytes: number;
}

export const defaultBitstreamLimits: BitstreamLimits = {
  imageBytes: STAGING_WINDOW_BYTES,
  perTenantCount: 16,
  perTenantBytes: 16 * STAGING_WINDOW_BYTES,
};

export function validateBitstreamUpload(
  body: unknown,
  limits: BitstreamLimits,
): { descriptor: unknown; image: Buffer } {
  const b = body as { descriptor?: unknown; image?: unknown };
  if (
    typeof b !== 'object' ||
    b === null ||
    typeof b.image !== 'string' ||
    typeof b.descriptor !== 'object' ||
    b.descriptor === null
  ) {
    throw new RaError(GrmCode.INVALID_REQUEST, 'body must be {"descriptor": {...}, "image": BASE64}');
  }
  const extra = Object.keys(b).filter((k) => k !== 'descriptor' && k !== 'image');
  if (extra.length > 0)
    throw new RaError(
      GrmCode.INVALID_REQUEST,
      `unknown field ${extra[0]!.slice(0, 32)} (and ${extra.length - 1} more)`,
    );
  // Refused by its encoded length: a huge image is never decoded.
  const maxEncoded = Math.ceil(limits.imageBytes / 3) * 4;
  if (b.image.length > maxEncoded) {
    throw new RaError(
      BitstreamCode.TOO_BIG,
      `image is over ${limits.imageBytes} bytes, the adapters' staging window (ra-spec §2): no slot could load it`,
      { limitBytes: limits.imageBytes },
    );
  }
  if (!isCanonicalBase64(b.image)) throw new RaError(GrmCode.INVALID_REQUEST, 'image must be base64');
  return { descriptor: b.descriptor, image: Buffer.from(b.image, 'base64') };
}

// Stable RaError codes for bitstream refusals (docs/bitstreams.md, "Refusals"). Each one is raised
// before any adapter register is touched; the HTTP layer maps them to statuses in its one table.
export const BitstreamCode = {
  /** The descriptor is not JSON or breaks the schema or a rule beyond it. */
  DESCRIPTOR: 'BITSTREAM_DESCRIPTOR',
  /** image.file (or a catalog file) escapes its folder: '..', an absolute path, a symlink outside. */
  PATH: 'BITSTREAM_PATH',
  /** The image file is missing or unreadable. */
  IMAGE: 'BITSTREAM_IMAGE',
  /** The image is truncated or longer than the descriptor says. */
  SIZE: 'BITSTREAM_SIZE',
  /** A sha256 (image file or payload) differs from what the descriptor or header says. */
  HASH: 'BITSTREAM_HASH',
  /** The 128-byte image header (ra-spec §13) disagrees with the descriptor or is malformed. */
  HEADER: 'BITSTREAM_HEADER',
  /** A pipeline image's stage list differs from the descriptor's `pipeline`. */
  PIPELINE: 'BITSTREAM_PIPELINE',
  /** The payload exceeds its slot size class, the adapter's CAP_SLOT_BYTES or its staging window. */
  TOO_BIG: 'BITSTREAM_TOO_BIG',
  /** The image's spec range does not include the adapter's spec version. */
  SPEC: 'BITSTREAM_SPEC',
  /** The function is not a slot function or the adapter does not support it. */
  FUNCTION: 'BITSTREAM_FUNCTION',
  /** The engine needs more contexts than the adapter allows per engine (CAP_CONTEXTS). */
  CONTEXTS: 'BITSTREAM_CONTEXTS',
  /** No signature and the policy does not allow unsigned images. */
  UNSIGNED: 'BITSTREAM_UNSIGNED',
  /** Signed by a key that is not in the trust store. */
  UNKNOWN_KEY: 'BITSTREAM_UNKNOWN_KEY',
  /** The signature does not verify against the descriptor and image. */
  BAD_SIGNATURE: 'BITSTREAM_BAD_SIGNATURE',
  /** A key file or trust store is malformed. */
  KEY: 'BITSTREAM_KEY',
  /** Catalog: no such id, or the id is already registered with other content. */
  NOT_FOUND: 'BITSTREAM_NOT_FOUND',
  EXISTS: 'BITSTREAM_EXISTS',
  /** The adapter reported a different image than the one loaded. */
  LOAD_MISMATCH: 'BITSTREAM_LOAD_MISMATCH',
} as const;

export type BitstreamCodeName = (typeof BitstreamCode)[keyof typeof BitstreamCode];

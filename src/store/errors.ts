// The store's one error class (shaped as the RVL's RvlError and the driver's RaError): a stable string
// `code` callers switch on, and a message that says what was wrong and what to do next.

export const StoreCode = {
  /** The caller passed a malformed allocation or intent: fix the input, retrying cannot help. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** update/remove/abortIntent named an id the store does not hold. */
  NOT_FOUND: 'NOT_FOUND',
  /** The operation contradicts the state (an id recorded twice, a tenant changed by update, ...). */
  CONFLICT: 'CONFLICT',
  /** What is on disk cannot be trusted: the store refuses to open rather than drop committed records. */
  CORRUPT: 'CORRUPT',
  /** Another live process holds the store directory. */
  LOCKED: 'LOCKED',
  /** Used after close(). */
  CLOSED: 'CLOSED',
  /** A write or fsync failed: the store refuses further writes until it is reopened. */
  IO_FAILED: 'IO_FAILED',
} as const;

export type StoreCodeName = (typeof StoreCode)[keyof typeof StoreCode];

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreCodeName,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    Error.captureStackTrace?.(this, StoreError);
  }
}

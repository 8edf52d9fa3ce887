// The store's one error class (a RaError subclass, like the RVL's RvlError): a stable string
// `code` callers switch on, and a message that says what was wrong and what to do next.
import { RaError } from '../driver/errors.js';

export const StoreCode = {
  /**
   * Compare-and-swap refused: another writer (a GRM replica) changed the record since the revision the
   * caller saw. Nothing changed: refresh() and decide again.
   */
  STALE_REVISION: 'STALE_REVISION',
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
  /** A file operation failed while opening or compacting. */
  IO_FAILED: 'IO_FAILED',
  /**
   * A write could not be made durable (disk full, I/O error): that operation did not happen. After a
   * full disk the store takes writes again once there is space; after an I/O error only a restart
   * (reopen and reconciliation) does.
   */
  UNAVAILABLE: 'STORE_UNAVAILABLE',
} as const;

export type StoreCodeName = (typeof StoreCode)[keyof typeof StoreCode];

/** A RaError (the stack's one error class) whose code is one of this layer's. */
export class StoreError extends RaError {
  override readonly name: string = 'StoreError';
  declare readonly code: StoreCodeName;
  constructor(code: StoreCodeName, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

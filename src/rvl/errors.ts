// The RVL's one error class (a RaError subclass, shaped as better-sqlite3's SqliteError): a stable
// string `code` callers switch on, and a message that says what was wrong and what to do next.
// Placement that merely does not fit is not an error: it is a `PlanFailure` result (see plan.ts).
import { RaError } from '../driver/errors.js';

export const RvlCode = {
  /** The request (or a resize) is malformed: fix the input, retrying cannot help. */
  INVALID_REQUEST: 'INVALID_REQUEST',
  /** The inventory contradicts itself (overlapping slices, a slice outside its adapter, ...). */
  INVALID_INVENTORY: 'INVALID_INVENTORY',
  /** An adapter named by the caller (directly or through a slice) is not in the inventory. */
  UNKNOWN_ADAPTER: 'UNKNOWN_ADAPTER',
  /** A plan or reservation no longer matches the live index (something took its place): plan again. */
  STALE_PLAN: 'STALE_PLAN',
} as const;

export type RvlCodeName = (typeof RvlCode)[keyof typeof RvlCode];

/** A RaError (the stack's one error class) whose code is one of this layer's. */
export class RvlError extends RaError {
  override readonly name: string = 'RvlError';
  declare readonly code: RvlCodeName;
  constructor(code: RvlCodeName, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

export function invalidRequest(message: string, details?: Record<string, unknown>): RvlError {
  return new RvlError(RvlCode.INVALID_REQUEST, message, details);
}

export function invalidInventory(message: string, details?: Record<string, unknown>): RvlError {
  return new RvlError(RvlCode.INVALID_INVENTORY, message, details);
}

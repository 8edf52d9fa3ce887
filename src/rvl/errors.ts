// The RVL's one error class (shaped as better-sqlite3's SqliteError and the driver's RaError): a stable
// string `code` callers switch on, and a message that says what was wrong and what to do next.
// Placement that merely does not fit is not an error: it is a `PlanFailure` result (see plan.ts).

export const RvlCode = {
  /** The request (or a resize) is malformed: fix the input, retrying cannot help. */
  INVALID_REQUEST: 'INVALID_REQUEST',
  /** The inventory contradicts itself (overlapping slices, a slice outside its adapter, ...). */
  INVALID_INVENTORY: 'INVALID_INVENTORY',
  /** An adapter named by the caller (directly or through a slice) is not in the inventory. */
  UNKNOWN_ADAPTER: 'UNKNOWN_ADAPTER',
} as const;

export type RvlCodeName = (typeof RvlCode)[keyof typeof RvlCode];

export class RvlError extends Error {
  override readonly name = 'RvlError';
  constructor(
    readonly code: RvlCodeName,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    Error.captureStackTrace?.(this, RvlError);
  }
}

export function invalidRequest(message: string, details?: Record<string, unknown>): RvlError {
  return new RvlError(RvlCode.INVALID_REQUEST, message, details);
}

export function invalidInventory(message: string, details?: Record<string, unknown>): RvlError {
  return new RvlError(RvlCode.INVALID_INVENTORY, message, details);
}

// The RVL's one error class (a RaError subclass, shaped as better-sqlite3's SqliteError): a stable
// string `code` callers switch on, and a message that says what was wrong and what to do next.
// Placement that merely does not fit is not an error: it is a `PlanFailure` result (see plan.ts).
import { RvlCode, type RvlCodeName } from '../common/codes.js';
import { RaError } from '../common/errors.js';

export { RvlCode, type RvlCodeName };

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

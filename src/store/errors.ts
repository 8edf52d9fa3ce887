// The store's one error class (a RaError subclass, like the RVL's RvlError): a stable string
// `code` callers switch on, and a message that says what was wrong and what to do next.
import { StoreCode, type StoreCodeName } from '../common/codes.js';
import { RaError } from '../common/errors.js';

export { StoreCode, type StoreCodeName };

/** A RaError (the stack's one error class) whose code is one of this layer's. */
export class StoreError extends RaError {
  override readonly name: string = 'StoreError';
  declare readonly code: StoreCodeName;
  constructor(code: StoreCodeName, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

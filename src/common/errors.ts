// The stack's one error class (as better-sqlite3's SqliteError): a stable string `code` callers
// switch on, a message that says what was wrong and what to do next, and optional details. It lives
// below every layer so that no layer imports another one only to throw. The codes are in codes.ts.
export class RaError extends Error {
  override readonly name: string = 'RaError';
  constructor(
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    Error.captureStackTrace?.(this, RaError);
  }
}

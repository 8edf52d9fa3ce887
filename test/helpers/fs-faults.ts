// Real I/O errors from node:fs, for the store's failure paths: replaces one fs function on the module
// object and re-syncs the ESM named exports (the store imports `* as fs`), so the code under test gets
// an errno error exactly as the kernel would return it. Always undo() (in a finally or afterEach).
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

export type FsFunction = 'writeSync' | 'fsync';

export function errnoError(code: string, syscall: string): NodeJS.ErrnoException {
  const messages: Record<string, string> = {
    ENOSPC: 'no space left on device',
    EIO: 'i/o error',
  };
  const err = new Error(`${code}: ${messages[code] ?? 'error'}, ${syscall}`) as NodeJS.ErrnoException;
  err.code = code;
  err.syscall = syscall;
  return err;
}

/** Makes `name` fail with `code` until undo() is called. */
export function failFs(name: FsFunction, code: string): { undo(): void } {
  const fsAny = fs as unknown as Record<string, unknown>;
  const original = fsAny[name];
  if (name === 'fsync') {
    fsAny.fsync = (_fd: number, cb: (err: Error | null) => void) =>
      setImmediate(() => cb(errnoError(code, 'fsync')));
  } else {
    fsAny[name] = () => {
      throw errnoError(code, 'write');
    };
  }
  syncBuiltinESMExports();
  return {
    undo() {
      fsAny[name] = original;
      syncBuiltinESMExports();
    },
  };
}

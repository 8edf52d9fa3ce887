// The directory lock (dir/lock): one process at a time may open a store directory, so two GRMs never
// write the same state. The lock file is created with O_EXCL and holds {pid, hostname, acquiredAt}. A lock
// whose pid is dead on this host is stale (its holder was killed) and is taken over. Limits: a lock
// written on another host (shared file system) cannot be checked and is always refused; two processes
// taking over the same stale lock at the same instant could both succeed (the unlink/create pair is not
// atomic) — the window is one system call wide and needs two GRMs started together after a crash.
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeAll } from './durable.js';
import { StoreCode, StoreError } from './errors.js';

export const LOCK_FILE = 'lock';
/** An unreadable lock younger than this may be one a live process is still writing. */
const UNREADABLE_GRACE_MS = 5_000;

export interface LockHolder {
  pid: number;
  hostname: string;
  acquiredAt: string;
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(path: string): LockHolder | undefined {
  try {
    const value = JSON.parse(fs.readFileSync(path, 'utf8')) as Partial<LockHolder>;
    if (
      typeof value.pid === 'number' &&
      Number.isSafeInteger(value.pid) &&
      value.pid > 0 &&
      typeof value.hostname === 'string' &&
      typeof value.acquiredAt === 'string'
    ) {
      return value as LockHolder;
    }
  } catch {
    // unreadable: handled by the caller
  }
  return undefined;
}

function ageMs(path: string): number {
  try {
    return Date.now() - fs.statSync(path).mtimeMs;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

export class DirectoryLock {
  private released = false;

  private constructor(
    readonly path: string,
    private readonly holder: LockHolder,
  ) {}

  /** Takes the lock of `dir`; `warnings` receives a note when a stale lock is taken over. */
  static acquire(dir: string, warnings: string[]): DirectoryLock {
    const path = join(dir, LOCK_FILE);
    const holder: LockHolder = {
      pid: process.pid,
      hostname: hostname(),
      acquiredAt: new Date().toISOString(),
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      let fd: number;
      try {
        fd = fs.openSync(path, 'wx', 0o600);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        warnings.push(DirectoryLock.clearStale(dir, path));
        continue;
      }
      try {
        writeAll(fd, Buffer.from(`${JSON.stringify(holder)}\n`));
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      return new DirectoryLock(path, holder);
    }
    throw new StoreError(
      StoreCode.LOCKED,
      `could not take the lock ${path}: other processes keep creating it; stop them and retry`,
      { path },
    );
  }

  /** Removes a stale lock and says so, or throws LOCKED when its holder may be alive. */
  private static clearStale(dir: string, path: string): string {
    const holder = readHolder(path);
    if (!holder) {
      if (ageMs(path) < UNREADABLE_GRACE_MS) {
        throw new StoreError(
          StoreCode.LOCKED,
          `the store directory ${dir} is being locked by another process (${path} is still being written); retry`,
          { path },
        );
      }
    } else if (holder.hostname !== hostname()) {
      throw new StoreError(
        StoreCode.LOCKED,
        `the store directory ${dir} is locked by pid ${holder.pid} on host ${holder.hostname} (since ` +
          `${holder.acquiredAt}); its liveness cannot be checked from ${hostname()}. If no GRM runs there, ` +
          `delete ${path} and retry.`,
        { path, holder },
      );
    } else if (isProcessAlive(holder.pid)) {
      throw new StoreError(
        StoreCode.LOCKED,
        `the store directory ${dir} is open in process ${holder.pid} (since ${holder.acquiredAt}); two GRMs ` +
          'must not write one store. Stop that process, or give this one another directory.',
        { path, holder },
      );
    }
    try {
      fs.unlinkSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    return holder
      ? `took over a stale lock of dead process ${holder.pid} (since ${holder.acquiredAt})`
      : `took over an unreadable stale lock file ${path}`;
  }

  /** Removes the lock file, unless someone else's lock has replaced it. */
  release(): void {
    if (this.released) return;
    this.released = true;
    const current = readHolder(this.path);
    if (current && current.pid === this.holder.pid && current.acquiredAt === this.holder.acquiredAt) {
      try {
        fs.unlinkSync(this.path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  }
}

// One process at a time per store directory: a second open is refused while the holder lives (in this
// process, or in another live process), a lock left by a dead process is taken over, a lock from another
// host or one still being written is refused, and close (or a refused open) leaves no lock behind.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JournalStore, StoreCode, StoreError } from '../../src/store/index.js';
import { allocation, tempDir } from './helpers.js';

function writeLock(dir: string, holder: object | string): void {
  fs.writeFileSync(join(dir, 'lock'), typeof holder === 'string' ? holder : JSON.stringify(holder));
}

function lockedError(fn: () => unknown): StoreError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe(StoreCode.LOCKED);
    return err as StoreError;
  }
  throw new Error('expected LOCKED');
}

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  expect(child.status).toBe(0);
  return child.pid!;
}

describe('directory lock', () => {
  it('holds our pid while open and is removed by close', async () => {
    const dir = tempDir();
    const store = JournalStore.open(dir);
    expect(JSON.parse(fs.readFileSync(join(dir, 'lock'), 'utf8'))).toMatchObject({
      pid: process.pid,
      hostname: hostname(),
    });
    await store.close();
    expect(fs.existsSync(join(dir, 'lock'))).toBe(false);
  });

  it('refuses a second open while the first is open, and allows it after close', async () => {
    const dir = tempDir();
    const first = JournalStore.open(dir);
    const error = lockedError(() => JournalStore.open(dir));
    expect(error.message).toContain(`is open in process ${process.pid}`);
    expect(error.message).toContain('two GRMs must not write one store');
    await first.commit(allocation('a1'));
    await first.close();
    const second = JournalStore.open(dir);
    expect(second.load().allocations.has('a1')).toBe(true);
    await second.close();
  });

  it('refuses while another live process holds the lock, and takes it over once that process is killed', async () => {
    const dir = tempDir();
    const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      writeLock(dir, { pid: holder.pid, hostname: hostname(), acquiredAt: '2025-06-01T00:00:00.000Z' });
      expect(lockedError(() => JournalStore.open(dir)).message).toContain(`is open in process ${holder.pid}`);
    } finally {
      const exited = new Promise((resolve) => holder.once('exit', resolve));
      holder.kill('SIGKILL');
      await exited;
    }
    const store = JournalStore.open(dir);
    expect(store.load().diagnostics.warnings).toEqual([
      `took over a stale lock of dead process ${holder.pid} (since 2025-06-01T00:00:00.000Z)`,
    ]);
    expect(JSON.parse(fs.readFileSync(join(dir, 'lock'), 'utf8')).pid).toBe(process.pid);
    await store.close();
  });

  it('takes over a stale lock of a dead pid', async () => {
    const dir = tempDir();
    const pid = deadPid();
    writeLock(dir, { pid, hostname: hostname(), acquiredAt: '2025-06-01T00:00:00.000Z' });
    const store = JournalStore.open(dir);
    expect(store.load().diagnostics.warnings.join()).toContain(`dead process ${pid}`);
    await store.close();
  });

  it('refuses a lock from another host (its holder cannot be checked), saying how to clear it', async () => {
    const dir = tempDir();
    writeLock(dir, { pid: deadPid(), hostname: 'elsewhere.example', acquiredAt: '2025-06-01T00:00:00.000Z' });
    const error = lockedError(() => JournalStore.open(dir));
    expect(error.message).toMatch(/on host elsewhere\.example .*If no GRM runs there, delete .*lock/);
  });

  it('refuses an unreadable lock that is fresh (being written), takes over one that is old', async () => {
    const dir = tempDir();
    writeLock(dir, '');
    expect(lockedError(() => JournalStore.open(dir)).message).toMatch(/is still being written\); retry/);
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(join(dir, 'lock'), old, old);
    const store = JournalStore.open(dir);
    expect(store.load().diagnostics.warnings.join()).toMatch(/took over an unreadable stale lock file/);
    await store.close();
  });

  it('a refused open (corrupt journal) releases the lock it took', async () => {
    const dir = tempDir();
    fs.writeFileSync(join(dir, 'journal.jsonl'), 'garbage\n{"seq":1}\n');
    expect(() => JournalStore.open(dir)).toThrow(/line 1/);
    expect(fs.existsSync(join(dir, 'lock'))).toBe(false);
  });
});

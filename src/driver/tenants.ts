// Tenant windows (ra-spec §18), the agent's side: open a window onto granted slices with one free
// queue, and close (revoke) it. The window's holder reaches the adapter through the window file only;
// it never gets the register file or an owner key.
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import path from 'node:path';
import { DriverCode } from '../common/codes.js';
import { RaError } from '../common/errors.js';
import type { Adapter } from './adapter.js';
import { Bar, Cmd, Qcb, Tenant, Tw, TwState } from './regs.js';
import { SliceKeyBook } from './slice-keys.js';

export interface WindowGrant {
  /** fabric port of the slice's adapter (REG_FABRIC_ID); this adapter's own or another one's */
  port: number;
  slice: number;
}

export interface OpenedWindow {
  window: number;
  queue: number;
  /** the window file: its name carries a random nonce, so knowing the path is the capability */
  path: string;
  /**
   * The grant files of the window's memory slices on this adapter are `<memoryPrefix><slice>`
   * (ra-spec §18.7): what a holder maps for load/store, taken back (truncated) at revocation.
   */
  memoryPrefix: string;
}

/** A window found open on the adapter (its queue's QCB_OWNER says so), with the key it was opened with. */
export interface OpenWindow {
  window: number;
  queue: number;
  /** from the driver's window key book (write-only on the adapter, ra-spec §10); 0n: unknown */
  ownerKey: bigint;
  /** the window file, when one in the adapter's folder shows this window open on this queue */
  path?: string;
}

/**
 * The open in progress on each adapter. An open picks the first free window and queue from the
 * registers and only its command takes them, so two opens that overlapped would pick the same pair
 * and the second command would fail (BAD_ARGUMENT, §18.3): opens on one adapter run one at a time.
 */
const openingOn = new WeakMap<Adapter, Promise<unknown>>();

export class TenantWindows {
  constructor(private readonly adapter: Adapter) {}

  /** Windows in use, read from the queues they hold (QCB_OWNER = TENANT_QUEUE_OWNER + window). */
  inUse(): Map<number, number> {
    const used = new Map<number, number>(); // window -> queue
    for (let q = 0; q < this.adapter.identity.queues; q++) {
      const owner = this.adapter.regs.read32(Bar.QUEUES + q * Qcb.STRIDE + Qcb.OWNER);
      if (owner >= Tenant.QUEUE_OWNER && owner < Tenant.QUEUE_OWNER + Tenant.MAX)
        used.set(owner - Tenant.QUEUE_OWNER, q);
    }
    return used;
  }

  /**
   * CMD_TENANT_OPEN (§18.3) on the first free window and free queue. The slices must carry
   * `ownerKey` (those of this adapter are checked by it; other adapters check every descriptor).
   */
  async open(ownerKey: bigint, grants: readonly WindowGrant[]): Promise<OpenedWindow> {
    if (grants.length === 0 || grants.length > Tenant.GRANT_MAX)
      throw new RaError(
        DriverCode.INVALID_ARGUMENT,
        `a tenant window names 1 to ${Tenant.GRANT_MAX} slices, not ${grants.length}`,
      );
    const previous = openingOn.get(this.adapter) ?? Promise.resolve();
    const mine = previous.then(() => this.openNow(ownerKey, grants));
    const settled = mine.catch(() => undefined);
    openingOn.set(this.adapter, settled);
    void settled.then(() => {
      if (openingOn.get(this.adapter) === settled) openingOn.delete(this.adapter);
    });
    return mine;
  }

  private async openNow(ownerKey: bigint, grants: readonly WindowGrant[]): Promise<OpenedWindow> {
    const used = this.inUse();
    const window = [...Array(Tenant.MAX).keys()].find((w) => !used.has(w));
    const queue = [...Array(this.adapter.identity.queues).keys()].find(
      (q) => this.adapter.regs.read32(Bar.QUEUES + q * Qcb.STRIDE + Qcb.OWNER) === 0,
    );
    if (window === undefined || queue === undefined)
      throw new RaError(
        DriverCode.NO_QUEUE,
        `${this.adapter.uri}: no free ${window === undefined ? 'tenant window' : 'queue'} for a tenant window; close one first`,
      );
    const nonce = randomBytes(Tenant.NONCE_BYTES);
    // before the command: an adapter that is no file of the embedded model gets no window at all
    const windowFile = windowPath(this.adapter, window, nonce);
    const data = Buffer.alloc(Tenant.NONCE_BYTES + grants.length * Tenant.GRANT_BYTES);
    nonce.copy(data, 0);
    grants.forEach((g, k) => {
      data.writeUInt32LE(g.port, Tenant.NONCE_BYTES + k * Tenant.GRANT_BYTES);
      data.writeUInt32LE(g.slice, Tenant.NONCE_BYTES + k * Tenant.GRANT_BYTES + 4);
    });
    // Write-ahead, as for slices: a crash after the command still finds the key to close it with.
    const keys = SliceKeyBook.windowsOf(this.adapter);
    const before = keys.get(window);
    keys.set(window, ownerKey);
    try {
      await this.adapter.command(Cmd.TENANT_OPEN, {
        args: [window, queue, ownerKey, grants.length],
        data,
        what: `opening tenant window ${window} on queue ${queue}`,
      });
    } catch (err) {
      keys.set(window, before);
      throw err;
    }
    return { window, queue, path: windowFile, memoryPrefix: `${windowFile}.m` };
  }

  /**
   * Every open window: its queue (QCB_OWNER), its key (the driver's book) and its file, found by its
   * name in the adapter's folder and its own TW_MAGIC, TW_STATE and TW_QUEUE (§18.1, §18.2).
   */
  list(): OpenWindow[] {
    const used = this.inUse();
    // No window open: nothing to find, and no directory read (reconciliation lists every adapter).
    if (used.size === 0) return [];
    const keys = SliceKeyBook.windowsOf(this.adapter);
    const files = windowFiles(this.adapter);
    return [...used]
      .sort(([a], [b]) => a - b)
      .map(([window, queue]) => {
        const file = files.get(window)?.find((f) => showsOpen(f, queue));
        return { window, queue, ownerKey: keys.get(window), ...(file ? { path: file } : {}) };
      });
  }

  /** CMD_TENANT_CLOSE: revoked when this resolves; a chain already forwarded has finished. */
  async close(window: number, ownerKey: bigint): Promise<void> {
    await this.adapter.command(Cmd.TENANT_CLOSE, {
      args: [window, 0, ownerKey],
      what: `closing tenant window ${window}`,
    });
    SliceKeyBook.windowsOf(this.adapter).clear(window);
  }
}

/** The embedded model's window files of this adapter by window index (none for other backends). */
function windowFiles(adapter: Adapter): Map<number, string[]> {
  const files = new Map<number, string[]>();
  const index = /^shm:\/\/.*ra(\d+)\.sock$/.exec(adapter.uri)?.[1];
  if (index === undefined) return files;
  const name = new RegExp(`^ra${index}\\.tw(\\d+)-[0-9a-f]{${2 * Tenant.NONCE_BYTES}}$`);
  for (const entry of readdirSync(adapter.directory)) {
    const m = name.exec(entry);
    if (!m) continue;
    const w = Number(m[1]);
    files.set(w, [...(files.get(w) ?? []), path.join(adapter.directory, entry)]);
  }
  return files;
}

/** Whether the window file is set up (TW_MAGIC), open, and feeds `queue` (§18.1). */
function showsOpen(file: string, queue: number): boolean {
  const head = Buffer.alloc(Tw.QUEUE + 4);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return false; // unlinked meanwhile: closed
  }
  try {
    if (readSync(fd, head, 0, head.length, 0) !== head.length) return false;
  } finally {
    closeSync(fd);
  }
  return (
    head.readUInt32LE(Tw.MAGIC) === Tw.MAGIC_VALUE &&
    head.readUInt32LE(Tw.STATE) === TwState.OPEN &&
    head.readUInt32LE(Tw.QUEUE) === queue
  );
}

/** DIR/ra<i>.tw<w>-<nonce hex> beside the adapter's socket (embedded mode, §18.2). */
function windowPath(adapter: Adapter, window: number, nonce: Uint8Array): string {
  const index = /ra(\d+)\.sock$/.exec(new URL(adapter.uri).pathname)?.[1];
  if (index === undefined)
    throw new RaError(
      DriverCode.INVALID_ARGUMENT,
      `${adapter.uri}: tenant windows are files of the embedded model; this adapter is not one`,
    );
  return path.join(adapter.directory, `ra${index}.tw${window}-${Buffer.from(nonce).toString('hex')}`);
}

// Tenant windows (ra-spec §18), the agent's side: open a window onto granted slices with one free
// queue, and close (revoke) it. The window's holder reaches the adapter through the window file only;
// it never gets the register file or an owner key.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { DriverCode } from '../common/codes.js';
import { RaError } from '../common/errors.js';
import type { Adapter } from './adapter.js';
import { Bar, Cmd, Qcb, Tenant } from './regs.js';

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
    await this.adapter.command(Cmd.TENANT_OPEN, {
      args: [window, queue, ownerKey, grants.length],
      data,
      what: `opening tenant window ${window} on queue ${queue}`,
    });
    return { window, queue, path: windowFile, memoryPrefix: `${windowFile}.m` };
  }

  /** CMD_TENANT_CLOSE: revoked when this resolves; a chain already forwarded has finished. */
  async close(window: number, ownerKey: bigint): Promise<void> {
    await this.adapter.command(Cmd.TENANT_CLOSE, {
      args: [window, 0, ownerKey],
      what: `closing tenant window ${window}`,
    });
  }
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

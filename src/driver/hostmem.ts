// Host buffers (ra-spec §11): memory of this process that the adapter's DMA engine may read and
// write. For the embedded backend a host buffer is a file in the adapter's folder, mapped here and
// registered with the adapter by name, as DMA-able memory is pinned and mapped for real hardware.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { DeviceCode, DriverCode } from '../common/codes.js';
import { RaError } from '../common/errors.js';
import type { Adapter } from './adapter.js';
import { addon, type NativeHostMapping } from './native.js';
import { Bar, Cmd, HostMem } from './regs.js';

const MAX_HOST_BUFFER_BYTES = 4 * 1024 ** 3;

export class HostBuffer {
  readonly bytes: Uint8Array;
  private closed = false;

  private constructor(
    private readonly adapter: Adapter,
    readonly handle: number,
    private readonly mapping: NativeHostMapping,
    private readonly file: string,
  ) {
    this.bytes = new Uint8Array(mapping.buffer);
  }

  get length(): number {
    return this.closed ? 0 : this.bytes.length;
  }

  /** Creates, maps and registers a buffer of `size` bytes (zero-filled). */
  static async create(adapter: Adapter, size: number): Promise<HostBuffer> {
    if (!Number.isSafeInteger(size) || size <= 0 || size > MAX_HOST_BUFFER_BYTES) {
      throw new RaError(DriverCode.INVALID_ARGUMENT, `host buffer size must be 1 byte to 4 GiB, got ${size}`);
    }
    const name = `host-${process.pid}-${randomBytes(6).toString('hex')}.buf`;
    const file = path.join(adapter.directory, name);
    const mapping = mapReserved(file, size);
    try {
      const handle = await registerFree(adapter, name, size);
      return new HostBuffer(adapter, handle, mapping, file);
    } catch (err) {
      mapping.close();
      rmSync(file, { force: true });
      throw err;
    }
  }

  /** Unregisters, unmaps and deletes the buffer. Closing twice is safe. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (!this.adapter.isClosed) {
        await this.adapter.command(Cmd.HOSTMEM_UNREGISTER, {
          args: [this.handle],
          what: `unregistering host buffer ${this.handle}`,
        });
      }
    } finally {
      this.mapping.close();
      rmSync(this.file, { force: true });
    }
  }
}

/**
 * Creates the buffer's file with every block reserved (posix_fallocate in the addon), then maps it.
 * A sparse file would map on a full file system and the first write would end the process with
 * SIGBUS; a reserved one fails here with NO_SPACE, and the addon leaves no file behind.
 */
function mapReserved(file: string, size: number): NativeHostMapping {
  try {
    return new (addon().HostMapping)(file, 0, size, true);
  } catch (err) {
    rmSync(file, { force: true });
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOSPC' || code === 'EDQUOT')
      throw new RaError(
        DriverCode.NO_SPACE,
        `no room for a ${size}-byte host buffer on the adapter's file system (${code}): free space there or use a smaller input`,
        { bytes: size },
      );
    throw new RaError(DeviceCode.HOSTMEM, `cannot create a host buffer: ${(err as Error).message}`);
  }
}

async function registerFree(adapter: Adapter, name: string, size: number): Promise<number> {
  const data = Buffer.from(`${name}\0`, 'latin1');
  for (let handle = 0; handle < adapter.identity.hostRegions; handle++) {
    if (adapter.regs.read32(Bar.HOSTMEM + handle * HostMem.STRIDE + HostMem.STATE) !== 0) continue;
    try {
      await adapter.command(Cmd.HOSTMEM_REGISTER, {
        args: [handle, size],
        data,
        what: `registering host buffer ${name}`,
      });
      return handle;
    } catch (err) {
      // Another client may have taken this handle between our read and the command: try the next.
      if ((err as RaError).code !== DeviceCode.HOSTMEM) throw err;
    }
  }
  throw new RaError(DeviceCode.HOSTMEM, `${adapter.uri}: every host region handle is in use`);
}

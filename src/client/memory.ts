// A granted memory slice mapped for load/store (CXL.mem semantics, ra-spec §18.7): in embedded mode
// the slice's own grant file, which the adapter truncates when it revokes the grant; inside a QEMU
// guest the slice's window of /dev/daxN.0 (driver MemoryMapping).
//
// After revocation every page of the mapping is gone. `read` and `write` notice it and throw
// GRANT_REVOKED; a load or store on `bytes` itself raises SIGBUS, which ends the process unless it
// handles that signal (docs/access.md, "Revocation").
import { addon, type NativeHostMapping } from '../driver/native.js';
import { ClientCode, RaError, revokedError } from './errors.js';

export class MappedSlice {
  /** The mapping itself: loads and stores at memory speed, and SIGBUS once the grant is revoked. */
  readonly bytes: Uint8Array;
  private closed = false;

  private constructor(
    readonly slice: number,
    private readonly mapping: NativeHostMapping,
  ) {
    this.bytes = new Uint8Array(mapping.buffer);
  }

  /** `memory` is the slice's grant file (embedded) or a `dax://` URI of the adapter's memory (QEMU guest). */
  static map(memory: string, slice: number, base: number, length: number): MappedSlice {
    if (!Number.isSafeInteger(base) || base < 0 || !Number.isSafeInteger(length) || length <= 0)
      throw new RaError(
        ClientCode.GRANT_INVALID,
        `slice ${slice}: base ${base} / length ${length} are not a placement`,
      );
    let m: NativeHostMapping;
    try {
      m = memory.startsWith('dax://')
        ? new (addon().MemoryMapping)(memory, base, length)
        : new (addon().HostMapping)(memory, base, length, false);
    } catch (err) {
      const message = (err as Error).message;
      // a revoked grant's file is unlinked, or (opened just before) truncated to 0
      if (/ENOENT|No such file|smaller than the mapping/.test(message))
        throw revokedError(`mapping slice ${slice} from ${memory}`);
      throw new RaError(ClientCode.GRANT_INVALID, `cannot map slice ${slice} of ${memory}: ${message}`);
    }
    return new MappedSlice(slice, m);
  }

  get length(): number {
    return this.bytes.length;
  }

  /** A copy of `bytes` bytes at `offset`; GRANT_REVOKED once the grant was revoked. */
  read(offset: number, bytes: number): Uint8Array {
    const out = new Uint8Array(bytes);
    this.copy(out, this.range(offset, bytes), 'reading');
    return out;
  }

  /** Stores `data` at `offset`; GRANT_REVOKED once the grant was revoked (nothing reaches the adapter). */
  write(offset: number, data: Uint8Array): void {
    this.copy(this.range(offset, data.length), data, 'writing');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.mapping.close();
  }

  private range(offset: number, bytes: number): Uint8Array {
    if (this.closed)
      throw new RaError(ClientCode.GRANT_INVALID, `slice ${this.slice}: the mapping was closed`);
    if (
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(bytes) ||
      offset < 0 ||
      bytes < 0 ||
      offset + bytes > this.length
    )
      throw new RaError(
        ClientCode.GRANT_INVALID,
        `slice ${this.slice}: ${bytes} bytes at ${offset} are not inside the ${this.length} bytes mapped`,
      );
    return this.bytes.subarray(offset, offset + bytes);
  }

  // the guard: a page that is gone fails the copy instead of the process (ra-spec §18.7)
  private copy(target: Uint8Array, source: Uint8Array, what: string): void {
    if (!addon().guardedCopy(target, source))
      throw revokedError(`${what} ${source.length} bytes of slice ${this.slice}`);
  }
}

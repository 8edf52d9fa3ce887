// A granted memory slice mapped for load/store (CXL.mem semantics, ra-spec §18.5): the embedded
// backend maps only the slice's window [base, base + length) of the adapter's memory file; inside a
// QEMU guest the same window of /dev/daxN.0 (driver MemoryMapping).
import { addon, type NativeHostMapping } from '../driver/native.js';
import { ClientCode, RaError } from './errors.js';

export class MappedSlice {
  readonly bytes: Uint8Array;
  private closed = false;

  private constructor(
    readonly slice: number,
    private readonly mapping: NativeHostMapping,
  ) {
    this.bytes = new Uint8Array(mapping.buffer);
  }

  /** `memory` is the adapter's memory: a file path (embedded) or a `dax://` URI (QEMU guest). */
  static map(memory: string, slice: number, base: number, length: number): MappedSlice {
    if (!Number.isSafeInteger(base) || base < 0 || !Number.isSafeInteger(length) || length <= 0)
      throw new RaError(
        ClientCode.GRANT_INVALID,
        `slice ${slice}: base ${base} / length ${length} are not a placement`,
      );
    try {
      const m = memory.startsWith('dax://')
        ? new (addon().MemoryMapping)(memory, base, length)
        : new (addon().HostMapping)(memory, base, length, false);
      return new MappedSlice(slice, m);
    } catch (err) {
      throw new RaError(
        ClientCode.GRANT_INVALID,
        `cannot map slice ${slice} of ${memory}: ${(err as Error).message}`,
      );
    }
  }

  get length(): number {
    return this.bytes.length;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.mapping.close();
  }
}

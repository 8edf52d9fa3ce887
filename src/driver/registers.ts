// The one place registers are read and written (ra-spec §2.2).
//
// Every access is an Atomics operation of exactly the register's width on a typed array over the
// mapped BAR: one 32-bit or 64-bit load/store, never split, never merged, and sequentially
// consistent, so "write the arguments, then the sequence register last" (§5, §8) holds as the
// adapter sees it. Plain typed-array stores would be neither (they may be combined or widened);
// a native call per access would cost 57-174x the C access, against 1.2-1.7x for Atomics (measured between
// two processes on the machines this project runs on).
export class RegisterFile {
  readonly u32: Uint32Array;
  readonly u64: BigUint64Array;
  readonly bytes: Uint8Array;

  constructor(readonly buffer: ArrayBuffer) {
    this.u32 = new Uint32Array(buffer);
    this.u64 = new BigUint64Array(buffer);
    this.bytes = new Uint8Array(buffer);
  }

  read32(offset: number): number {
    return Atomics.load(this.u32, offset >>> 2);
  }

  write32(offset: number, value: number): void {
    Atomics.store(this.u32, offset >>> 2, value >>> 0);
  }

  read64(offset: number): bigint {
    return Atomics.load(this.u64, offset >>> 3);
  }

  write64(offset: number, value: bigint): void {
    Atomics.store(this.u64, offset >>> 3, BigInt.asUintN(64, value));
  }

  /** A 64-bit register that holds a count or size below 2^53. */
  readNumber(offset: number): number {
    return Number(this.read64(offset));
  }

  /** Compare-and-swap on a 32-bit register; returns the value found. */
  compareExchange32(offset: number, expected: number, value: number): number {
    return Atomics.compareExchange(this.u32, offset >>> 2, expected >>> 0, value >>> 0);
  }

  /** Copy of a byte field (image hashes, names): bytes are not registers, so no Atomics. */
  readBytes(offset: number, length: number): Uint8Array {
    return this.bytes.slice(offset, offset + length);
  }

  writeBytes(offset: number, data: Uint8Array): void {
    this.bytes.set(data, offset);
  }
}

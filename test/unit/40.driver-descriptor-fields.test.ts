// The driver's descriptor encoder cuts the fill byte and the location fields to their widths
// (ra-spec §8.2, §8.3). A value wider than its field must be refused, not cut: cut, it would fill
// with another byte or address another port or slice.
import { describe, expect, it } from 'vitest';
import { type Descriptor, encodeDescriptor } from '../../src/driver/dma.js';
import { Desc } from '../../src/driver/regs.js';

const encode = (d: Descriptor) => encodeDescriptor(new DataView(new ArrayBuffer(Desc.BYTES)), 0, d, 1, false);
const invalid = expect.objectContaining({ code: 'INVALID_ARGUMENT' });
const fill = (value: number, dst: Descriptor['dst'] = { adapter: 0, slice: 1 }): Descriptor => ({
  op: 'fill',
  ownerKey: 1n,
  dst,
  dstOffset: 0,
  bytes: 16,
  value,
});

describe('driver descriptor fields', () => {
  it('encodes a fill of every byte value and the widest port and slice', () => {
    for (const value of [0, 1, 0x7f, 0xff]) expect(() => encode(fill(value))).not.toThrow();
    expect(() => encode(fill(0, { adapter: 0xfff, slice: 0xffff }))).not.toThrow();
    expect(() => encode(fill(0, { host: 0xfff }))).not.toThrow();
  });

  it('refuses a fill value that is no byte', () => {
    for (const value of [256, -1, 0.5, Number.NaN, 0x1ff]) expect(() => encode(fill(value))).toThrow(invalid);
  });

  it('refuses a port or slice wider than its location field', () => {
    expect(() => encode(fill(0, { adapter: 0x1000, slice: 0 }))).toThrow(invalid);
    expect(() => encode(fill(0, { adapter: 0, slice: 0x10000 }))).toThrow(invalid);
    expect(() => encode(fill(0, { host: 0x1000 }))).toThrow(invalid);
    expect(() => encode(fill(0, { adapter: -1, slice: 0 }))).toThrow(invalid);
    const copy: Descriptor = {
      op: 'copy',
      ownerKey: 1n,
      dst: { adapter: 0, slice: 1 },
      dstOffset: 0,
      src: { adapter: 0, slice: 0x10001 },
      srcOffset: 0,
      bytes: 16,
    };
    expect(() => encode(copy)).toThrow(invalid);
  });
});

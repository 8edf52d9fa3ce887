// The driver's own copy of owner keys (src/driver/slice-keys.ts) for an adapter reached over PCI or
// VFIO, whose URI (pci://BDF) is no URL: the QEMU guests' agents failed every Program with
// "Invalid URL" when the book's path was taken from new URL(uri).
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Adapter } from '../../src/driver/adapter.js';
import { SliceKeyBook } from '../../src/driver/slice-keys.js';

describe('slice key book', () => {
  it.each(['pci', 'vfio'])('keeps keys for a %s:// adapter (no socket folder) and wipes them', (scheme) => {
    const bdf = `00${randomBytes(1).toString('hex')}:00:03.0`;
    const adapter = { uri: `${scheme}://${bdf}` } as Adapter;
    const book = SliceKeyBook.of(adapter);
    expect(book.get(7)).toBe(0n);
    book.set(7, 0x1234_5678_9abc_def1n);
    expect(SliceKeyBook.of(adapter).get(7)).toBe(0x1234_5678_9abc_def1n);
    book.clear(7);
    expect(book.get(7)).toBe(0n);
  });
});

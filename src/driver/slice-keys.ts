// The driver's own copy of the owner keys it programs (ra-spec §10: SLICE_OWNER_KEY is write-only and
// reads 0 on every view of the register file). One file per adapter, RA_SLICE_MAX × 8 bytes, entry i
// at 8 i, mode 0600: beside the embedded model's socket (`ra<i>.keys`), or under the OS temporary
// folder (or RAFABRIC_KEYS_DIR) for an adapter reached over PCI/VFIO. A file and not memory, so that an agent that restarts
// still knows which key holds which slice (reconciliation attributes slices by key), and so that
// every process of the driver on one machine sees the same copy.
//
// A key is written before CMD_SLICE_RESERVE or CMD_SLICE_PROGRAM (write-ahead: a crash after the
// command still finds the key) and restored when the command fails; it is wiped when the slice is
// released. The file stays mapped (MAP_SHARED) while the adapter is open: a key is an aligned 8-byte
// store into the file's pages, visible at once to every process that maps or reads the file and kept
// by the page cache when this process dies, as a pwrite was, without a system call per access (three
// per allocate+free: they cost the GRM more CPU than planning). Nothing is copied into memory of ours.
//
// Tenant windows (§18) keep their keys the same way in a second book (`ra<i>.wkeys`, entry = window):
// CMD_TENANT_CLOSE needs the window's key, and reconciliation closes a window whose allocation is gone
// (its key then lives nowhere else).
import { closeSync, constants, existsSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Adapter } from './adapter.js';
import { addon, type NativeHostMapping } from './native.js';
import { Slice, Tenant } from './regs.js';

const KEY_BYTES = 8;
/** Entries a book holds: a slice table's (ra-spec §5), more than the tenant windows (§18). */
const ENTRIES = Math.max(Slice.MAX, Tenant.MAX);

function bookPath(adapter: Adapter, suffix: 'keys' | 'wkeys'): string {
  // Not `new URL`: a PCI or VFIO adapter's URI (pci://0000:00:03.0) is no valid URL (its host).
  const socket = /^shm:\/\/.*ra(\d+)\.sock$/.exec(adapter.uri);
  if (socket) return path.join(adapter.directory, `ra${socket[1]}.${suffix}`);
  // RAFABRIC_KEYS_DIR: where the book must outlive this machine's temporary folder. A QEMU guest's is
  // in its initramfs and gone at a reboot, while the adapter (the model on the host) keeps its slices:
  // `serve --qemu` points it at the VM's folder in the read-write share (src/modes/qemu/pool.ts).
  const dir = process.env.RAFABRIC_KEYS_DIR ?? path.join(os.tmpdir(), 'rafabric-keys');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return path.join(dir, `${adapter.uri.replace(/[^A-Za-z0-9.-]/g, '_')}.${suffix}`);
}

/** One book of each kind per open adapter: its file stays mapped, so a key change is one store into its pages. */
const books = { keys: new WeakMap<Adapter, SliceKeyBook>(), wkeys: new WeakMap<Adapter, SliceKeyBook>() };

export class SliceKeyBook {
  private mapping: NativeHostMapping | undefined;
  private keys: BigUint64Array | undefined;
  /**
   * Where the file system cannot map the file shared and writable (9p without a page cache: the
   * read-write share that holds a QEMU guest's book, RAFABRIC_KEYS_DIR): one pread/pwrite per key.
   */
  private fd: number | undefined;
  private readonly buf = Buffer.alloc(KEY_BYTES);

  private constructor(private readonly file: string) {}

  private static bookOf(adapter: Adapter, suffix: keyof typeof books): SliceKeyBook {
    let book = books[suffix].get(adapter);
    if (!book) {
      book = new SliceKeyBook(bookPath(adapter, suffix));
      books[suffix].set(adapter, book);
    }
    return book;
  }

  static of(adapter: Adapter): SliceKeyBook {
    return SliceKeyBook.bookOf(adapter, 'keys');
  }

  /** The book of the adapter's tenant windows' keys (entry = window index, ra-spec §18). */
  static windowsOf(adapter: Adapter): SliceKeyBook {
    return SliceKeyBook.bookOf(adapter, 'wkeys');
  }

  /** Closes the adapter's book files (the adapter is being closed); a later use opens them again. */
  static closeFor(adapter: Adapter): void {
    for (const open of Object.values(books)) {
      open.get(adapter)?.close();
      open.delete(adapter);
    }
  }

  /** The key last programmed into `entry` by this driver, 0n when none is known. */
  get(entry: number): bigint {
    checkEntry(entry);
    // nothing programmed through this driver on this machine yet: no file, and none made by a read
    if (!this.keys && this.fd === undefined && !existsSync(this.file)) return 0n;
    // Every read goes to the file's pages, not to a cache: other processes of the driver write it too.
    const keys = this.open();
    if (keys) return Atomics.load(keys, entry);
    const n = readSync(this.fd as number, this.buf, 0, KEY_BYTES, entry * KEY_BYTES);
    return n === KEY_BYTES ? this.buf.readBigUInt64LE(0) : 0n;
  }

  /** Written through to the file before returning (write-ahead for the command that follows). */
  set(entry: number, key: bigint): void {
    checkEntry(entry);
    const keys = this.open();
    if (keys) {
      Atomics.store(keys, entry, BigInt.asUintN(64, key));
      return;
    }
    this.buf.writeBigUInt64LE(BigInt.asUintN(64, key));
    writeSync(this.fd as number, this.buf, 0, KEY_BYTES, entry * KEY_BYTES);
  }

  clear(entry: number): void {
    this.set(entry, 0n);
  }

  /**
   * The file mapped whole, created (mode 0600) if missing; undefined when it is open for pread/pwrite
   * instead (its file system refused the mapping). A file a pwrite-era driver grew only as far as its
   * highest entry is extended with zeros: the entries past its end read 0 either way.
   */
  private open(): BigUint64Array | undefined {
    if (this.keys || this.fd !== undefined) return this.keys;
    try {
      this.mapping = new (addon().HostMapping)(this.file, 0, ENTRIES * KEY_BYTES, true);
      // native byte order: little-endian on every platform the addon builds for, as the file is
      this.keys = new BigUint64Array(this.mapping.buffer, 0, ENTRIES);
    } catch {
      this.fd = openSync(this.file, constants.O_RDWR | constants.O_CREAT, 0o600);
    }
    return this.keys;
  }

  private close(): void {
    this.keys = undefined;
    this.mapping?.close();
    this.mapping = undefined;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

function checkEntry(entry: number): void {
  if (!Number.isInteger(entry) || entry < 0 || entry >= ENTRIES)
    throw new RangeError(`key book entry ${entry} is out of range (0 to ${ENTRIES - 1})`);
}

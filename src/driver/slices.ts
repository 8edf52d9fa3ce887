// Slice table (ra-spec §10): read entries and their utilization counters, and program slices
// through the admin mailbox (free -> reserved -> active -> draining -> free).

import { DeviceCode, DriverCode } from '../common/codes.js';
import { RaError } from '../common/errors.js';
import { randomOwnerKey } from '../common/owner-key.js';
import type { Adapter } from './adapter.js';
import { Bar, Cmd, Release, Slice, SliceKind, SliceState } from './regs.js';
import { SliceKeyBook } from './slice-keys.js';

export type SliceKindName = 'memory' | 'compute' | 'context';
export type SliceStateName = 'free' | 'reserved' | 'active' | 'draining';

export const sliceKinds: Record<SliceKindName, number> = {
  memory: SliceKind.MEMORY,
  compute: SliceKind.COMPUTE,
  context: SliceKind.CONTEXT,
};
const kindNames = new Map<number, SliceKindName>(
  Object.entries(sliceKinds).map(([k, v]) => [v, k as SliceKindName]),
);
const stateNames: Record<number, SliceStateName> = {
  [SliceState.FREE]: 'free',
  [SliceState.RESERVED]: 'reserved',
  [SliceState.ACTIVE]: 'active',
  [SliceState.DRAINING]: 'draining',
};

export interface SliceInfo {
  entry: number;
  state: SliceStateName;
  kind: SliceKindName | 'none';
  ownerKey: bigint;
  /** memory: byte offset; compute: first unit; context: first context (slot in `slot`). */
  base: number;
  /** memory: bytes; compute: units; context: contexts. */
  length: number;
  slot?: number;
  bytesMoved: number;
  busyNs: number;
  jobs: number;
  lastActiveNs: number;
}

export interface SlicePlacement {
  kind: SliceKindName;
  ownerKey: bigint;
  base: number;
  length: number;
  /** context slices only */
  slot?: number;
}

export { randomOwnerKey };

/** Adapters that answered CMD_SLICE_PROGRAM with BAD_OPCODE (a model older than the command). */
const lacksProgram = new WeakSet<Adapter>();

export class Slices {
  constructor(private readonly adapter: Adapter) {}

  offset(entry: number): number {
    return Bar.SLICES + entry * Slice.STRIDE;
  }

  read(entry: number): SliceInfo {
    this.check(entry);
    const r = this.adapter.regs;
    const o = this.offset(entry);
    const kind = kindNames.get(r.read32(o + Slice.KIND)) ?? 'none';
    const rawBase = r.readNumber(o + Slice.BASE);
    const state = stateNames[r.read32(o + Slice.STATE)] ?? 'free';
    const info: SliceInfo = {
      entry,
      state,
      kind,
      // §10: SLICE_OWNER_KEY reads 0; the key is the driver's own copy (slice-keys.ts)
      ownerKey: state === 'free' ? 0n : SliceKeyBook.of(this.adapter).get(entry),
      base: kind === 'context' ? rawBase % 2 ** Slice.CTX_SLOT_SHIFT : rawBase,
      length: r.readNumber(o + Slice.LENGTH),
      bytesMoved: r.readNumber(o + Slice.BYTES_MOVED),
      busyNs: r.readNumber(o + Slice.BUSY_NS),
      jobs: r.readNumber(o + Slice.JOBS),
      lastActiveNs: r.readNumber(o + Slice.LAST_ACTIVE_NS),
    };
    if (kind === 'context') info.slot = Math.floor(rawBase / 2 ** Slice.CTX_SLOT_SHIFT);
    return info;
  }

  list(): SliceInfo[] {
    return Array.from({ length: this.adapter.identity.slices }, (_, i) => this.read(i));
  }

  /** Entries in any state but free (only their state word is read for the free ones). */
  inUse(): SliceInfo[] {
    const r = this.adapter.regs;
    const out: SliceInfo[] = [];
    for (let i = 0; i < this.adapter.identity.slices; i++)
      if (r.read32(this.offset(i) + Slice.STATE) !== SliceState.FREE) out.push(this.read(i));
    return out;
  }

  /** Lowest free entry, or undefined when the table is full. */
  freeEntry(exclude: ReadonlySet<number> = new Set()): number | undefined {
    for (let i = 0; i < this.adapter.identity.slices; i++) {
      if (!exclude.has(i) && this.adapter.regs.read32(this.offset(i) + Slice.STATE) === SliceState.FREE)
        return i;
    }
    return undefined;
  }

  async reserve(entry: number, p: SlicePlacement): Promise<void> {
    await this.place(Cmd.SLICE_RESERVE, entry, p, 'reserving');
  }

  async activate(entry: number, ownerKey: bigint): Promise<void> {
    await this.keyed(Cmd.SLICE_ACTIVATE, entry, ownerKey, 'activating');
  }

  async drain(entry: number, ownerKey: bigint): Promise<void> {
    await this.keyed(Cmd.SLICE_DRAIN, entry, ownerKey, 'draining');
  }

  /**
   * Frees the slice; the adapter scrubs its memory and wipes its engine key first. keepContents
   * skips the scrub: only for debug tools that borrow raw memory (ra-spec §5, RELEASE_F_KEEP).
   */
  async release(entry: number, ownerKey: bigint, { keepContents = false } = {}): Promise<void> {
    this.check(entry);
    await this.adapter.command(Cmd.SLICE_RELEASE, {
      args: [entry, keepContents ? Release.F_KEEP : 0, ownerKey],
      what: `releasing slice ${entry}`,
    });
    SliceKeyBook.of(this.adapter).clear(entry);
  }

  async resize(entry: number, ownerKey: bigint, length: number): Promise<void> {
    this.check(entry);
    await this.adapter.command(Cmd.SLICE_RESIZE, {
      args: [entry, 0, ownerKey, 0, length],
      what: `resizing slice ${entry} to ${length}`,
    });
  }

  /** Sets the 32-byte engine key of a context slice; the adapter never exposes it again. */
  async setKey(entry: number, ownerKey: bigint, key: Uint8Array): Promise<void> {
    this.check(entry);
    if (key.length !== 32)
      throw new RaError(DriverCode.INVALID_ARGUMENT, `engine keys are 32 bytes, got ${key.length}`);
    await this.adapter.command(Cmd.SLICE_SET_KEY, {
      args: [entry, 0, ownerKey],
      data: key,
      what: `setting the key of slice ${entry}`,
    });
  }

  /**
   * Reserve + activate in a free entry, as one admin command (ra-spec §5.4 CMD_SLICE_PROGRAM: one
   * mailbox round trip instead of two); returns the entry. An adapter that predates the command
   * answers BAD_OPCODE, having changed nothing (§5.2): then the two commands it replaces.
   */
  async program(p: SlicePlacement, entry = this.freeEntry()): Promise<number> {
    if (entry === undefined)
      throw new RaError(DeviceCode.NO_RESOURCE, `${this.adapter.uri}: slice table is full`);
    if (!lacksProgram.has(this.adapter)) {
      try {
        await this.place(Cmd.SLICE_PROGRAM, entry, p, 'programming');
        return entry;
      } catch (err) {
        if (!(err instanceof RaError) || err.code !== DeviceCode.BAD_OPCODE) throw err;
        lacksProgram.add(this.adapter);
      }
    }
    await this.reserve(entry, p);
    try {
      await this.activate(entry, p.ownerKey);
    } catch (err) {
      await this.release(entry, p.ownerKey).catch(() => undefined);
      throw err;
    }
    return entry;
  }

  /** RESERVE or PROGRAM (same arguments, ra-spec §5.3) of placement `p` in `entry`. */
  private async place(opcode: number, entry: number, p: SlicePlacement, verb: string): Promise<void> {
    this.check(entry);
    const base = p.kind === 'context' ? (p.slot ?? 0) * 2 ** Slice.CTX_SLOT_SHIFT + p.base : p.base;
    // the key is write-only on the adapter (§10): keep our copy first, so a crash after the command
    // still knows it; a refused command puts the previous copy back
    const keys = SliceKeyBook.of(this.adapter);
    const previous = keys.get(entry);
    keys.set(entry, p.ownerKey);
    try {
      await this.adapter.command(opcode, {
        args: [entry, sliceKinds[p.kind], p.ownerKey, base, p.length],
        what: `${verb} slice ${entry} (${p.kind} ${p.base}+${p.length})`,
      });
    } catch (err) {
      keys.set(entry, previous);
      throw err;
    }
  }

  private async keyed(opcode: number, entry: number, ownerKey: bigint, verb: string): Promise<void> {
    this.check(entry);
    await this.adapter.command(opcode, { args: [entry, 0, ownerKey], what: `${verb} slice ${entry}` });
  }

  private check(entry: number): void {
    if (!Number.isInteger(entry) || entry < 0 || entry >= this.adapter.identity.slices) {
      throw new RaError(
        DriverCode.INVALID_ARGUMENT,
        `slice ${entry} does not exist (adapter has ${this.adapter.identity.slices})`,
      );
    }
  }
}

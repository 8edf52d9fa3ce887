// Slot table (ra-spec §9) and bitstream loading through the staging window.
import type { Adapter } from './adapter.js';
import { DriverCode, RaError } from './errors.js';
import { functionName } from './functions.js';
import { Bar, Cmd, Load, Slot, SlotState } from './regs.js';

export type SlotStateName = 'empty' | 'loading' | 'ready' | 'busy' | 'error';
const stateNames: Record<number, SlotStateName> = {
  [SlotState.EMPTY]: 'empty',
  [SlotState.LOADING]: 'loading',
  [SlotState.READY]: 'ready',
  [SlotState.BUSY]: 'busy',
  [SlotState.ERROR]: 'error',
};

export interface SlotInfo {
  index: number;
  state: SlotStateName;
  function: string | undefined;
  imageHash: string;
  imageName: string;
  imageVersion: number;
  imageBytes: number;
  contexts: number;
  contextsUsed: number;
  lastError: number;
  loadPermille: number;
  loads: number;
}

export interface LoadOptions {
  force?: boolean;
  /** Called with 0..1000 while the slot configures. */
  onProgress?: (permille: number) => void;
}

const PROGRESS_POLL_MS = 20;

export class Slots {
  constructor(private readonly adapter: Adapter) {}

  offset(index: number): number {
    return Bar.SLOTS + index * Slot.STRIDE;
  }

  read(index: number): SlotInfo {
    this.check(index);
    const r = this.adapter.regs;
    const base = this.offset(index);
    const name = Buffer.from(r.readBytes(base + Slot.IMAGE_NAME, 24))
      .toString('latin1')
      .replace(/\0+$/, '');
    return {
      index,
      state: stateNames[r.read32(base + Slot.STATE)] ?? 'error',
      function: functionName(r.read32(base + Slot.FUNCTION)),
      imageHash: Buffer.from(r.readBytes(base + Slot.IMAGE_HASH, 32)).toString('hex'),
      imageName: name,
      imageVersion: r.read32(base + Slot.IMAGE_VERSION),
      imageBytes: r.readNumber(base + Slot.IMAGE_BYTES),
      contexts: r.read32(base + Slot.CONTEXTS),
      contextsUsed: r.read32(base + Slot.CONTEXTS_USED),
      lastError: r.read32(base + Slot.LAST_ERROR),
      loadPermille: r.read32(base + Slot.LOAD_PERMILLE),
      loads: r.read32(base + Slot.LOADS),
    };
  }

  list(): SlotInfo[] {
    return Array.from({ length: this.adapter.identity.slots }, (_, i) => this.read(i));
  }

  /** The raw bytes of a slot's registers: used to prove a refused load changed nothing. */
  snapshot(index: number): Buffer {
    this.check(index);
    return Buffer.from(this.adapter.regs.readBytes(this.offset(index), Slot.STRIDE));
  }

  /**
   * Loads an image (header + payload, ra-spec §13) from the staging window. The adapter verifies
   * it; a refused image leaves the slot exactly as it was. Resolves when the slot is ready.
   */
  async load(
    index: number,
    image: Uint8Array,
    { force = false, onProgress }: LoadOptions = {},
  ): Promise<SlotInfo> {
    this.check(index);
    const a = this.adapter;
    if (image.length > a.identity.stagingBytes) {
      // refused here, before the command is queued, rather than under the lock
      throw new RaError(
        DriverCode.INVALID_ARGUMENT,
        `image of ${image.length} bytes exceeds the ${a.identity.stagingBytes}-byte staging window`,
      );
    }
    const seconds = image.length / Math.max(1, a.identity.configBytesPerSec);
    const timeoutMs = 10_000 + seconds * 2000;
    let progress: NodeJS.Timeout | undefined;
    if (onProgress) {
      progress = setInterval(
        () => onProgress(this.adapter.regs.read32(this.offset(index) + Slot.LOAD_PERMILLE)),
        PROGRESS_POLL_MS,
      );
    }
    try {
      await a.command(Cmd.SLOT_LOAD, {
        args: [index, Load.SRC_STAGING, image.length, force ? Load.FLAG_FORCE : 0, 0, 0],
        timeoutMs,
        what: `loading slot ${index}`,
        // the staging window belongs to the lock holder (ra-spec §17.5): fill it under the lock
        beforePost: () => a.writeStaging(image),
      });
    } finally {
      if (progress) clearInterval(progress);
    }
    onProgress?.(1000);
    return this.read(index);
  }

  async unload(index: number, { force = false } = {}): Promise<void> {
    this.check(index);
    await this.adapter.command(Cmd.SLOT_UNLOAD, {
      args: [index, 0, 0, force ? Load.FLAG_FORCE : 0],
      what: `unloading slot ${index}`,
    });
  }

  /** First slot that holds `name` ready for use, if any. */
  find(name: string): SlotInfo | undefined {
    return this.list().find((s) => s.function === name && (s.state === 'ready' || s.state === 'busy'));
  }

  private check(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.adapter.identity.slots) {
      throw new RaError(
        DriverCode.INVALID_ARGUMENT,
        `slot ${index} does not exist (adapter has ${this.adapter.identity.slots})`,
      );
    }
  }
}

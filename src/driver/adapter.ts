// An RA opened by URI: identity and capabilities (ra-spec §3), status (§4), the admin mailbox
// (§5), fault injection (§6) and the slot and slice tables through Slots and Slices.
import path from 'node:path';
import { DriverCode, deviceError, RaError } from './errors.js';
import { HeartbeatMonitor } from './heartbeat.js';
import { addon, type NativeDevice } from './native.js';
import { RegisterFile } from './registers.js';
import { Bar, Cmd, Err, Id, Reg, Status, Vec } from './regs.js';
import { SliceKeyBook } from './slice-keys.js';
import { InterruptWaiter } from './waiter.js';

const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;
const LOCK_TIMEOUT_MS = 10_000;

export interface AdapterIdentity {
  uri: string;
  specVersion: string;
  deviceId: number;
  fabricId: number;
  fabricPorts: number;
  serial: string;
  memoryBytes: number;
  slots: number;
  slotBytes: number;
  computeUnits: number;
  contextsPerEngine: number;
  slices: number;
  queues: number;
  ringDepth: number;
  hostRegions: number;
  stagingBytes: number;
  functions: number;
  memoryAlignBytes: number;
  configBytesPerSec: number;
  maxTransferBytes: number;
}

export interface AdapterStatus {
  ready: boolean;
  halted: boolean;
  fatal: boolean;
  lastError: string;
  heartbeat: number;
  /** ms since the heartbeat last moved (HeartbeatMonitor; hung above HEARTBEAT_HUNG_MS). */
  heartbeatAgeMs: number;
  clockNs: number;
  interrupts: number;
}

export interface CommandArgs {
  args?: readonly (bigint | number)[];
  data?: Uint8Array;
  timeoutMs?: number;
  what?: string;
  /** Runs while holding the lock, before the arguments are written (e.g. filling the staging window). */
  beforePost?: () => void;
}

export interface CommandResult {
  result0: bigint;
  result1: bigint;
}

export class Adapter {
  readonly regs: RegisterFile;
  readonly identity: AdapterIdentity;
  readonly waiter: InterruptWaiter;
  readonly heartbeat: HeartbeatMonitor;
  private queueTail: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly uri: string,
    private readonly device: NativeDevice,
  ) {
    this.regs = new RegisterFile(device.bar);
    this.identity = readIdentity(this.regs, uri);
    this.waiter = new InterruptWaiter(device, this.regs, uri);
    this.heartbeat = new HeartbeatMonitor(() => this.regs.read64(Reg.HEARTBEAT));
    this.heartbeat.start();
    device.watchGone(() => this.waiter.markGone('the adapter closed its connection (device model exited?)'));
  }

  /**
   * Opens an adapter by URI: `shm:///dir/raN.sock` (the embedded model's socket), or inside a QEMU
   * guest `pci://0000:00:03.0` (sysfs, polled) or `vfio://0000:00:03.0` (VFIO, MSI-X), ra-spec §14.3.
   */
  static open(uri: string): Adapter {
    if (typeof uri !== 'string' || !/^[a-z]+:\/\/\S+$/.test(uri)) {
      throw new RaError(
        DriverCode.INVALID_ARGUMENT,
        `adapter URI '${uri}' is malformed: use shm:///path/to/ra0.sock, pci://0000:00:03.0 or vfio://0000:00:03.0`,
      );
    }
    let device: NativeDevice;
    try {
      device = new (addon().Device)(uri);
    } catch (err) {
      throw new RaError(DriverCode.OPEN_FAILED, `cannot open ${uri}: ${(err as Error).message}`);
    }
    return new Adapter(uri, device);
  }

  get peerId(): number {
    return this.device.peerId;
  }

  /** Folder beside the adapter's socket, where host buffers for the embedded backend live. */
  get directory(): string {
    return path.dirname(new URL(this.uri).pathname);
  }

  status(): AdapterStatus {
    this.assertOpen();
    const bits = this.regs.read32(Reg.STATUS);
    const err = this.regs.read32(Reg.ERROR);
    return {
      ready: (bits & Status.READY) !== 0,
      halted: (bits & Status.HALTED) !== 0,
      fatal: (bits & Status.FATAL) !== 0,
      lastError: err === Err.OK ? 'OK' : deviceError(err, '').code,
      heartbeat: this.regs.readNumber(Reg.HEARTBEAT),
      heartbeatAgeMs: this.heartbeat.ageMs(),
      clockNs: this.regs.readNumber(Reg.CLOCK_NS),
      interrupts: this.regs.read32(Reg.INT_COUNT),
    };
  }

  /** Rings doorbell `vector` (ra-spec §14). */
  ring(vector: number): void {
    this.assertOpen();
    this.device.ring(vector);
  }

  /**
   * Runs one admin command (ra-spec §5, §17): claim CMD_LOCK, write arguments and data, write
   * CMD_SEQ last, ring vector 0, wait for CMD_DONE_SEQ, read status and results, release the lock.
   * Commands from this process are serialised; other clients are kept out by the lock.
   */
  command(
    opcode: number,
    { args = [], data, timeoutMs = DEFAULT_COMMAND_TIMEOUT_MS, what, beforePost }: CommandArgs = {},
  ): Promise<CommandResult> {
    const run = this.queueTail.then(() =>
      this.runCommand(opcode, args, data, timeoutMs, what ?? `command 0x${opcode.toString(16)}`, beforePost),
    );
    this.queueTail = run.catch(() => undefined);
    return run;
  }

  private async runCommand(
    opcode: number,
    args: readonly (bigint | number)[],
    data: Uint8Array | undefined,
    timeoutMs: number,
    what: string,
    beforePost: (() => void) | undefined,
  ): Promise<CommandResult> {
    this.assertOpen();
    if (args.length > 6) throw new RaError(DriverCode.INVALID_ARGUMENT, `${what}: at most 6 arguments`);
    if (data && data.length > 256)
      throw new RaError(DriverCode.INVALID_ARGUMENT, `${what}: at most 256 data bytes`);
    await this.acquireLock(what);
    const r = this.regs;
    let done = false;
    try {
      // §17.2: the previous command (ours, if it timed out) must be finished before a new one is posted.
      await this.waiter.until(
        Vec.ADMIN,
        () => r.read32(Reg.CMD_DONE_SEQ) === r.read32(Reg.CMD_SEQ),
        timeoutMs,
        `${what}: the previous command to finish`,
      );
      beforePost?.(); // e.g. the staging window, which belongs to the lock holder (§17.5)
      for (let i = 0; i < 6; i++) r.write64(Reg.CMD_ARG0 + 8 * i, BigInt(args[i] ?? 0));
      if (data) r.writeBytes(Reg.CMD_DATA, data);
      r.write32(Reg.CMD_DATA_BYTES, data?.length ?? 0);
      r.write32(Reg.CMD_OPCODE, opcode);
      const seq = (r.read32(Reg.CMD_SEQ) + 1) >>> 0;
      r.write32(Reg.CMD_SEQ, seq); // posted: everything above is visible before this store
      this.device.ring(Vec.ADMIN);
      await this.waiter.until(Vec.ADMIN, () => r.read32(Reg.CMD_DONE_SEQ) === seq, timeoutMs, what);
      done = true;
      const status = r.read32(Reg.CMD_STATUS);
      if (status !== Err.OK) throw deviceError(status, what);
      return { result0: r.read64(Reg.CMD_RESULT0), result1: r.read64(Reg.CMD_RESULT1) };
    } finally {
      // A command that did not finish keeps the lock: releasing it would let another client post
      // over a command the adapter is still executing. The next command of ours waits for it above;
      // the adapter frees the lock itself when this client disconnects.
      if (done && !this.closed) this.regs.compareExchange32(Reg.CMD_LOCK, this.peerId + 1, 0);
    }
  }

  private async acquireLock(what: string): Promise<void> {
    const started = Date.now();
    let delayMs = 0.1;
    const mine = this.peerId + 1;
    for (;;) {
      const holder = this.regs.compareExchange32(Reg.CMD_LOCK, 0, mine);
      // Commands of this process are serialised, so a lock we already hold is one a timed-out
      // command of ours kept: we may go on (and wait for that command first).
      if (holder === 0 || holder === mine) return;
      if (this.waiter.gone) throw this.waiter.gone;
      if (Date.now() - started > LOCK_TIMEOUT_MS) {
        throw new RaError(
          DriverCode.LOCK_TIMEOUT,
          `${what}: admin mailbox held by peer ${holder - 1} for over ${LOCK_TIMEOUT_MS} ms`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      delayMs = Math.min(delayMs * 2, 20);
    }
  }

  /** Writes the fault-injection register and rings the admin doorbell (ra-spec §6). */
  injectFault(fault: number, arg = 0): void {
    this.assertOpen();
    this.regs.write32(Reg.DEBUG_FAULT_ARG, arg);
    this.regs.write32(Reg.DEBUG_FAULT, fault);
    this.device.ring(Vec.ADMIN);
  }

  /** Copies an image into the staging window (ra-spec §2, §9). */
  writeStaging(image: Uint8Array): void {
    this.assertOpen();
    if (image.length > this.identity.stagingBytes) {
      throw new RaError(
        DriverCode.INVALID_ARGUMENT,
        `image of ${image.length} bytes exceeds the ${this.identity.stagingBytes}-byte staging window`,
      );
    }
    this.regs.bytes.set(image, Bar.STAGING);
  }

  async nop(): Promise<void> {
    await this.command(Cmd.NOP, { what: 'NOP' });
  }

  assertOpen(): void {
    if (this.closed) throw new RaError(DriverCode.CLOSED, `${this.uri} is closed`);
    if (this.waiter.gone) throw this.waiter.gone;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Unmaps and disconnects. Closing twice is safe. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.heartbeat.stop();
    this.waiter.markGone('closed by this client');
    SliceKeyBook.closeFor(this);
    this.device.close();
  }
}

function readIdentity(r: RegisterFile, uri: string): AdapterIdentity {
  const magic = r.read32(Reg.MAGIC);
  if (magic !== Id.MAGIC)
    throw new RaError(DriverCode.OPEN_FAILED, `${uri}: no RA magic in the register file`);
  const spec = r.read32(Reg.SPEC_VERSION);
  return {
    uri,
    specVersion: `${spec >>> 16}.${spec & 0xffff}`,
    deviceId: r.read32(Reg.DEVICE_ID),
    fabricId: r.read32(Reg.FABRIC_ID),
    fabricPorts: r.read32(Reg.FABRIC_PORTS),
    serial: r.read64(Reg.SERIAL).toString(16).padStart(16, '0'),
    memoryBytes: r.readNumber(Reg.CAP_MEM_BYTES),
    slots: r.read32(Reg.CAP_SLOTS),
    slotBytes: r.read32(Reg.CAP_SLOT_BYTES),
    computeUnits: r.read32(Reg.CAP_COMPUTE_UNITS),
    contextsPerEngine: r.read32(Reg.CAP_CONTEXTS),
    slices: r.read32(Reg.CAP_SLICES),
    queues: r.read32(Reg.CAP_QUEUES),
    ringDepth: r.read32(Reg.CAP_RING_DEPTH),
    hostRegions: r.read32(Reg.CAP_HOSTMEM),
    stagingBytes: r.read32(Reg.CAP_STAGING_BYTES),
    functions: r.read32(Reg.CAP_FUNCTIONS),
    memoryAlignBytes: r.readNumber(Reg.CAP_MEM_ALIGN),
    configBytesPerSec: r.readNumber(Reg.CAP_CONFIG_RATE),
    maxTransferBytes: r.readNumber(Reg.CAP_MAX_TRANSFER),
  };
}

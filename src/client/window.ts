// A tenant window (ra-spec §18) as its holder sees it: the header, the grant table and the window's
// own submission and completion rings, in a file of RA_TW_BYTES. Completions come one of two ways
// (§18.5):
//   poll       the model spins on the window's SQ_TAIL for POLL_US after work and shows AWAKE = 1
//              meanwhile (adaptive polling, like io_uring's SQPOLL thread); asleep, it wakes on the
//              window's doorbell FIFO, which post() rings only when it reads AWAKE = 0. The client
//              spins on CQ_TAIL (waitSync), or spins spinUs then yields to the event loop (wait);
//   interrupt  the client sets QCB_IRQ_ENABLE; the model writes a byte to the window's interrupt FIFO
//              after posting completions. The addon watches that FIFO on the event loop (a uv_poll
//              handle: one read() and one call into JS per wake-up, no stream) and rings the doorbell
//              with one write(); no spinning: both sides sleep until there is work.
import { closeSync, constants, openSync, writeSync } from 'node:fs';

import { deviceError } from '../driver/errors.js';
import { addon, type NativeHostMapping, type NativeWindowInterrupt } from '../driver/native.js';
import { RegisterFile } from '../driver/registers.js';
import { Cqe, Desc, Err, SliceKind, Tw, TwGrant, TwState } from '../driver/regs.js';
import { type TenantDescriptor, writeDescriptor } from './descriptors.js';
import { ClientCode, RaError, revokedError } from './errors.js';

export interface WindowGrantEntry {
  port: number;
  slice: number;
  kind: 'memory' | 'compute' | 'context' | 'unknown';
  /** memory slices of the window's adapter: byte offset and length in its memory; 0 elsewhere */
  base: number;
  length: number;
}

export interface TenantCompletion {
  cookie: number;
  sqIndex: number;
  outBytes: number;
}

export type CompletionMode = 'interrupt' | 'poll';

export interface WindowOptions {
  /** how completions are noticed (ra-spec §18.5); default 'poll' */
  completion?: CompletionMode;
  /** µs the model keeps spinning on this window after work (bounded by the model, 10 ms); default 200 */
  pollUs?: number;
  /** µs this process spins on the CQ before yielding to the event loop; default 50 */
  spinUs?: number;
  timeoutMs?: number;
}

const kinds: Record<number, WindowGrantEntry['kind']> = {
  [SliceKind.MEMORY]: 'memory',
  [SliceKind.COMPUTE]: 'compute',
  [SliceKind.CONTEXT]: 'context',
};

const DOORBELL_BYTE = new Uint8Array([1]);
const { SQ_TAIL, CQ_TAIL, AWAKE } = Tw;
/** waitSync looks at the clock and the window's state once per this many looks at CQ_TAIL */
const LOOKS_PER_CHECK = 4096;

interface IrqWaiter {
  deadlineMs: number;
  wake: () => void;
}

interface Reaped {
  status: number;
  completion: TenantCompletion;
}

export class TenantWindow {
  readonly regs: RegisterFile;
  readonly depth: number;
  readonly queue: number;
  readonly fabricId: number;
  readonly grants: readonly WindowGrantEntry[];
  private readonly view: DataView;
  private readonly spinUs: number;
  private readonly timeoutMs: number;
  private tail: number;
  private head: number;
  /** SQ_HEAD as last read: a lower bound of what the adapter took, so post() reads it only when full */
  private takenSeen: number;
  /** CQ_HEAD as last stored; reap() moves `head` and leaves the store to post() (see showHead) */
  private headShown: number;
  private nextCookie = 1;
  /** completions reaped while waiting for another cookie (several chains in flight) */
  private readonly done = new Map<number, Reaped>();
  private closed = false;
  readonly completion: CompletionMode;
  private doorbellFd = -1;
  private irq?: NativeWindowInterrupt;
  private irqGone = false;
  /** woken on every interrupt, on the interrupt FIFO's hang-up (revocation) and at their deadline */
  private irqWaiters: IrqWaiter[] = [];
  /** one timer for every waiter's deadline (not one per wait), armed for `timerAtMs` */
  private irqTimer?: NodeJS.Timeout;
  private irqTimerAtMs = 0;

  private constructor(
    readonly path: string,
    private readonly mapping: NativeHostMapping,
    opts: WindowOptions,
  ) {
    this.regs = new RegisterFile(mapping.buffer);
    this.view = new DataView(mapping.buffer);
    if (this.regs.read32(Tw.MAGIC) !== Tw.MAGIC_VALUE) {
      mapping.close();
      throw new RaError(ClientCode.GRANT_INVALID, `${path} is not a tenant window (magic missing)`);
    }
    this.depth = this.regs.read32(Tw.RING_DEPTH);
    this.queue = this.regs.read32(Tw.QUEUE);
    this.fabricId = this.regs.read32(Tw.FABRIC_ID);
    const count = Math.min(this.regs.read32(Tw.GRANTED), 64);
    this.grants = [...Array(count).keys()].map((k) => {
      const at = Tw.GRANTS + k * TwGrant.STRIDE;
      return {
        port: this.regs.read32(at + TwGrant.PORT),
        slice: this.regs.read32(at + TwGrant.SLICE),
        kind: kinds[this.regs.read32(at + TwGrant.KIND)] ?? 'unknown',
        base: this.regs.readNumber(at + TwGrant.BASE),
        length: this.regs.readNumber(at + TwGrant.LENGTH),
      };
    });
    this.tail = this.regs.read32(Tw.SQ_TAIL);
    this.takenSeen = this.regs.read32(Tw.SQ_HEAD);
    this.head = this.regs.read32(Tw.CQ_TAIL);
    this.headShown = this.head;
    this.regs.write32(Tw.CQ_HEAD, this.head);
    this.completion = opts.completion ?? 'poll';
    this.spinUs = opts.spinUs ?? 50;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.openFifos();
    if (this.completion === 'interrupt') {
      this.regs.write32(Tw.POLL_US, opts.pollUs ?? 0);
      this.regs.write32(Tw.IRQ_ENABLE, 1);
    } else {
      this.regs.write32(Tw.POLL_US, opts.pollUs ?? 200);
      this.regs.write32(Tw.IRQ_ENABLE, 0);
    }
  }

  /**
   * §18.5: <window>.db (rung after SQ_TAIL while the model sleeps) and, in interrupt mode,
   * <window>.irq (read by the event loop). A polled window works without its doorbell (the model
   * still looks at it every heartbeat tick), so there a doorbell that cannot be opened is left out.
   */
  private openFifos(): void {
    if (this.completion !== 'interrupt') {
      try {
        this.doorbellFd = openSync(`${this.path}.db`, constants.O_WRONLY | constants.O_NONBLOCK);
      } catch {
        this.doorbellFd = -1;
      }
      return;
    }
    try {
      this.irq = new (addon().WindowInterrupt)(`${this.path}.db`, `${this.path}.irq`);
    } catch (err) {
      this.mapping.close();
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw revokedError(`opening the interrupt of ${this.path}`);
      throw new RaError(
        ClientCode.GRANT_INVALID,
        `cannot open the doorbell/interrupt of ${this.path}: ${(err as Error).message}`,
      );
    }
    this.irq.watch((gone) => {
      if (gone) this.irqGone = true; // the model closed its end: the window was revoked (or the model left)
      this.wakeIrqWaiters();
    });
  }

  private closeFifos(): void {
    if (this.doorbellFd >= 0) closeSync(this.doorbellFd);
    this.doorbellFd = -1;
    this.irq?.close();
    this.irq = undefined;
    clearTimeout(this.irqTimer);
    this.irqTimer = undefined;
  }

  /** Maps the window file named by a grant; a revoked window's file is gone (GRANT_REVOKED). */
  static open(path: string, opts: WindowOptions = {}): TenantWindow {
    let mapping: NativeHostMapping;
    try {
      mapping = new (addon().HostMapping)(path, 0, Tw.BYTES, false);
    } catch (err) {
      if (/ENOENT|No such file/.test((err as Error).message)) throw revokedError(`opening window ${path}`);
      throw new RaError(
        ClientCode.GRANT_INVALID,
        `cannot map tenant window ${path}: ${(err as Error).message}`,
      );
    }
    const w = new TenantWindow(path, mapping, opts);
    if (w.revoked) {
      w.close();
      throw revokedError(`opening window ${path}`);
    }
    return w;
  }

  get revoked(): boolean {
    return this.regs.read32(Tw.STATE) !== TwState.OPEN;
  }

  /**
   * Submits one chain (one completion) and returns its cookie; does not wait. The window's lines are
   * shared with the adapter's core (ra-spec §18.1), so each access may move one between the cores:
   * SQ_HEAD is read only when the ring looks full by its last value, and the CQ_HEAD that reap() left
   * pending is stored on the holder's line just before SQ_TAIL, which takes that line anyway.
   */
  post(descs: readonly TenantDescriptor[]): number {
    this.assertUsable('submitting');
    const n = descs.length;
    if (n === 0 || n > this.depth)
      throw new RaError(ClientCode.GRANT_INVALID, `a chain holds 1 to ${this.depth} descriptors`);
    if (((this.tail - this.takenSeen) >>> 0) + n > this.depth) {
      this.takenSeen = this.regs.read32(Tw.SQ_HEAD);
      if (((this.tail - this.takenSeen) >>> 0) + n > this.depth)
        throw new RaError(
          ClientCode.TIMEOUT,
          `window ${this.path}: submission ring full; wait for completions`,
        );
    }
    const cookie = this.nextCookie;
    this.nextCookie = (this.nextCookie % 0xffffffff) + 1;
    for (let i = 0; i < n; i++) {
      const at = Tw.SQ + ((this.tail + i) & (this.depth - 1)) * Desc.BYTES;
      writeDescriptor(this.view, at, descs[i]!, cookie, i < n - 1); // a throw publishes nothing
    }
    if (this.head !== this.headShown) this.showHead();
    this.tail = (this.tail + n) >>> 0;
    this.regs.write32(SQ_TAIL, this.tail); // last: the descriptors before it (§2.2 rule 5)
    // §18.5: a model spinning on the window (AWAKE = 1) sees SQ_TAIL without the doorbell's system
    // call. Both accesses are sequentially consistent, and the model stores AWAKE = 0 and fences
    // before its last look at SQ_TAIL, so one of the two sides always sees the other's store.
    if (this.regs.read32(AWAKE) === 0) this.ringDoorbell();
    return cookie;
  }

  /** §18.5: one byte into the doorbell FIFO; a full FIFO already holds a wake-up (EAGAIN). */
  private ringDoorbell(): void {
    if (this.irq) {
      if (!this.irq.ring()) throw revokedError(`ringing the doorbell of ${this.path}`);
      return;
    }
    if (this.doorbellFd < 0) return;
    try {
      writeSync(this.doorbellFd, DOORBELL_BYTE);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    }
  }

  /** Stores CQ_HEAD: the completions reaped so far leave the adapter room in the CQ (§18.4). */
  private showHead(): void {
    this.headShown = this.head;
    this.regs.write32(Tw.CQ_HEAD, this.head);
  }

  /**
   * Reads every completion produced. Returns `cookie`'s when it is among them (or was reaped before);
   * the others are kept for their own waiters. No Map on the way of a lone chain's completion: a
   * Map insert, lookup and delete per round trip cost about 1 µs (measured).
   */
  private reap(cookie: number): Reaped | undefined {
    let mine = this.done.size > 0 ? this.done.get(cookie) : undefined;
    if (mine) this.done.delete(cookie);
    const produced = this.regs.read32(CQ_TAIL);
    if (produced === this.head) return mine;
    while (this.head !== produced) {
      const at = Tw.CQ + (this.head & (this.depth - 1)) * Cqe.BYTES;
      const c = this.view.getUint32(at + Cqe.COOKIE, true);
      const r: Reaped = {
        status: this.view.getUint32(at + Cqe.STATUS, true),
        completion: {
          cookie: c,
          sqIndex: this.view.getUint32(at + Cqe.SQ_INDEX, true),
          outBytes: this.view.getUint32(at + Cqe.OUT_BYTES, true),
        },
      };
      if (c === cookie && !mine) mine = r;
      else this.done.set(c, r);
      this.head = (this.head + 1) >>> 0;
    }
    // CQ_HEAD now only when someone still waits (the adapter may need the room to post theirs) or
    // half the ring is reaped but not shown; else the next post() stores it on its way to SQ_TAIL:
    // one store less on the line the adapter spins on, per round trip
    if (!mine || (this.head - this.headShown) >>> 0 >= this.depth >>> 1) this.showHead();
    return mine;
  }

  private take(r: Reaped, what: string): TenantCompletion {
    if (r.status !== Err.OK) throw deviceError(r.status, what, { window: this.path });
    return r.completion;
  }

  /**
   * Spins until `cookie` completes, without yielding: for latency measurements and short jobs. One
   * load of CQ_TAIL per look; the clock and the window's state once per LOOKS_PER_CHECK looks
   * (a revoked window: GRANT_REVOKED, none in timeoutMs: TIMEOUT).
   */
  waitSync(cookie: number, what = 'tenant chain'): TenantCompletion {
    let deadline = 0;
    for (let looks = 1; ; looks++) {
      if (this.regs.read32(CQ_TAIL) !== this.head || this.done.size > 0) {
        const r = this.reap(cookie);
        if (r) return this.take(r, what);
      }
      if (looks % LOOKS_PER_CHECK === 0) {
        if (this.revoked) throw revokedError(what);
        const now = Date.now();
        if (deadline === 0) deadline = now + this.timeoutMs;
        else if (now > deadline)
          throw new RaError(ClientCode.TIMEOUT, `${what}: no completion in ${this.timeoutMs} ms`);
      }
    }
  }

  /**
   * Waits for `cookie`: spins spinUs (latency), then sleeps between looks (1 ms timers), so that a
   * long job leaves the core to the adapter. With completion 'interrupt': sleeps until the interrupt.
   */
  async wait(cookie: number, what = 'tenant chain'): Promise<TenantCompletion> {
    if (this.completion === 'interrupt') return this.waitInterrupt(cookie, what);
    const deadline = Date.now() + this.timeoutMs;
    const spinUntil = process.hrtime.bigint() + BigInt(this.spinUs * 1000);
    for (;;) {
      const r = this.reap(cookie);
      if (r) return this.take(r, what);
      if (this.revoked) throw revokedError(what);
      if (Date.now() > deadline)
        throw new RaError(ClientCode.TIMEOUT, `${what}: no completion in ${this.timeoutMs} ms`);
      if (process.hrtime.bigint() > spinUntil) await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** Sleeps until the model's interrupt says completions were posted; no spinning. */
  private async waitInterrupt(cookie: number, what: string): Promise<TenantCompletion> {
    const deadlineMs = Date.now() + this.timeoutMs;
    for (;;) {
      if (this.closed) throw new RaError(ClientCode.GRANT_INVALID, `${what}: window ${this.path} was closed`);
      const r = this.reap(cookie);
      if (r) return this.take(r, what);
      if (this.revoked || this.irqGone) throw revokedError(what);
      if (Date.now() >= deadlineMs)
        throw new RaError(ClientCode.TIMEOUT, `${what}: no completion in ${this.timeoutMs} ms`);
      await new Promise<void>((wake) => this.addIrqWaiter({ deadlineMs, wake }));
    }
  }

  /**
   * A waiter until the next interrupt or its deadline. The event loop stays alive while one waits.
   * Deadlines share one timer, re-armed only for an earlier deadline than it is armed for: a round
   * trip creates no timer (with waits in a row the timer fires once per timeoutMs, to re-arm).
   */
  private addIrqWaiter(w: IrqWaiter): void {
    if (this.irqWaiters.length === 0) this.irq?.keepAlive(true);
    this.irqWaiters.push(w);
    if (this.irqTimer === undefined || w.deadlineMs < this.irqTimerAtMs) this.armIrqTimer(w.deadlineMs);
  }

  private armIrqTimer(atMs: number): void {
    clearTimeout(this.irqTimer);
    this.irqTimerAtMs = atMs;
    this.irqTimer = setTimeout(() => this.onIrqTimer(), Math.max(0, atMs - Date.now()));
    this.irqTimer.unref(); // the watch keeps the loop alive while anyone waits
  }

  /** Wakes the waiters whose deadline passed (they throw TIMEOUT); re-arms for the others. */
  private onIrqTimer(): void {
    this.irqTimer = undefined;
    const now = Date.now();
    const due = this.irqWaiters.filter((w) => w.deadlineMs <= now);
    this.irqWaiters = this.irqWaiters.filter((w) => w.deadlineMs > now);
    if (this.irqWaiters.length === 0) this.irq?.keepAlive(false);
    else this.armIrqTimer(Math.min(...this.irqWaiters.map((w) => w.deadlineMs)));
    for (const w of due) w.wake();
  }

  private wakeIrqWaiters(): void {
    const ws = this.irqWaiters;
    if (ws.length === 0) return;
    this.irqWaiters = [];
    this.irq?.keepAlive(false);
    for (const w of ws) w.wake();
  }

  /**
   * post() then wait(). In interrupt mode straight to waitInterrupt: each async function between the
   * interrupt and the caller's await costs promise jobs on every round trip.
   */
  submit(descs: readonly TenantDescriptor[], what?: string): Promise<TenantCompletion> {
    const label = what ?? `${descs[0]?.op ?? 'empty'} chain`;
    let cookie: number;
    try {
      cookie = this.post(descs);
    } catch (err) {
      return Promise.reject(err); // as before: a chain refused by post() rejects, it does not throw
    }
    return this.completion === 'interrupt' ? this.waitInterrupt(cookie, label) : this.wait(cookie, label);
  }

  private assertUsable(what: string): void {
    if (this.closed) throw new RaError(ClientCode.GRANT_INVALID, `${what}: window ${this.path} is closed`);
    if (this.revoked) throw revokedError(what);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closeFifos();
    this.mapping.close();
    this.wakeIrqWaiters(); // they find the window closed
  }
}

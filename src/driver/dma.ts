// DMA controller (ra-spec §7, §8): one queue pair claimed by this client, descriptors written into
// the submission ring, completions reaped from the completion ring. Two completion modes:
//   interrupt - completions raise the queue's vector; waits sleep on the event loop;
//   poll      - the adapter spins on our tail after work and we spin briefly on its completions,
//               falling back to the interrupt path (as SPDK / io_uring SQPOLL do).
import type { Adapter } from './adapter.js';
import { DriverCode, deviceError, RaError } from './errors.js';
import { Bar, Cqe, Desc, Err, Loc, Op, Qcb, Ring, Vec } from './regs.js';

export type Location = { adapter: number; slice: number } | { host: number };

interface Common {
  ownerKey: bigint;
  dst: Location;
  dstOffset: number;
}
export interface CopyDescriptor extends Common {
  op: 'copy';
  src: Location;
  srcOffset: number;
  bytes: number;
}
export interface FillDescriptor extends Common {
  op: 'fill';
  bytes: number;
  value: number;
}
export interface JobDescriptor extends Common {
  op: 'job';
  /** Context slice (function engines) or compute slice (matmul) on this adapter. */
  ctxSlice: number;
  src: Location;
  srcOffset: number;
  bytes: number;
  /** Up to 16 bytes: the aes-256-gcm IV, or matmul m, n, k as u32 LE. */
  params?: Uint8Array;
  /**
   * aes-256-gcm: the first 32 bytes at SRC are this job's key and `bytes` counts them
   * (DESC_F_INLINE_KEY, ra-spec §12.1), so no other job's key can be used for it.
   */
  inlineKey?: boolean;
}
export type Descriptor = CopyDescriptor | FillDescriptor | JobDescriptor;

export interface Completion {
  cookie: number;
  sqIndex: number;
  outBytes: number;
}

export interface DmaOptions {
  mode?: 'interrupt' | 'poll';
  /** poll mode: how long the adapter and this client spin before sleeping. */
  pollUs?: number;
  timeoutMs?: number;
}

interface Pending {
  done: boolean;
  status: number;
  completion?: Completion;
}

/** Looks at the completion ring between two clock reads while spinning (poll mode). */
const SPIN_LOOKS = 64;

const opcodes = { copy: Op.COPY, fill: Op.FILL, job: Op.JOB } as const;

export class DmaController {
  readonly queue: number;
  private readonly view: DataView;
  private readonly qcb: number;
  private readonly sq: number;
  private readonly cq: number;
  private readonly depth: number;
  private readonly vector: number;
  private readonly pending = new Map<number, Pending>();
  /**
   * submitSync's wait while it spins: its cookie (0: none) and state, apart from `pending`, whose
   * insert, lookup and delete per round trip were a good part of the driver's side of it.
   */
  private syncCookie = 0;
  private readonly syncWait: Pending = { done: false, status: Err.OK };
  private tail: number;
  private head: number;
  /**
   * CQ_HEAD as last stored. submitSync leaves `head` unshown when nothing else is in flight; the next
   * post() stores it just before SQ_TAIL, on the same line (ra-spec §7): one transfer of the driver's
   * line to the adapter's core per polled round trip instead of two, as a tenant window does (§18.4).
   */
  private headShown: number;
  /** SQ_HEAD as last read: it only grows, so a ring with room by this value has room (see hasSpace). */
  private sqHead: number;
  /** IRQ_ENABLE as last written, and the waits asleep on the vector that need it (poll mode). */
  private irqArmed: boolean;
  private sleepers = 0;
  private nextCookie = 1;
  private closed = false;
  private readonly mode: 'interrupt' | 'poll';
  private readonly pollUs: number;
  private readonly timeoutMs: number;

  /** Claims the first free queue of `adapter` (compare-and-swap on QCB_OWNER). */
  constructor(
    private readonly adapter: Adapter,
    { mode = 'interrupt', pollUs = 50, timeoutMs = 30_000 }: DmaOptions = {},
  ) {
    adapter.assertOpen();
    const r = adapter.regs;
    const owner = adapter.peerId + 1;
    let queue = -1;
    for (let q = 0; q < adapter.identity.queues && queue < 0; q++) {
      if (r.compareExchange32(Bar.QUEUES + q * Qcb.STRIDE + Qcb.OWNER, 0, owner) === 0) queue = q;
    }
    if (queue < 0)
      throw new RaError(
        DriverCode.NO_QUEUE,
        `${adapter.uri}: all ${adapter.identity.queues} DMA queues are owned by other clients`,
      );
    this.queue = queue;
    this.mode = mode;
    this.pollUs = pollUs;
    this.timeoutMs = timeoutMs;
    this.view = new DataView(r.buffer);
    this.qcb = Bar.QUEUES + queue * Qcb.STRIDE;
    this.sq = Bar.RINGS + queue * Ring.STRIDE;
    this.cq = this.sq + Ring.CQ_OFFSET;
    this.depth = adapter.identity.ringDepth;
    this.vector = Vec.QUEUE0 + queue;
    this.tail = r.read32(this.qcb + Qcb.SQ_TAIL);
    this.sqHead = r.read32(this.qcb + Qcb.SQ_HEAD);
    this.head = r.read32(this.qcb + Qcb.CQ_TAIL);
    this.headShown = this.head;
    r.write32(this.qcb + Qcb.CQ_HEAD, this.head);
    r.write32(this.qcb + Qcb.POLL_US, mode === 'poll' ? pollUs : 0);
    // poll mode: no interrupt per completion while this side spins; armed before any sleep (arm())
    this.irqArmed = mode !== 'poll';
    r.write32(this.qcb + Qcb.IRQ_ENABLE, this.irqArmed ? 1 : 0);
  }

  /**
   * poll mode, before a sleep on the vector: IRQ_ENABLE = 1 (a seq_cst store, a full fence), then the
   * caller's check re-reads CQ_TAIL. The adapter stores CQ_TAIL, fences, then reads IRQ_ENABLE (ra-spec
   * §8.6), so a completion is either seen by that check or raises the vector.
   */
  private arm(): void {
    this.sleepers += 1;
    if (this.irqArmed) return;
    this.irqArmed = true;
    this.adapter.regs.write32(this.qcb + Qcb.IRQ_ENABLE, 1);
  }

  private disarmed(): void {
    this.sleepers -= 1;
  }

  /** poll mode, before a spin: no interrupts while nobody sleeps (each one is a system call of the adapter). */
  private disarm(): void {
    if (!this.irqArmed || this.sleepers > 0 || this.mode !== 'poll') return;
    this.irqArmed = false;
    this.adapter.regs.write32(this.qcb + Qcb.IRQ_ENABLE, 0);
  }

  /** Submits one descriptor; resolves on its completion, rejects with the datasheet error. */
  submit(desc: Descriptor): Promise<Completion> {
    return this.submitChain([desc]);
  }

  /**
   * Scatter-gather: validated and completed as one by the adapter (DESC_F_CHAIN). Not async on the
   * fast path (room in the ring, completion seen while spinning): each async level cost ~0.2-0.4 µs
   * of a polled round trip. Errors are still rejections, never synchronous throws.
   */
  submitChain(descs: readonly Descriptor[]): Promise<Completion> {
    try {
      this.checkChain(descs);
      if (!this.hasSpace(descs.length)) return this.submitChainWhenRoom(descs);
      const cookie = this.post(descs);
      this.notify();
      return this.await(cookie, `${descs[descs.length - 1]!.op} on queue ${this.queue}`);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * poll mode's synchronous round trip: posts `desc`, spins for its completion up to pollUs without
   * yielding to the event loop, and returns the Completion itself (or throws its error) when it was
   * seen. Only when the ring is full or the adapter took longer than pollUs does it return a promise:
   * the async path of submit() (a sleep on the vector). The caller awaits only that:
   *   `let c = dma.submitSync(d); if (c instanceof Promise) c = await c;`
   * An `await` of submit()'s already resolved promise is a promise turn, ~0.45 µs of a ~2 µs polled
   * round trip. Argument errors throw. Interrupt mode: always the promise.
   */
  submitSync(desc: Descriptor): Completion | Promise<Completion> {
    return this.submitChainSync([desc]);
  }

  /** submitChain with submitSync's fast path. */
  submitChainSync(descs: readonly Descriptor[]): Completion | Promise<Completion> {
    this.checkChain(descs);
    if (this.mode !== 'poll' || !this.hasSpace(descs.length)) return this.submitChain(descs);
    const cookie = this.post(descs, false);
    const p = this.syncWait;
    p.done = false;
    this.syncCookie = cookie;
    try {
      this.notify();
      this.touchNextSlot();
      this.spin(p);
    } finally {
      this.syncCookie = 0;
    }
    const what = `${descs[descs.length - 1]!.op} on queue ${this.queue}`;
    if (!p.done) {
      // not seen while spinning: an ordinary wait from here on (nothing reaps between the two)
      const slow: Pending = { done: false, status: Err.OK };
      this.pending.set(cookie, slow);
      return this.sleep(slow, cookie, what);
    }
    if (p.status !== Err.OK) throw deviceError(p.status, what);
    return p.completion!;
  }

  /**
   * While the adapter runs the chain just posted: one store into the next free submission entry, which
   * the next post() overwrites. That entry's line was last written by the adapter (it zeroes the owner
   * key of what it takes, §10), so the store fetches it now, while this side only waits, instead of on
   * the next post's way to SQ_TAIL (the seq_cst store waits for the descriptor's stores): one transfer
   * of a line between the cores less per polled round trip. Free by the SQ_HEAD last read, a lower
   * bound: the adapter reads only [SQ_HEAD, SQ_TAIL).
   */
  private touchNextSlot(): void {
    if ((this.tail - this.sqHead) >>> 0 >= this.depth) return;
    this.view.setUint32(this.sq + (this.tail & (this.depth - 1)) * Desc.BYTES, 0, true);
  }

  private checkChain(descs: readonly Descriptor[]): void {
    if (descs.length === 0) throw new RaError(DriverCode.INVALID_ARGUMENT, 'empty descriptor chain');
    if (descs.length > this.depth)
      throw new RaError(DriverCode.INVALID_ARGUMENT, `a chain holds at most ${this.depth} descriptors`);
    this.assertOpen();
  }

  private async submitChainWhenRoom(descs: readonly Descriptor[]): Promise<Completion> {
    // The check and the post must run in one continuation: any await between them (even of a
    // function that returns at once) lets another submitter post first and overrun the ring.
    while (!this.hasSpace(descs.length)) await this.waitForSpace(descs.length);
    const cookie = this.post(descs);
    this.notify();
    return this.await(cookie, `${descs[descs.length - 1]!.op} on queue ${this.queue}`);
  }

  /** Several independent descriptors behind one doorbell; each gets its own completion. */
  async submitBatch(descs: readonly Descriptor[]): Promise<Completion[]> {
    const cookies: number[] = [];
    for (const d of descs) {
      while (!this.hasSpace(1)) await this.waitForSpace(1);
      cookies.push(this.post([d]));
      if (this.tail - this.headIndex() >= this.depth) this.notify();
    }
    this.notify();
    return Promise.all(cookies.map((c) => this.await(c, `batch descriptor on queue ${this.queue}`)));
  }

  private headIndex(): number {
    this.sqHead = this.adapter.regs.read32(this.qcb + Qcb.SQ_HEAD);
    return this.sqHead;
  }

  /**
   * Room for `count` entries. SQ_HEAD lies on the adapter's line (ra-spec §7): it is read only when the
   * ring looks full by the value last read, which the adapter can only have advanced since.
   */
  private hasSpace(count: number): boolean {
    if (((this.tail - this.sqHead) >>> 0) + count <= this.depth) return true;
    return ((this.tail - this.headIndex()) >>> 0) + count <= this.depth;
  }

  /**
   * Resolves once `count` entries were free. Other submitters may run before the caller continues,
   * so callers loop: `while (!hasSpace(n)) await waitForSpace(n); post(...)`.
   */
  private waitForSpace(count: number): Promise<void> {
    this.assertOpen();
    return this.sleepUntil(() => this.hasSpace(count), `space in submission ring ${this.queue}`);
  }

  /**
   * Sleeps on the queue's vector until `done()` holds after a reap. In poll mode IRQ_ENABLE is armed
   * first; the waiter's first check then re-reads CQ_TAIL (arm()).
   */
  private async sleepUntil(done: () => boolean, what: string): Promise<void> {
    this.arm();
    try {
      await this.adapter.waiter.until(
        this.vector,
        () => {
          this.reap();
          return done();
        },
        this.timeoutMs,
        what,
      );
    } finally {
      this.disarmed();
    }
  }

  /**
   * Writes descriptors at the tail and publishes the new tail (one store, last). `track`: the chain's
   * wait goes into `pending` (submitSync keeps its own while it spins).
   */
  private post(descs: readonly Descriptor[], track = true): number {
    let cookie = 0;
    const n = descs.length;
    for (let i = 0; i < n; i++) {
      cookie = this.nextCookie;
      this.nextCookie = (this.nextCookie % 0xffffffff) + 1; // never 0
      this.write(this.sq + ((this.tail + i) & (this.depth - 1)) * Desc.BYTES, descs[i]!, cookie, i < n - 1);
    }
    if (track) this.pending.set(cookie, { done: false, status: Err.OK });
    if (this.head !== this.headShown) this.showHead();
    this.tail = (this.tail + descs.length) >>> 0;
    this.adapter.regs.write32(this.qcb + Qcb.SQ_TAIL, this.tail);
    return cookie;
  }

  private write(at: number, d: Descriptor, cookie: number, chained: boolean): void {
    encodeDescriptor(this.view, at, d, cookie, chained);
  }

  /** Rings the queue's doorbell unless the adapter is polling us (QCB_AWAKE, ra-spec §8). */
  private notify(): void {
    if (this.adapter.regs.read32(this.qcb + Qcb.AWAKE) === 1) return;
    this.adapter.ring(this.vector);
  }

  /** Consumes every completion the adapter has produced. */
  reap(): void {
    if (this.closed) return;
    const r = this.adapter.regs;
    const produced = r.read32(this.qcb + Qcb.CQ_TAIL);
    if (produced === this.head) return;
    // A full completion ring stops the adapter consuming this queue: tell it when there is room (§17.4).
    const wasFull = (produced - this.head) >>> 0 >= this.depth;
    while (this.head !== produced) {
      const at = this.cq + (this.head & (this.depth - 1)) * Cqe.BYTES;
      const cookie = this.view.getUint32(at + Cqe.COOKIE, true);
      const p = cookie === this.syncCookie && cookie !== 0 ? this.syncWait : this.pending.get(cookie);
      if (p) {
        p.done = true;
        p.status = this.view.getUint32(at + Cqe.STATUS, true);
        p.completion = {
          cookie,
          sqIndex: this.view.getUint32(at + Cqe.SQ_INDEX, true),
          outBytes: this.view.getUint32(at + Cqe.OUT_BYTES, true),
        };
      }
      this.head = (this.head + 1) >>> 0;
    }
    // submitSync's own completion with nothing else in flight: the adapter needs no room before our
    // next post(), which shows the head (see headShown)
    if (!wasFull && this.syncWait.done && this.syncCookie !== 0 && this.pending.size === 0) return;
    this.showHead();
    if (wasFull) this.adapter.ring(this.vector);
  }

  private showHead(): void {
    this.headShown = this.head;
    this.adapter.regs.write32(this.qcb + Qcb.CQ_HEAD, this.head);
  }

  /** Its completion: at once when spinning saw it (poll mode), else after a sleep on the vector. */
  private await(cookie: number, what: string): Promise<Completion> {
    const p = this.pending.get(cookie)!;
    if (this.mode === 'poll') this.spin(p);
    if (!p.done) return this.sleep(p, cookie, what);
    this.pending.delete(cookie);
    if (p.status !== Err.OK) return Promise.reject(deviceError(p.status, what));
    return Promise.resolve(p.completion!);
  }

  private async sleep(p: Pending, cookie: number, what: string): Promise<Completion> {
    try {
      if (!p.done) await this.sleepUntil(() => p.done, what);
    } finally {
      this.pending.delete(cookie);
    }
    if (p.status !== Err.OK) throw deviceError(p.status, what);
    return p.completion!;
  }

  /**
   * poll mode: spin on the completion ring for at most pollUs (bounded; the loop is blocked). The clock
   * is read once per SPIN_LOOKS looks, first after SPIN_LOOKS of them (so a spin lasts at most pollUs
   * plus SPIN_LOOKS looks): a hrtime.bigint() and its BigInt arithmetic cost about as much as a look.
   */
  private spin(p: Pending): void {
    this.disarm();
    let deadline = -1n;
    for (;;) {
      for (let i = 0; i < SPIN_LOOKS; i++) {
        this.reap();
        if (p.done) return;
      }
      const now = process.hrtime.bigint();
      if (deadline < 0n) deadline = now + BigInt(this.pollUs * 1000);
      else if (now >= deadline) return;
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new RaError(DriverCode.CLOSED, `DMA queue ${this.queue} is closed`);
    this.adapter.assertOpen();
  }

  /** Gives the queue back. Outstanding waits fail with their own timeout or ADAPTER_GONE. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.adapter.isClosed) return;
    const r = this.adapter.regs;
    if (this.head !== this.headShown) this.showHead(); // consistent indices for the next owner (§17.3)
    r.write32(this.qcb + Qcb.IRQ_ENABLE, 0);
    r.write32(this.qcb + Qcb.POLL_US, 0);
    r.compareExchange32(this.qcb + Qcb.OWNER, this.adapter.peerId + 1, 0);
  }
}

export interface QueueStatus {
  queue: number;
  /** peer id of the owner, -1 when free */
  owner: number;
  sqTail: number;
  sqHead: number;
  cqTail: number;
  cqHead: number;
  completed: number;
  errors: number;
}

/** A queue's control block as the adapter shows it (ra-spec §7), for tools and dumps. */
export function readQueueStatus(adapter: Adapter, queue: number): QueueStatus {
  const r = adapter.regs;
  const base = Bar.QUEUES + queue * Qcb.STRIDE;
  return {
    queue,
    owner: r.read32(base + Qcb.OWNER) - 1,
    sqTail: r.read32(base + Qcb.SQ_TAIL),
    sqHead: r.read32(base + Qcb.SQ_HEAD),
    cqTail: r.read32(base + Qcb.CQ_TAIL),
    cqHead: r.read32(base + Qcb.CQ_HEAD),
    completed: r.readNumber(base + Qcb.COMPLETED),
    errors: r.readNumber(base + Qcb.ERRORS),
  };
}

/**
 * Writes one descriptor (ra-spec §8.2) at `at` of `v`: the driver's submission queue, or a tenant
 * window's ring (src/client, whose owner key is 0: the adapter puts the grant's key in, ra-spec §18).
 */
export function encodeDescriptor(
  v: DataView,
  at: number,
  d: Descriptor,
  cookie: number,
  chained: boolean,
): void {
  validate(d);
  // word stores: a Uint8Array view per descriptor to fill(0) was an allocation per submission
  for (let o = 0; o < Desc.BYTES; o += 4) v.setUint32(at + o, 0, true);
  v.setUint8(at + Desc.OPCODE, opcodes[d.op]);
  const inlineKey = d.op === 'job' && d.inlineKey === true ? Desc.F_INLINE_KEY : 0;
  v.setUint8(at + Desc.FLAGS, (chained ? Desc.F_CHAIN : 0) | inlineKey);
  v.setUint16(at + Desc.CTX_SLICE, d.op === 'job' ? d.ctxSlice : 0, true);
  v.setUint32(at + Desc.COOKIE, cookie, true);
  v.setBigUint64(at + Desc.OWNER_KEY, d.ownerKey, true);
  if (d.op !== 'fill') {
    v.setUint32(at + Desc.SRC_LOC, encodeLocation(d.src), true);
    setU64(v, at + Desc.SRC_OFFSET, d.srcOffset);
  }
  v.setUint32(at + Desc.DST_LOC, encodeLocation(d.dst), true);
  setU64(v, at + Desc.DST_OFFSET, d.dstOffset);
  setU64(v, at + Desc.LENGTH, d.bytes);
  if (d.op === 'fill') v.setUint8(at + Desc.PARAMS, d.value);
  if (d.op === 'job' && d.params) new Uint8Array(v.buffer, at + Desc.PARAMS, 16).set(d.params);
}

/** A u64 field from a safe integer (validate checked it) as two u32 stores: BigInt(x) cost ~0.1-0.4 µs. */
function setU64(v: DataView, at: number, x: number): void {
  v.setUint32(at, x >>> 0, true);
  v.setUint32(at + 4, Math.floor(x / 0x1_0000_0000), true);
}

export function encodeLocation(loc: Location): number {
  if ('host' in loc)
    return ((Loc.HOST << Loc.KIND_SHIFT) | ((loc.host & Loc.PORT_MASK) << Loc.PORT_SHIFT)) >>> 0;
  return (
    ((Loc.ADAPTER << Loc.KIND_SHIFT) |
      ((loc.adapter & Loc.PORT_MASK) << Loc.PORT_SHIFT) |
      (loc.slice & Loc.SLICE_MASK)) >>>
    0
  );
}

/** Rejects what cannot even be encoded; everything else is the adapter's to judge. */
function validate(d: Descriptor): void {
  const fail = (msg: string): never => {
    throw new RaError(DriverCode.INVALID_ARGUMENT, `${d.op} descriptor: ${msg}`);
  };
  if (!Number.isSafeInteger(d.bytes) || d.bytes < 0)
    fail(`bytes must be a non-negative integer, got ${d.bytes}`);
  if (!Number.isSafeInteger(d.dstOffset) || d.dstOffset < 0) fail(`dstOffset must be a non-negative integer`);
  if (d.op !== 'fill' && (!Number.isSafeInteger(d.srcOffset) || d.srcOffset < 0))
    fail('srcOffset must be a non-negative integer');
  if (d.op === 'job' && d.params && d.params.length > 16) fail('params hold at most 16 bytes');
  if (d.op === 'job' && (!Number.isInteger(d.ctxSlice) || d.ctxSlice < 0 || d.ctxSlice > 0xffff))
    fail('ctxSlice out of range');
  if (typeof d.ownerKey !== 'bigint') fail('ownerKey must be a bigint');
  // The fill byte and the location fields are cut to their width when encoded (ra-spec §8.2, §8.3):
  // a wider value would address another port or slice, or fill with another byte, without a word.
  if (d.op === 'fill' && (!Number.isInteger(d.value) || d.value < 0 || d.value > 0xff))
    fail(`fill value must be a byte (0-255), got ${d.value}`);
  checkLocation(d.dst, 'dst', fail);
  if (d.op !== 'fill') checkLocation(d.src, 'src', fail);
}

function checkLocation(loc: Location, name: string, fail: (msg: string) => never): void {
  const port = 'host' in loc ? loc.host : loc.adapter;
  if (!Number.isInteger(port) || port < 0 || port > Loc.PORT_MASK)
    fail(`${name} ${'host' in loc ? 'host' : 'adapter'} port must be 0-${Loc.PORT_MASK}, got ${port}`);
  if (!('host' in loc) && (!Number.isInteger(loc.slice) || loc.slice < 0 || loc.slice > Loc.SLICE_MASK))
    fail(`${name} slice must be 0-${Loc.SLICE_MASK}, got ${loc.slice}`);
}

// Waiting for the adapter without blocking the event loop: a condition is re-checked whenever the
// vector's interrupt arrives and, as a safety net, on a slow timer that also watches the adapter's
// heartbeat (ra-spec §4: it advances at least every 10 ms while the adapter is alive).
import { DriverCode, RaError } from './errors.js';
import { HEARTBEAT_HUNG_MS } from './heartbeat.js';
import type { NativeDevice } from './native.js';
import type { RegisterFile } from './registers.js';
import { Reg, Status } from './regs.js';

const SAFETY_POLL_MS = 20;

/**
 * The waiters that have a wait pending share one safety timer: a pool of adapters each running one
 * command after another would otherwise arm and clear an interval per command.
 */
const polled = new Set<InterruptWaiter>();
let safetyTimer: NodeJS.Timeout | undefined;

function pollAll(): void {
  for (const waiter of [...polled]) waiter.poll();
}

interface Pending {
  check: () => boolean;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class InterruptWaiter {
  /** The waits of each vector; a vector's set stays once made (no Map and Set churn per command). */
  private readonly pending = new Map<number, Set<Pending>>();
  /** Waits pending over all vectors. */
  private waits = 0;
  /** Vectors with an installed watch: kept between waits, referenced only while someone waits. */
  private readonly watching = new Set<number>();
  private goneError: RaError | undefined;
  private lastHeartbeat = 0n;
  private lastHeartbeatChangeMs = 0;

  constructor(
    private readonly device: NativeDevice,
    private readonly regs: RegisterFile,
    private readonly name: string,
  ) {}

  /** Marks the adapter gone: every current and future wait fails with ADAPTER_GONE. */
  markGone(reason: string): void {
    this.goneError ??= new RaError(DriverCode.ADAPTER_GONE, `${this.name}: ${reason}`);
    for (const set of this.pending.values()) for (const p of [...set]) p.reject(this.goneError);
    this.pending.clear();
    this.waits = 0;
    this.stopTimer();
  }

  get gone(): RaError | undefined {
    return this.goneError;
  }

  /**
   * Resolves when check() is true. Rejects with TIMEOUT after timeoutMs, ADAPTER_HUNG when the
   * heartbeat stops, ADAPTER_GONE when the connection closes. `what` names the wait in errors.
   */
  until(vector: number, check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (this.goneError) return Promise.reject(this.goneError);
    if (check()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const started = Date.now();
      let set = this.pending.get(vector);
      if (!set) {
        set = new Set();
        this.pending.set(vector, set);
      }
      if (set.size === 0) {
        if (!this.watching.has(vector)) {
          this.device.watch(vector, () => this.wake(vector));
          this.watching.add(vector);
        }
        this.device.keepAlive(vector, true);
      }
      const entry: Pending = {
        check: () => {
          if (check()) return true;
          const waitedMs = Date.now() - started;
          if (waitedMs > timeoutMs) {
            reject(
              new RaError(
                DriverCode.TIMEOUT,
                `${this.name}: timed out after ${timeoutMs} ms waiting for ${what}`,
              ),
            );
            return true;
          }
          if ((this.regs.read32(Reg.STATUS) & (Status.HALTED | Status.FATAL)) !== 0) {
            reject(
              new RaError(
                DriverCode.ADAPTER_HUNG,
                `${this.name}: adapter reports HALTED/FATAL while waiting for ${what}`,
              ),
            );
            return true;
          }
          if (this.heartbeatStoppedMs() > HEARTBEAT_HUNG_MS) {
            reject(
              new RaError(
                DriverCode.ADAPTER_HUNG,
                `${this.name}: heartbeat stopped while waiting for ${what}`,
              ),
            );
            return true;
          }
          return false;
        },
        resolve,
        reject,
      };
      const finish = (fn: () => void) => () => {
        this.remove(vector, entry);
        fn();
      };
      entry.resolve = finish(resolve);
      const rejectInner = entry.reject;
      entry.reject = (err) => {
        this.remove(vector, entry);
        rejectInner(err);
      };
      set.add(entry);
      this.waits += 1;
      this.startTimer();
    });
  }

  private wake(vector: number): void {
    const set = this.pending.get(vector);
    if (!set) return;
    // A Set visits entries added before the loop ends and skips the ones deleted meanwhile: a wait
    // that ends here (resolve or reject) is removed during the loop, and no new wait can start in it
    // (the callers resume in later microtasks).
    for (const p of set) if (p.check()) p.resolve();
  }

  private remove(vector: number, entry: Pending): void {
    const set = this.pending.get(vector);
    if (!set?.delete(entry)) return;
    this.waits -= 1;
    if (set.size === 0 && this.device.open) this.device.keepAlive(vector, false);
    if (this.waits === 0) this.stopTimer();
  }

  private heartbeatStoppedMs(): number {
    const now = Date.now();
    const beat = this.regs.read64(Reg.HEARTBEAT);
    if (beat !== this.lastHeartbeat || this.lastHeartbeatChangeMs === 0) {
      this.lastHeartbeat = beat;
      this.lastHeartbeatChangeMs = now;
    }
    return now - this.lastHeartbeatChangeMs;
  }

  /** The safety net's tick: re-checks every pending wait (a lost interrupt, a timeout, a hung adapter). */
  poll(): void {
    for (const [vector, set] of this.pending) if (set.size > 0) this.wake(vector);
  }

  private startTimer(): void {
    if (polled.has(this)) return;
    this.lastHeartbeatChangeMs = 0;
    polled.add(this);
    safetyTimer ??= setInterval(pollAll, SAFETY_POLL_MS);
  }

  private stopTimer(): void {
    if (!polled.delete(this) || polled.size > 0 || !safetyTimer) return;
    clearInterval(safetyTimer);
    safetyTimer = undefined;
  }
}

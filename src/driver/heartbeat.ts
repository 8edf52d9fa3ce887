// How long ago an adapter's heartbeat last moved (ra-spec §4: REG_HEARTBEAT advances at least every
// 10 ms while the adapter is alive). A frozen or hung adapter still has its register file mapped, so
// every register read keeps succeeding: the heartbeat's age is the only sign it stopped (§17.7).
//
// A timer samples the register every HEARTBEAT_SAMPLE_MS so that the age is known between calls;
// ageMs() also reads it at once, so a late timer (a busy event loop) never makes a live adapter look
// hung. A stop is therefore reported within HEARTBEAT_HUNG_MS + HEARTBEAT_SAMPLE_MS.

/** Heartbeat unchanged this long: the adapter is hung (ra-spec §17.7). */
export const HEARTBEAT_HUNG_MS = 1000;
/** How often the heartbeat is sampled while the adapter is open. */
export const HEARTBEAT_SAMPLE_MS = 100;

export class HeartbeatMonitor {
  private last: bigint;
  private lastChangeMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly readHeartbeat: () => bigint,
    private readonly nowMs: () => number = () => performance.now(),
  ) {
    this.last = readHeartbeat();
    this.lastChangeMs = nowMs();
  }

  /** Starts sampling; the timer never keeps the process alive. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.sample(), HEARTBEAT_SAMPLE_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Milliseconds since the heartbeat was last seen to change (0 when it just did). */
  ageMs(): number {
    this.sample();
    return this.nowMs() - this.lastChangeMs;
  }

  get hung(): boolean {
    return this.ageMs() > HEARTBEAT_HUNG_MS;
  }

  private sample(): void {
    const beat = this.readHeartbeat();
    if (beat !== this.last) {
      this.last = beat;
      this.lastChangeMs = this.nowMs();
    }
  }
}

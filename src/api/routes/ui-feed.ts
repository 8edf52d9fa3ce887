// One reading loop per API server for every open dashboard stream: while at least one stream is open it
// reads the pool every `intervalMs` (for the sparklines) and at once after each GRM event (so a change
// shows within the event's own round trip, not the next tick), and hands each reading to every stream.
// Nobody watching: no reading, no timer.
import type { DashboardSource, PoolPicture } from '../../grm/picture.js';
import { UsageHistory } from './ui-usage.js';

/** One reading a second: the sparklines' resolution and the longest a change waits without an event. */
export const DASHBOARD_INTERVAL_MS = 1000;

export type Reading = { picture: PoolPicture; at: Date } | { error: Error; at: Date };

export class DashboardFeed {
  readonly usage = new UsageHistory();
  private readonly listeners = new Set<(reading: Reading) => void>();
  private timer: NodeJS.Timeout | undefined;
  private stopEvents: (() => void) | undefined;
  private reading: Promise<void> | undefined;
  private again = false;

  constructor(
    readonly source: DashboardSource,
    private readonly intervalMs = DASHBOARD_INTERVAL_MS,
  ) {}

  /** A fresh reading (also recorded into the usage history). */
  async read(): Promise<PoolPicture> {
    const picture = await this.source.picture();
    this.usage.observe(picture.adapters, Date.now());
    return picture;
  }

  subscribe(listener: (reading: Reading) => void): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.start();
    this.readNow();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  private start(): void {
    this.timer = setInterval(() => this.readNow(), this.intervalMs);
    this.timer.unref();
    this.stopEvents = this.source.events.subscribe(() => this.readNow());
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.stopEvents?.();
    this.stopEvents = undefined;
  }

  /** Reads and broadcasts; a request while a read is running makes one more read after it. */
  private readNow(): void {
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.read()
      .then(
        (picture) => this.broadcast({ picture, at: new Date() }),
        (error: Error) => this.broadcast({ error, at: new Date() }),
      )
      .finally(() => {
        this.reading = undefined;
        if (this.again && this.listeners.size > 0) {
          this.again = false;
          this.readNow();
        }
      });
  }

  private broadcast(reading: Reading): void {
    for (const listener of this.listeners) listener(reading);
  }
}

// One-at-a-time section: planning reads the pool and programming changes it, so the two must not
// interleave between requests (the store's compare-and-swap will do this job in cluster mode).
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

// One-at-a-time section for the GRM's maintenance passes (reconciliation, reallocation): two passes
// must not repair the same difference twice. Allocations never take it.
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/**
 * At most `limit` events per key in any window of `windowMs` (a sliding log: exact, unlike a fixed
 * window that allows twice the limit across a boundary). In memory, per process; idle keys are
 * swept, and the number of keys is capped so a flood of distinct keys cannot grow memory.
 */
export class SlidingWindow {
  readonly #events = new Map<string, number[]>();

  constructor(private readonly limit: number, private readonly windowMs: number, private readonly maxKeys = 100_000) {}

  /** Records `n` events for a key if the limit allows them all; false (and nothing recorded) if not. */
  take(key: string, nowMs: number, n = 1): boolean {
    const since = nowMs - this.windowMs;
    const times = (this.#events.get(key) ?? []).filter((t) => t > since);
    if (times.length + n > this.limit) {
      this.#events.set(key, times);
      return false;
    }
    for (let i = 0; i < n; i++) times.push(nowMs);
    this.#events.delete(key);
    this.#events.set(key, times);
    if (this.#events.size > this.maxKeys) this.#sweep(since);
    return true;
  }

  #sweep(since: number): void {
    for (const [key, times] of this.#events) if (times[times.length - 1]! <= since) this.#events.delete(key);
    // Still too many live keys: forget the least recently used (Map order is insertion order).
    for (const key of this.#events.keys()) {
      if (this.#events.size <= this.maxKeys) break;
      this.#events.delete(key);
    }
  }
}

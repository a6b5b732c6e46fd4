import type { RateLimitStore } from '../store/store.js';

/**
 * At most `limit` events per key in any window of `windowMs` (a sliding log: exact, unlike a fixed
 * window that allows twice the limit across a boundary). The log lives in the store, so every
 * replica counts against the same limit: kept per process, N replicas behind a load balancer would
 * give an attacker N times the attempts. Keys are namespaced by the window's name; callers build them
 * from ids and tokens only, never from a personal value (they are stored).
 */
export class SlidingWindow {
  constructor(
    private readonly store: RateLimitStore,
    private readonly name: string,
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** Records `n` events for a key if the limit allows them all; false (and nothing recorded) if not. */
  async take(key: string, nowMs: number, n = 1): Promise<boolean> {
    return this.store.takeRate(`${this.name}:${key}`, this.limit, this.windowMs, nowMs, n);
  }
}

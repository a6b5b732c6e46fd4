import type { Deps } from '../deps.js';
import type { Lease } from '../store/store.js';

/**
 * Renews a file's lease at a third of its life, so that a slow but live worker keeps its file.
 *
 * One renewal at a time: on PostgreSQL a renewal waits behind the commit's lock on the file's row,
 * for as long as the commit runs (tens of seconds for a 1,000,000-record file). A renewal started on
 * every tick regardless would hold another pooled connection each time, and a long enough commit
 * would take the whole pool from the API, the pollers and every other file.
 */
export function keepLease(deps: Pick<Deps, 'store' | 'clock' | 'log'>, lease: Lease, ttlMs: number): { stop(): void } {
  // A renewal still in flight when the file commits finds it no longer processing: not a loss.
  let stopped = false;
  let renewing = false;
  const timer = setInterval(() => {
    if (renewing) return;
    renewing = true;
    deps.store.renewLease(lease, deps.clock.now().getTime(), ttlMs).then(
      (ok) => { if (!ok && !stopped) deps.log.warn({ receiptId: lease.receiptId }, 'lease lost'); },
      (err: unknown) => deps.log.error({ err, receiptId: lease.receiptId }, 'lease renewal failed'),
    ).finally(() => {
      renewing = false;
    });
  }, Math.max(250, Math.floor(ttlMs / 3)));
  timer.unref();
  return {
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}

import type { Deps } from '../deps.js';
import { filesInFlight, ownerIsDead, processClaimed } from './process-file.js';

/**
 * Finishes files that a crashed or stopped worker left unfinished: every file `received`, or
 * `processing` under a lease that expired or whose owner died, is processed again from the spool.
 * Runs at start and then every `intervalMs`; one file at a time, so it never competes for memory.
 * Each file is claimed as the next claimable one (`claimNextFile`): replicas sharing a database
 * divide a backlog between them, and none waits on a file another is claiming.
 */
export function startRecovery(deps: Deps, intervalMs: number): { stop(): Promise<void> } {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const cycle = async () => {
    // Tried once per cycle: a file that fails here waits for the next cycle instead of spinning.
    const tried: string[] = [];
    while (!stopped) {
      const next = await deps.store.claimNextFile(deps.workerId, deps.clock.now().getTime(), deps.config.limits.leaseTtlMs, ownerIsDead, [...tried, ...filesInFlight()]);
      if (next === null) return;
      tried.push(next.file.receiptId);
      try {
        await processClaimed(deps, next.file, next.lease);
      } catch (err) {
        // The file stays unfinished (its lease expires) and is tried again next cycle.
        deps.log.error({ err, receiptId: next.file.receiptId }, 'recovery could not finish a file');
      }
    }
  };
  const tick = () => {
    running = cycle().catch((err: unknown) => deps.log.error({ err }, 'recovery cycle failed'));
  };
  tick();
  const timer = setInterval(() => {
    if (!stopped) running = running.then(tick);
  }, intervalMs);
  timer.unref();
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

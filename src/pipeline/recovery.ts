import type { Deps } from '../deps.js';
import { isGatewayError } from '../errors/gateway-error.js';
import { processFile } from './process-file.js';

/**
 * Finishes files that a crashed or stopped worker left unfinished: every file `received`, or
 * `processing` under a lease that expired or whose owner died, is processed again from the spool.
 * Runs at start and then every `intervalMs`; one file at a time, so it never competes for memory.
 */
export function startRecovery(deps: Deps, intervalMs: number): { stop(): Promise<void> } {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const cycle = async () => {
    for (const file of await deps.store.listUnfinishedFiles()) {
      if (stopped) return;
      try {
        await processFile(deps, file.receiptId);
      } catch (err) {
        // PIPELINE_BUSY: another live worker has it. Anything else is logged; the file stays for the next cycle.
        if (!isGatewayError(err, 'PIPELINE_BUSY')) deps.log.error({ err, receiptId: file.receiptId }, 'recovery could not finish a file');
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

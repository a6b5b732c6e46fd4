import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';
import type { Store } from '../store/store.js';
import type { Checkpoint, CheckpointSigner } from './checkpoint.js';

/** Signs the chain head if it moved since the last checkpoint; returns the latest checkpoint. */
export async function checkpointNow(d: { store: Store; checkpoints: CheckpointSigner; clock: Clock }): Promise<Checkpoint | null> {
  const [head, latest] = await Promise.all([d.store.auditHead(), d.store.latestCheckpoint()]);
  if (head.seq === 0 || latest?.seq === head.seq) return latest;
  const checkpoint = d.checkpoints.sign({ seq: head.seq, hash: head.hash, at: d.clock.now().toISOString() });
  await d.store.addCheckpoint(checkpoint);
  return checkpoint;
}

/** `serve`'s timer: a checkpoint every `intervalSeconds` while the log grows. */
export function startCheckpointer(d: { store: Store; checkpoints: CheckpointSigner; clock: Clock; log: Logger }, intervalSeconds: number): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = checkpointNow(d).catch((err: unknown) => d.log.error({ err }, 'audit checkpoint failed; retried at the next interval'));
  }, intervalSeconds * 1000);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
      await checkpointNow(d).catch(() => undefined);
    },
  };
}

import type { Config } from '../config/types.js';
import type { Clock } from '../lib/clock.js';
import type { Store } from '../store/store.js';

/**
 * Recalls a recipient has not acknowledged within `release.recallAckHours`: a recalled account that
 * an agency keeps working is a legal problem, so officers and monitoring see them.
 */
export async function overdueRecalls(d: { config: Config; store: Store; clock: Clock }): Promise<Array<{ recipient: string; count: number; oldestAt: string | null }>> {
  const before = new Date(d.clock.now().getTime() - d.config.release.recallAckHours * 3_600_000).toISOString();
  const recipients = Object.entries(d.config.recipients).map(([id, r]) => ({ id, sources: r.sources }));
  return d.store.overdueRecalls(recipients, before);
}

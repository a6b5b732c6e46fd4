import { rm } from 'node:fs/promises';
import type { Deps } from '../deps.js';

const day = 86_400_000;

/**
 * Applies the retention periods (config `retention`): spooled copies of finished files, findings of
 * rejected records, and the personal data of accounts recalled long ago. What it removed is audited.
 */
export async function applyRetention(deps: Pick<Deps, 'config' | 'store' | 'clock'>): Promise<{ spool_files: number; findings: number; recalled_accounts: number }> {
  const now = deps.clock.now();
  const before = (days: number) => new Date(now.getTime() - days * day).toISOString();
  const r = deps.config.retention;
  let spoolFiles = 0;
  for (;;) {
    const batch = await deps.store.spoolsToPurge(before(r.spoolDays), 500);
    if (batch.length === 0) break;
    for (const f of batch) await rm(f.spoolPath, { force: true });
    await deps.store.markSpoolPurged(batch.map((f) => f.receiptId), now.toISOString());
    spoolFiles += batch.length;
  }
  const findings = await deps.store.purgeFindings(before(r.rejectedRecordsDays));
  const recalled = await deps.store.purgeRecalledAccounts(before(r.recalledAccountsDays), now.toISOString());
  const removed = { spool_files: spoolFiles, findings, recalled_accounts: recalled };
  await deps.store.appendAudit([{ actor: 'gateway', action: 'retention.applied', target: 'retention', details: { ...removed, periods_days: { spool: r.spoolDays, rejected_records: r.rejectedRecordsDays, recalled_accounts: r.recalledAccountsDays } } }]);
  return removed;
}

/** `serve`'s timer for the retention job. */
export function startRetention(deps: Deps): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = applyRetention(deps).catch((err: unknown) => deps.log.error({ err }, 'retention job failed; retried at the next interval'));
  }, deps.config.retention.intervalHours * 3_600_000);
  timer.unref();
  return { stop: async () => { clearInterval(timer); await running; } };
}

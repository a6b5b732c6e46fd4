import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Deps } from '../deps.js';

const day = 86_400_000;

/**
 * A spooled copy with no receipt this long after it was written is an orphan: its receipt was never
 * recorded (the database went away between spool and record, or the process died there), so
 * nothing will ever process or purge it. Far longer than the gap between the two steps.
 */
const orphanAfterMs = 3_600_000;

/**
 * Applies the retention periods (config `retention`): spooled copies of finished files, findings of
 * rejected records, and the personal data of accounts recalled long ago. What it removed is audited.
 */
export async function applyRetention(deps: Pick<Deps, 'config' | 'store' | 'clock' | 'spoolDir'>): Promise<{ spool_files: number; orphaned_spool_files: number; findings: number; recalled_accounts: number }> {
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
  const orphans = await removeOrphanedSpools(deps, now.getTime() - orphanAfterMs);
  const findings = await deps.store.purgeFindings(before(r.rejectedRecordsDays));
  const recalled = await deps.store.purgeRecalledAccounts(before(r.recalledAccountsDays), now.toISOString());
  const removed = { spool_files: spoolFiles, orphaned_spool_files: orphans, findings, recalled_accounts: recalled };
  await deps.store.appendAudit([{ actor: 'gateway', action: 'retention.applied', target: 'retention', details: { ...removed, periods_days: { spool: r.spoolDays, rejected_records: r.rejectedRecordsDays, recalled_accounts: r.recalledAccountsDays } } }]);
  return removed;
}

/**
 * Removes spooled copies that no receipt names (see orphanAfterMs) and temp files of writes a crash
 * cut short, when last modified before `beforeMs`. Still encrypted as received, but kept for nothing.
 */
async function removeOrphanedSpools(deps: Pick<Deps, 'store' | 'spoolDir'>, beforeMs: number): Promise<number> {
  let removed = 0;
  const sources = await readdir(deps.spoolDir, { withFileTypes: true }).catch(() => []);
  for (const source of sources.filter((d) => d.isDirectory())) {
    const dir = join(deps.spoolDir, source.name);
    for (const name of await readdir(dir)) {
      const spooled = /^(.+)\.pgp$/.exec(name);
      if (spooled === null && !name.startsWith('.incoming-')) continue;
      const path = join(dir, name);
      const written = await stat(path).then((st) => st.mtimeMs, () => Infinity);
      if (written >= beforeMs) continue;
      if (spooled !== null && (await deps.store.getFile(spooled[1]!)) !== null) continue;
      await rm(path, { force: true });
      removed++;
    }
  }
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

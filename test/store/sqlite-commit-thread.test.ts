import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyChain } from '../../src/audit/chain.js';
import { fixedClock } from '../../src/lib/clock.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Lease, StagedRecord } from '../../src/store/store.js';

/**
 * A large file's commit runs on the commit thread: the main thread's event loop keeps turning while
 * it runs, and the main connection's writes wait for it without blocking the loop. The contract suite
 * (contract.test.ts, "sqlite-commit-thread") checks what such commits store.
 */

const records = 60_000;

describe('SQLite commit thread', () => {
  let dir: string;
  let store: SqliteStore;
  const clock = fixedClock(new Date('2025-03-01T10:00:00.000Z'));

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vg-commit-thread-'));
    store = SqliteStore.open(join(dir, 'veilgate.db'), { clock, busyTimeoutMs: 10_000, commitOnThreadFromRows: records });
  });

  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A placement of `n` records staged under its lease, ready to commit. */
  async function stagedFile(receiptId: string, n: number): Promise<Lease> {
    const file = {
      receiptId, source: 'acme', kind: 'placement' as const, channel: 'cli' as const, envelope: 'pgp' as const, fileName: `${receiptId}.csv.gpg`,
      sha256: createHash('sha256').update(receiptId).digest('hex'), sizeBytes: 1, spoolPath: `/spool/${receiptId}`, receivedAt: clock.now().toISOString(),
    };
    await store.receiveFile(file, { actor: 'gateway', action: 'file.received', target: receiptId, details: {} });
    const lease = (await store.claimFile(receiptId, 'worker-1', clock.now().getTime(), 600_000, () => false))!;
    for (let from = 1; from <= n; from += 2_000) {
      const batch: StagedRecord[] = [];
      for (let i = from; i < Math.min(from + 2_000, n + 1); i++) {
        batch.push({
          recordNo: i, kind: 'placement', accountToken: `acct-${receiptId}-${i}`, subjectToken: `subj-${receiptId}-${i}`,
          data: '{"debt_type":"credit_card"}', vault: null, delinquencyDate: '2025-01-15', updateType: null, subjectState: null,
        });
      }
      await store.stage(lease, batch, []);
    }
    return lease;
  }

  it('keeps the event loop turning through a large commit, and holds this connection\'s writes until it ends', async () => {
    const lease = await stagedFile('big', records);
    const small = await stagedFile('small', 10);

    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    const ended: string[] = [];
    try {
      const committing = store.commitFile(lease, '{"state":"committed"}', clock.now().toISOString(), { actor: 'gateway', action: 'file.committed', target: 'big', details: {} })
        .then((outcome) => {
          ended.push('big');
          return outcome;
        });
      while (ticks < 3) await new Promise((resolve) => setTimeout(resolve, 1));
      // Asked for while the big commit runs: a write on the main connection, and a small commit (here).
      const ticksWhenAsked = ticks;
      const appended = store.appendAudit([{ actor: 'officer:ana', action: 'audit.export', target: 'all', details: {} }]).then(() => ended.push('append'));
      const smallCommit = store.commitFile(small, '{"state":"committed"}', clock.now().toISOString(), { actor: 'gateway', action: 'file.committed', target: 'small', details: {} })
        .then(() => ended.push('small'));
      expect(await committing).toBe('committed');
      const ticksDuringCommit = ticks - ticksWhenAsked;
      await Promise.all([appended, smallCommit]);

      // A commit on the main thread (or a write stuck on its lock) lets no timer fire until it ends.
      expect(ticksDuringCommit).toBeGreaterThanOrEqual(10);
      expect(ended[0]).toBe('big');
      expect(ended).toHaveLength(3);
    } finally {
      clearInterval(ticker);
    }

    const head = await store.auditHead();
    const chain = await store.readAudit(1, head.seq);
    expect(verifyChain(chain).ok).toBe(true);
    const actions = chain.map((e) => `${e.action}:${e.target}`);
    // The big commit's entry comes before those of the writes that waited for it.
    expect(actions.indexOf('file.committed:big')).toBeLessThan(actions.indexOf('audit.export:all'));
    expect(actions.indexOf('file.committed:big')).toBeLessThan(actions.indexOf('file.committed:small'));
    expect((await store.getFile('big'))?.state).toBe('committed');
    expect((await store.findAccounts([`acct-big-1`, `acct-big-${records}`])).size).toBe(2);
  }, 60_000);

  it('answers lease-lost from the thread when the lease moved on, and commits nothing', async () => {
    const lease = await stagedFile('moved', records);
    const outcome = await store.commitFile({ ...lease, token: lease.token + 1 }, '{"state":"committed"}', clock.now().toISOString(), { actor: 'gateway', action: 'file.committed', target: 'moved', details: {} });
    expect(outcome).toBe('lease-lost');
    expect((await store.getFile('moved'))?.state).toBe('processing');
    expect((await store.findAccounts(['acct-moved-1'])).size).toBe(0);
  }, 60_000);
});

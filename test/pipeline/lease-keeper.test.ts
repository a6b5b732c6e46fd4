import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { systemClock } from '../../src/lib/clock.js';
import { createLogger } from '../../src/lib/log.js';
import { keepLease } from '../../src/pipeline/lease-keeper.js';
import { openBackend, pgUrl, type Backend } from '../store/backends.js';

/**
 * The lease keeper on the real PostgreSQL, while another transaction holds the file's row, as a long
 * commit does: renewals must not pile up, each holding a pooled connection.
 */
describe('keepLease', () => {
  let backend: Backend | undefined;
  afterEach(async () => {
    await backend?.cleanup();
    backend = undefined;
  });

  it('waits with one renewal at a time while the file\'s row is locked, and renews once it is free', async () => {
    backend = await openBackend('postgres', systemClock);
    const { store } = backend;
    const receiptId = 'rcpt-lease-keeper';
    await store.receiveFile({ receiptId, source: 'acme', kind: 'placement', channel: 'cli', envelope: 'pgp', fileName: 'f.gpg', sha256: 'x', sizeBytes: 1, spoolPath: '/s/f', receivedAt: new Date().toISOString() },
      { actor: 'gateway', action: 'file.received', target: receiptId, details: {} });
    const lease = (await store.claimFile(receiptId, 'worker-1', Date.now(), 300, () => false))!;
    const [{ schema }] = await backend.rows('SELECT current_schema() AS schema') as [{ schema: string }];
    const untilMs = async () => Number((await backend!.rows(`SELECT lease_until_ms FROM files WHERE receipt_id = '${receiptId}'`))[0]!.lease_until_ms);
    const before = await untilMs();

    const locker = new pg.Client({ connectionString: pgUrl, options: `-c search_path=${schema}` });
    await locker.connect();
    const keeper = keepLease({ store, clock: systemClock, log: createLogger({ level: 'silent' }) }, lease, 300); // a tick every 250 ms
    try {
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM files WHERE receipt_id = $1 FOR UPDATE', [receiptId]);
      const lockerPid = (await locker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await sleep(1_600); // six ticks
      // Every session waiting behind the locker, directly or behind another waiter. The store's pool
      // holds 4 connections: without the one-at-a-time rule, all 4 ended up waiting here.
      const waiting = await backend.rows(`WITH RECURSIVE blocked(pid) AS (
          SELECT pid FROM pg_stat_activity WHERE ${lockerPid} = ANY(pg_blocking_pids(pid))
          UNION SELECT a.pid FROM pg_stat_activity a JOIN blocked b ON b.pid = ANY(pg_blocking_pids(a.pid)))
        SELECT count(*)::int AS n FROM blocked`);
      expect(waiting).toEqual([{ n: 1 }]);
      await locker.query('ROLLBACK');
      await sleep(600);
      expect(await untilMs()).toBeGreaterThan(before);
    } finally {
      keeper.stop();
      await locker.end();
    }
  });
});

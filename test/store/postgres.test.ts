import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { fixedClock } from '../../src/lib/clock.js';
import { verifyChain } from '../../src/audit/chain.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { postgresMigrations } from '../../src/store/migrations/postgres.js';
import { sqliteMigrations } from '../../src/store/migrations/sqlite.js';
import { pgTimeouts, pgUrl } from './backends.js';

/** What only the networked backend has to get right: connecting, migrating replicas, several writers. */
describe('postgres store', () => {
  const clock = fixedClock(new Date('2025-03-01T10:00:00.000Z'));
  const schemas: string[] = [];
  const stores: PostgresStore[] = [];

  const freshSchema = () => {
    const s = `vg_test_${randomBytes(6).toString('hex')}`;
    schemas.push(s);
    return s;
  };
  const open = async (schema: string) => {
    const s = await PostgresStore.open(pgUrl, { ...pgTimeouts, clock, schema, poolSize: 3 });
    stores.push(s);
    return s;
  };

  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    const c = new pg.Client({ connectionString: pgUrl });
    await c.connect();
    for (const s of schemas.splice(0)) await c.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    await c.end();
  });

  it('keeps its migration versions aligned with SQLite\'s', () => {
    expect(postgresMigrations.map((m) => [m.version, m.name])).toEqual(sqliteMigrations.map((m) => [m.version, m.name]));
  });

  it('answers an unreachable server with STORE_UNAVAILABLE, keeping pg\'s error only as the cause', async () => {
    const error: unknown = await PostgresStore.open('postgres://postgres@127.0.0.1:1/test', { ...pgTimeouts, clock, schema: freshSchema() }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', message: 'The database is unavailable' });
    expect((error as Error).cause).toBeInstanceOf(Error);
  });

  it('refuses a schema name that is not a plain identifier', async () => {
    await expect(PostgresStore.open(pgUrl, { ...pgTimeouts, clock, schema: 'x; DROP TABLE files' })).rejects.toThrow(/Invalid PostgreSQL schema name/);
  });

  it('migrates a new schema once when several replicas start together', async () => {
    const schema = freshSchema();
    const replicas = await Promise.all([open(schema), open(schema), open(schema)]);
    const c = new pg.Client({ connectionString: pgUrl });
    await c.connect();
    const { rows } = await c.query<{ version: number }>(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`);
    await c.end();
    expect(rows.map((r) => r.version)).toEqual(postgresMigrations.map((m) => m.version));
    for (const r of replicas) expect(await r.auditHead()).toEqual({ seq: 0, hash: '0'.repeat(64) });
  });

  it('gives concurrent commits on two replicas distinct commit sequence numbers and a feed in commit order', async () => {
    const schema = freshSchema();
    const [a, b] = [await open(schema), await open(schema)];
    const files = Array.from({ length: 8 }, (_, i) => `rcpt-${i}`);
    await Promise.all(files.map(async (receiptId, i) => {
      const store = i % 2 === 0 ? a : b;
      await store.receiveFile({ receiptId, source: 'acme', kind: 'placement', channel: 'cli', envelope: 'pgp', fileName: `${receiptId}.gpg`, sha256: receiptId, sizeBytes: 1, spoolPath: `/s/${receiptId}`, receivedAt: clock.now().toISOString() },
        { actor: 'gateway', action: 'file.received', target: receiptId, details: {} });
      const lease = (await store.claimFile(receiptId, `w${i}`, 0, 60_000, () => false))!;
      await store.stage(lease, [1, 2].map((n) => ({ recordNo: n, kind: 'placement' as const, accountToken: `${receiptId}-acct-${n}`, subjectToken: null, data: '{}', vault: null, delinquencyDate: null, updateType: null, subjectState: null })), []);
      expect(await store.commitFile(lease, '{}', clock.now().toISOString(), { actor: 'gateway', action: 'file.committed', target: receiptId, details: {} })).toBe('committed');
    }));
    const rows = await Promise.all(files.map((f) => a.getFile(f)));
    const commitSeqs = rows.map((r) => r!.commitSeq!).sort((x, y) => x - y);
    expect(commitSeqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // Feed events of one commit are contiguous and in the files' commit order: a cursor never skips.
    const events = await a.releaseFeed({ sources: null, afterSeq: 0, limit: 100 }, (evs) => ({ result: evs, audit: [] }));
    const byCommit = new Map(rows.map((r) => [r!.receiptId, r!.commitSeq!]));
    const commitOrder = events.map((e) => byCommit.get(e.accountToken.split('-acct-')[0]!)!);
    expect(commitOrder).toEqual([...commitOrder].sort((x, y) => x - y));
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    const head = await b.auditHead();
    expect(verifyChain(await b.readAudit(1, head.seq))).toMatchObject({ ok: true, entries: 16 });
  });

  it('bounds a statement held up by a stalled replica\'s lock: STORE_UNAVAILABLE after statementTimeoutMs, not a wait without end', async () => {
    const schema = freshSchema();
    const store = await PostgresStore.open(pgUrl, { ...pgTimeouts, clock, schema, poolSize: 2, statementTimeoutMs: 300 });
    stores.push(store);
    const draft = { actor: 'gateway', action: 'file.received', target: 'r1', details: {} };
    // Another replica stalls while it holds the audit chain head (mid-commit, say).
    const stalled = new pg.Client({ connectionString: pgUrl });
    await stalled.connect();
    try {
      await stalled.query('BEGIN');
      await stalled.query(`SELECT * FROM ${schema}.audit_head FOR UPDATE`);
      const started = Date.now();
      await expect(store.appendAudit([draft])).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      expect(Date.now() - started).toBeLessThan(5_000);
      await stalled.query('ROLLBACK');
    } finally {
      await stalled.end();
    }
    // Nothing half-written: once the lock is gone the same append goes through and the chain holds.
    await store.appendAudit([draft]);
    const head = await store.auditHead();
    expect(head.seq).toBe(1);
    expect(verifyChain(await store.readAudit(1, 1))).toMatchObject({ ok: true, entries: 1 });
  });

  it('keeps its schema and timeouts when the URL carries settings of its own (?options=), and applies those too', async () => {
    const schema = freshSchema();
    const name = `vg_opts_${randomBytes(4).toString('hex')}`;
    const url = `${pgUrl}${pgUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c application_name=${name}`)}`;
    const store = await PostgresStore.open(url, { ...pgTimeouts, clock, schema, poolSize: 2 });
    stores.push(store);
    await store.appendAudit([{ actor: 'gateway', action: 'file.received', target: 'r1', details: {} }]);
    const c = new pg.Client({ connectionString: pgUrl });
    await c.connect();
    try {
      // The tables are in the configured schema, not in whatever the search path would otherwise be.
      const { rows: [where] } = await c.query<{ ours: string | null; pub: string | null }>(`SELECT to_regclass('${schema}.audit_log')::text AS ours, to_regclass('public.audit_log')::text AS pub`);
      expect(where).toEqual({ ours: `${schema}.audit_log`, pub: null });
      // The URL's own setting reached the server as well.
      const { rows } = await c.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [name]);
      expect(rows.length).toBeGreaterThan(0);
    } finally {
      await c.end();
    }
  });
  it('moves the accounts of a schema made before migration 15 into subject_accounts, and finds a subject\'s accounts through them', async () => {
    const schema = freshSchema();
    const c = new pg.Client({ connectionString: pgUrl });
    await c.connect();
    try {
      // The schema as version 14 left it, with two accounts of one subject and one without a subject.
      await c.query(`CREATE SCHEMA ${schema}; SET search_path TO ${schema}`);
      await c.query('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
      for (const m of postgresMigrations.filter((m) => m.version <= 14)) {
        await c.query(m.sql);
        await c.query('INSERT INTO schema_migrations VALUES ($1, $2, $3)', [m.version, m.name, '2026-11-01T00:00:00.000Z']);
      }
      await c.query(`INSERT INTO files (receipt_id, source, kind, channel, envelope, file_name, sha256, size_bytes, spool_path, received_at, state)
        VALUES ('r1', 'acme', 'placement', 'cli', 'pgp', 'f', 'x', 0, '/nowhere', '2026-11-01T00:00:00.000Z', 'committed')`);
      for (const [account, subject, n] of [['A1', 'S1', 1], ['A2', 'S1', 2], ['A3', null, 3]] as const) {
        await c.query(`INSERT INTO records (receipt_id, record_no, kind, account_token, subject_token, data) VALUES ('r1', $1, 'placement', $2, $3, '{}')`, [n, account, subject]);
        await c.query(`INSERT INTO accounts (account_token, subject_token, status, placement_receipt, placement_record, commit_seq, source)
          VALUES ($1, $2, 'placed', 'r1', $3, 1, 'acme')`, [account, subject, n]);
      }

      const store = await open(schema);
      const { rows } = await c.query(`SELECT subject_token, account_token FROM ${schema}.subject_accounts ORDER BY 1, 2`);
      expect(rows).toEqual([{ subject_token: 'S1', account_token: 'A1' }, { subject_token: 'S1', account_token: 'A2' }]);
      expect((await c.query(`SELECT to_regclass('${schema}.accounts_by_subject') AS idx`)).rows).toEqual([{ idx: null }]);
      // A subject's change reaches both of its accounts through the new table.
      const changed = await store.recordSubjectChange({ subjectToken: 'S1', changes: { consent_email: 'withdrawn' }, origin: 'api:test', at: '2026-11-02T00:00:00.000Z' },
        { actor: 'gateway', action: 'subject.changed', target: 'S1', details: {} });
      expect(changed?.accounts).toBe(2);
    } finally {
      await c.end();
    }
  });
});

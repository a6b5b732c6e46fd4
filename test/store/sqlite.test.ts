import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixedClock } from '../../src/lib/clock.js';
import { sqliteMigrations } from '../../src/store/migrations/sqlite.js';
import { pageSizeBytes, SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

/**
 * SQLite-only storage choices: the page size and subject_accounts (migration 13).
 *
 * The page size is fixed when a SQLite database is created: new databases get the larger pages that
 * ingest is measured on, and a database made by an earlier version keeps its own and still opens.
 */
describe('SQLite page size and subject accounts', () => {
  const clock = fixedClock(new Date('2026-11-29T12:00:00.000Z'));
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const pageSizeOf = (file: string) => {
    const db = new Database(file, { readonly: true });
    try {
      return db.pragma('page_size', { simple: true });
    } finally {
      db.close();
    }
  };

  it('creates a new database with 16 KiB pages', async () => {
    dir = await mkdtemp(join(tmpdir(), 'vg-pages-'));
    const file = join(dir, 'veilgate.db');
    const store = SqliteStore.open(file, { clock, busyTimeoutMs: 1_000 });
    await store.close();
    expect(pageSizeBytes).toBe(16_384);
    expect(pageSizeOf(file)).toBe(16_384);
  });

  it('opens a database made with 4 KiB pages, keeps its pages and its rows', async () => {
    dir = await mkdtemp(join(tmpdir(), 'vg-pages-'));
    const file = join(dir, 'veilgate.db');
    // As an earlier version made it: SQLite's default page size, in WAL mode, with a row in it.
    const old = new Database(file);
    old.pragma('page_size = 4096');
    old.pragma('journal_mode = WAL');
    old.exec("CREATE TABLE keepsake (v TEXT); INSERT INTO keepsake VALUES ('still here')");
    old.close();

    const store = SqliteStore.open(file, { clock, busyTimeoutMs: 1_000 });
    expect((await store.auditHead()).seq).toBe(0);
    await store.close();

    expect(pageSizeOf(file)).toBe(4096);
    const db = new Database(file, { readonly: true });
    try {
      expect(db.prepare('SELECT v FROM keepsake').pluck().get()).toBe('still here');
    } finally {
      db.close();
    }
  });

  it('moves the accounts of a database made before migration 13 into subject_accounts', async () => {
    dir = await mkdtemp(join(tmpdir(), 'vg-pages-'));
    const file = join(dir, 'veilgate.db');
    // The schema as version 12 left it, with two accounts of one subject and one without a subject.
    const old = new Database(file);
    old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    for (const m of sqliteMigrations.filter((m) => m.version <= 12)) {
      old.exec(m.sql);
      old.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(m.version, m.name, '2026-11-01T00:00:00.000Z');
    }
    old.exec(`INSERT INTO files (receipt_id, source, kind, channel, file_name, sha256, size_bytes, spool_path, received_at, state)
      VALUES ('r1', 'acme', 'placement', 'cli', 'f', 'x', 0, '/nowhere', '2026-11-01T00:00:00.000Z', 'committed')`);
    const account = old.prepare(`INSERT INTO accounts (account_token, subject_token, status, placement_receipt, placement_record, commit_seq, source)
      VALUES (?, ?, 'placed', 'r1', ?, 1, 'acme')`);
    account.run('A1', 'S1', 1);
    account.run('A2', 'S1', 2);
    account.run('A3', null, 3);
    old.close();

    const store = SqliteStore.open(file, { clock, busyTimeoutMs: 1_000 });
    await store.close();
    const db = new Database(file, { readonly: true });
    try {
      expect(db.prepare('SELECT subject_token, account_token FROM subject_accounts ORDER BY 1, 2').all()).toEqual([
        { subject_token: 'S1', account_token: 'A1' },
        { subject_token: 'S1', account_token: 'A2' },
      ]);
      expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'accounts_by_subject'").all()).toEqual([]);
    } finally {
      db.close();
    }
  });
});

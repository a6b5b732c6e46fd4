import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixedClock } from '../../src/lib/clock.js';
import { pageSizeBytes, SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

/**
 * The page size is fixed when a SQLite database is created: new databases get the larger pages that
 * ingest is measured on, and a database made by an earlier version keeps its own and still opens.
 */
describe('SQLite page size', () => {
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
});

import Database from 'better-sqlite3';
import pg from 'pg';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../src/lib/clock.js';
import type { Store } from '../../src/store/store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { loadConfig } from '../../src/config/load.js';
import { PostgresStore, type ServerTimeouts } from '../../src/store/postgres/postgres-store.js';

/** sqlite-commit-thread: SQLite with every file's commit on its commit thread (large files' way), not only large ones'. */
export type BackendKind = 'sqlite' | 'sqlite-commit-thread' | 'postgres';

/** The test server (trust auth); override with VEILGATE_TEST_PG_URL. */
export const pgUrl = process.env.VEILGATE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** The server timeouts a configuration gets by default, for the stores tests open without one. */
export const pgTimeouts: ServerTimeouts = (({ statementTimeoutMs, idleInTransactionTimeoutMs }) => ({ statementTimeoutMs, idleInTransactionTimeoutMs }))(loadConfig().config.storage);

/** A fresh, empty store of one backend: a temp SQLite file, or a PostgreSQL schema of its own. */
export interface Backend {
  store: Store;
  /** Another store on the same database (another replica, or a second process's connection). */
  openAnother(): Promise<Store>;
  /** Records a migration newer than the code knows, as a later gateway version would. */
  markSchemaNewer(version: number): Promise<void>;
  /** Rows of a query run on the database directly, to check what is (not) written. */
  rows(sql: string): Promise<Array<Record<string, unknown>>>;
  /** What the database holds of a table at rest: SQLite, every byte of its files (database and WAL); PostgreSQL, the table's rows. */
  bytes(table: string): Promise<Buffer>;
  /** Closes every store opened here and removes the database. */
  cleanup(): Promise<void>;
}

export async function openBackend(kind: BackendKind, clock: Clock): Promise<Backend> {
  const opened: Store[] = [];
  if (kind !== 'postgres') {
    const dir = await mkdtemp(join(tmpdir(), 'vg-store-'));
    const file = join(dir, 'veilgate.db');
    const open = async () => {
      const s = SqliteStore.open(file, { clock, busyTimeoutMs: 10_000, ...(kind === 'sqlite-commit-thread' && { commitOnThreadFromRows: 0 }) });
      opened.push(s);
      return s;
    };
    return {
      store: await open(),
      openAnother: open,
      markSchemaNewer: async (version) => {
        const db = new Database(file);
        try {
          db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(version, 'from the future', clock.now().toISOString());
        } finally {
          db.close();
        }
      },
      rows: async (sql) => {
        const db = new Database(file, { readonly: true });
        try {
          return db.prepare(sql).all() as Array<Record<string, unknown>>;
        } finally {
          db.close();
        }
      },
      bytes: async () => Buffer.concat(await Promise.all((await readdir(dir)).map((f) => readFile(join(dir, f))))),
      cleanup: async () => {
        for (const s of opened) await s.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = `vg_test_${randomBytes(6).toString('hex')}`;
  const open = async () => {
    const s = await PostgresStore.open(pgUrl, { ...pgTimeouts, clock, schema, poolSize: 4 });
    opened.push(s);
    return s;
  };
  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: pgUrl, options: `-c search_path=${schema}` });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  const rows = (sql: string) => admin(async (c) => (await c.query<Record<string, unknown>>(sql)).rows);
  return {
    store: await open(),
    openAnother: open,
    markSchemaNewer: async (version) => {
      await admin((c) => c.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [version, 'from the future', clock.now().toISOString()]));
    },
    rows,
    bytes: async (table) => Buffer.from(JSON.stringify(await rows(`SELECT * FROM ${table}`))),
    cleanup: async () => {
      for (const s of opened) await s.close();
      await admin((c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
    },
  };
}

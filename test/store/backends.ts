import Database from 'better-sqlite3';
import pg from 'pg';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../src/lib/clock.js';
import type { Store } from '../../src/store/store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';

export type BackendKind = 'sqlite' | 'postgres';

/** The test server (trust auth); override with VEILGATE_TEST_PG_URL. */
export const pgUrl = process.env.VEILGATE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh, empty store of one backend: a temp SQLite file, or a PostgreSQL schema of its own. */
export interface Backend {
  store: Store;
  /** Another store on the same database (another replica, or a second process's connection). */
  openAnother(): Promise<Store>;
  /** Records a migration newer than the code knows, as a later gateway version would. */
  markSchemaNewer(version: number): Promise<void>;
  /** Closes every store opened here and removes the database. */
  cleanup(): Promise<void>;
}

export async function openBackend(kind: BackendKind, clock: Clock): Promise<Backend> {
  const opened: Store[] = [];
  if (kind === 'sqlite') {
    const dir = await mkdtemp(join(tmpdir(), 'vg-store-'));
    const file = join(dir, 'veilgate.db');
    const open = async () => {
      const s = SqliteStore.open(file, { clock, busyTimeoutMs: 10_000 });
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
      cleanup: async () => {
        for (const s of opened) await s.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = `vg_test_${randomBytes(6).toString('hex')}`;
  const open = async () => {
    const s = await PostgresStore.open(pgUrl, { clock, schema, poolSize: 4 });
    opened.push(s);
    return s;
  };
  const admin = async (fn: (c: pg.Client) => Promise<unknown>) => {
    const c = new pg.Client({ connectionString: pgUrl });
    await c.connect();
    try {
      await fn(c);
    } finally {
      await c.end();
    }
  };
  return {
    store: await open(),
    openAnother: open,
    markSchemaNewer: (version) => admin((c) => c.query(`INSERT INTO ${schema}.schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`, [version, 'from the future', clock.now().toISOString()])),
    cleanup: async () => {
      for (const s of opened) await s.close();
      await admin((c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
    },
  };
}

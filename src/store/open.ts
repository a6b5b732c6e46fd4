import { join } from 'node:path';
import type { Config } from '../config/types.js';
import type { Clock } from '../lib/clock.js';
import { PostgresStore } from './postgres/postgres-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

/** The configured store, migrated: SQLite (embedded default) or PostgreSQL (several replicas). */
export async function openStore(config: Config, clock: Clock): Promise<Store> {
  if (config.storage.kind === 'postgres') {
    const { url, schema, poolSize, statementTimeoutMs, idleInTransactionTimeoutMs } = config.storage;
    return PostgresStore.open(url!, { clock, schema, poolSize, statementTimeoutMs, idleInTransactionTimeoutMs });
  }
  return SqliteStore.open(join(config.dataDir, config.storage.sqliteFile), { clock, busyTimeoutMs: config.storage.busyTimeoutMs });
}

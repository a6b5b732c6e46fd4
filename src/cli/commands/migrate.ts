import { systemClock } from '../../lib/clock.js';
import { postgresMigrations } from '../../store/migrations/postgres.js';
import { sqliteMigrations } from '../../store/migrations/sqlite.js';
import { openStore } from '../../store/open.js';
import { commonOptions, exit, loadFromFlags, parse, writeJson, type Command } from '../io.js';

/**
 * `veilgate migrate`: brings the configured database to this version's schema (every store also
 * migrates on open; this lets an operator do it before starting replicas). A database newer than the
 * code is refused (STORE_SCHEMA_TOO_NEW) rather than misread.
 */
export const migrateCommand: Command = async (argv, io) => {
  const { values } = parse(argv, commonOptions, false);
  const { config } = loadFromFlags(values, io);
  const store = await openStore(config, systemClock);
  try {
    await store.ping();
    const migrations = config.storage.kind === 'postgres' ? postgresMigrations : sqliteMigrations;
    writeJson(io, { storage: config.storage.kind, schemaVersion: migrations[migrations.length - 1]!.version });
    return exit.ok;
  } finally {
    await store.close();
  }
};

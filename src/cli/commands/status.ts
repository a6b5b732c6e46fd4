import { join } from 'node:path';
import { systemClock } from '../../lib/clock.js';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import { commonOptions, exit, loadFromFlags, parse, writeJson, type Command } from '../io.js';

/** `veilgate status`: files by source and state, and the audit head. */
export const statusCommand: Command = async (argv, io) => {
  const { values } = parse(argv, commonOptions, false);
  const { config } = loadFromFlags(values, io);
  const store = SqliteStore.open(join(config.dataDir, config.storage.sqliteFile), { clock: systemClock, busyTimeoutMs: config.storage.busyTimeoutMs });
  try {
    const sources: Record<string, Record<string, number>> = {};
    for (const id of Object.keys(config.sources)) sources[id] = {};
    for (const row of await store.fileCounts()) (sources[row.source] ??= {})[row.state] = row.count;
    writeJson(io, { dataDir: config.dataDir, sources, audit: await store.auditHead() });
    return exit.ok;
  } finally {
    await store.close();
  }
};

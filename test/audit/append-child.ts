/** A second gateway process appending audit entries to the same database: `node --import tsx append-child.ts <config> <n> <label>`. */
import { loadConfig } from '../../src/config/load.js';
import { systemClock } from '../../src/lib/clock.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { join } from 'node:path';

const [configFile, count, label] = process.argv.slice(2) as [string, string, string];
const { config } = loadConfig({ file: configFile, env: {} });
const store = SqliteStore.open(join(config.dataDir, config.storage.sqliteFile), { clock: systemClock, busyTimeoutMs: 30_000 });
let next = 0;
await Promise.all(Array.from({ length: 8 }, async () => {
  while (next < Number(count)) {
    const i = next++;
    await store.appendAudit([{ actor: `operator`, action: 'test.append', target: `${label}:${i}`, details: { i, label } }]);
  }
}));
await store.close();

import { systemClock } from '../../lib/clock.js';
import { overdueRecalls } from '../../release/recalls.js';
import { openStore } from '../../store/open.js';
import { commonOptions, exit, loadFromFlags, parse, writeJson, type Command } from '../io.js';

/**
 * `veilgate status`: per source, files by state and (for SFTP sources) deliveries not yet finished
 * and the replica polling it;
 * per recipient, how far it acknowledged its feed and the recalls it has left unacknowledged too long;
 * and the audit head. Read from the database, so it works beside a running `serve`.
 */
export const statusCommand: Command = async (argv, io) => {
  const { values } = parse(argv, commonOptions, false);
  const { config } = loadFromFlags(values, io);
  const store = await openStore(config, systemClock);
  try {
    const sources: Record<string, { files: Record<string, number>; sftp?: { host: string; unfinishedDeliveries: number; polledBy: string | null } }> = {};
    const leases = await store.listSourceLeases(systemClock.now().getTime());
    for (const [id, source] of Object.entries(config.sources)) {
      sources[id] = { files: {} };
      if (source.sftp === undefined) continue;
      // The replica (host:pid:…) holding the source's polling lease; null when none is polling it now.
      const polledBy = leases.find((l) => l.source === id)?.owner ?? null;
      sources[id].sftp = { host: `${source.sftp.host}:${source.sftp.port}`, unfinishedDeliveries: (await store.unfinishedSftpDeliveries(id)).length, polledBy };
    }
    for (const row of await store.fileCounts()) (sources[row.source] ??= { files: {} }).files[row.state] = row.count;
    const overdue = await overdueRecalls({ config, store, clock: systemClock });
    const recipients = Object.fromEntries(await Promise.all(Object.keys(config.recipients).map(async (id) => {
      const late = overdue.find((o) => o.recipient === id)!;
      return [id, { feedAcknowledged: await store.feedPosition(id), overdueRecalls: late.count, oldestOverdueRecallAt: late.oldestAt }] as const;
    })));
    writeJson(io, { dataDir: config.dataDir, sources, recipients, feedHead: await store.feedHead(), audit: await store.auditHead() });
    return exit.ok;
  } finally {
    await store.close();
  }
};

import { join } from 'node:path';
import { verifyChain } from '../../audit/chain.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { systemClock } from '../../lib/clock.js';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import { commonOptions, exit, loadFromFlags, parse, writeJson, type Command } from '../io.js';

/** Entries read per step: verification memory stays bounded whatever the log's length. */
const pageEntries = 10_000;

/** `veilgate audit verify`: recomputes the whole chain in the database and names the first broken entry. */
export const auditCommand: Command = async (argv, io) => {
  const [sub, ...rest] = argv;
  if (sub !== 'verify') throw new GatewayError('USAGE_INVALID', { usage: 'veilgate audit verify [--config F] [--data-dir D]' });
  const { values } = parse(rest, commonOptions, false);
  const { config } = loadFromFlags(values, io);
  const store = SqliteStore.open(join(config.dataDir, config.storage.sqliteFile), { clock: systemClock, busyTimeoutMs: config.storage.busyTimeoutMs });
  try {
    const head = await store.auditHead();
    let position = { seq: 0, hash: '0'.repeat(64) };
    let entries = 0;
    for (let from = 1; from <= head.seq; from += pageEntries) {
      const check = verifyChain(await store.readAudit(from, from + pageEntries - 1), position);
      if (!check.ok) {
        writeJson(io, { ok: false, firstBadSeq: check.firstBadSeq, reason: check.reason });
        return exit.failure;
      }
      position = check.head;
      entries += check.entries;
    }
    if (position.seq !== head.seq) {
      writeJson(io, { ok: false, firstBadSeq: position.seq + 1, reason: 'entry missing' });
      return exit.failure;
    }
    writeJson(io, { ok: true, entries, head: position });
    return exit.ok;
  } finally {
    await store.close();
  }
};

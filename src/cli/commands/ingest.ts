import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import type { RecordKind } from '../../config/types.js';
import { buildDeps } from '../../deps.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { receiveDelivery } from '../../ingest/receive.js';
import { systemClock } from '../../lib/clock.js';
import { processFile, type Progress } from '../../pipeline/process-file.js';
import { cliLogger, commonOptions, exit, loadFromFlags, parse, writeJson, type Command } from '../io.js';

const kinds: readonly RecordKind[] = ['placement', 'recall', 'update'];

export const usage = 'veilgate ingest --source ID --kind placement|recall|update [--config F] [--data-dir D] [--name DISPLAY_NAME] FILE';

/**
 * `veilgate ingest`: a local file through the same door as SFTP and the API (spool first), then the
 * pipeline; prints the acknowledgement. Exit 0 committed or duplicate, 3 rejected.
 */
export const ingestCommand: Command = async (argv, io) => {
  const { values, positionals } = parse(argv, { ...commonOptions, source: { type: 'string' }, kind: { type: 'string' }, name: { type: 'string' } });
  if (positionals.length !== 1 || values.source === undefined || values.kind === undefined) throw new GatewayError('USAGE_INVALID', { usage });
  if (!kinds.includes(values.kind as RecordKind)) throw new GatewayError('USAGE_INVALID', { reason: '--kind must be placement, recall or update' });
  const path = positionals[0]!;

  const { config } = loadFromFlags(values, io);
  const log = cliLogger(values['log-level'], io);
  const deps = await buildDeps(config, { clock: systemClock, log });
  try {
    const receipt = await receiveDelivery(deps, {
      source: values.source, kind: values.kind as RecordKind, channel: 'cli', fileName: values.name ?? basename(path),
      bytes: createReadStream(path, { highWaterMark: 1 << 20 }),
    });
    if (receipt.outcome === 'duplicate') {
      writeJson(io, receipt.ack);
      return exit.ok;
    }
    const progress = io.stderr.isTTY === true ? progressPrinter(io) : undefined;
    const ack = await processFile(deps, receipt.receiptId, progress === undefined ? undefined : (p) => progress.update(p));
    progress?.done();
    writeJson(io, ack);
    return ack.status === 'rejected' ? exit.rejected : exit.ok;
  } finally {
    await deps.store.close();
  }
};

/** Records and MiB/s on a terminal's stderr, at most every 200 ms. */
function progressPrinter(io: Parameters<Command>[1]) {
  const started = Date.now();
  let last = 0;
  return {
    update(p: Progress) {
      const now = Date.now();
      if (now - last < 200) return;
      last = now;
      const seconds = Math.max(0.001, (now - started) / 1000);
      io.stderr.write(`\r${p.records.toLocaleString('en-US')} records  ${(p.plaintextBytes / 1048576 / seconds).toFixed(1)} MiB/s  `);
    },
    done() {
      if (last > 0) io.stderr.write('\n');
    },
  };
}

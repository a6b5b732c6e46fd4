import { readFileSync } from 'node:fs';
import { CheckpointSigner } from '../../audit/checkpoint.js';
import { checkpointNow } from '../../audit/checkpointer.js';
import { ChainMonitor } from '../../audit/chain-monitor.js';
import { exportLines } from '../../audit/export.js';
import { verifyExportFile } from '../../audit/verify-parallel.js';
import type { Config } from '../../config/types.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { systemClock } from '../../lib/clock.js';
import type { Store } from '../../store/store.js';
import { commonOptions, exit, loadFromFlags, parse, writeJson, type CliIo, type Command } from '../io.js';

const usage = `veilgate audit verify                         recompute the chain in the database (and check its checkpoints)
veilgate audit verify FILE --key JWKS [--checkpoint F]...
                                              verify an export offline with the gateway's public keys only
veilgate audit export [--from N] [--to M]     entries and signed checkpoints as NDJSON on stdout
veilgate audit checkpoint                     sign a checkpoint of the chain head now`;

/** `veilgate audit …`: verify the chain (in the database, or an export offline), export it, checkpoint it. */
export const auditCommand: Command = async (argv, io) => {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'verify': return verify(rest, io);
    case 'export': return exportAudit(rest, io);
    case 'checkpoint': return checkpoint(rest, io);
    default: throw new GatewayError('USAGE_INVALID', { usage });
  }
};

async function verify(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, { ...commonOptions, key: { type: 'string' }, checkpoint: { type: 'string', multiple: true } });
  if (positionals.length > 0) {
    // Offline: nothing but the file and the public keys; no configuration, no database.
    if (values.key === undefined || positionals.length !== 1) throw new GatewayError('USAGE_INVALID', { usage });
    const jwks = JSON.parse(readFileSync(values.key, 'utf8')) as { keys: Array<Record<string, string>> };
    const kept = (values.checkpoint ?? []).map((f) => readFileSync(f, 'utf8'));
    const result = await verifyExportFile(positionals[0]!, jwks, kept);
    writeJson(io, result);
    return result.ok ? exit.ok : exit.failure;
  }
  return withStore(values, io, async (store) => {
    const state = await new ChainMonitor().check(store, systemClock.now().toISOString());
    if (!state.ok) {
      writeJson(io, { ok: false, firstBadSeq: state.firstBadSeq, reason: state.reason });
      return exit.failure;
    }
    writeJson(io, { ok: true, entries: state.verifiedSeq, head: state.head, checkpoints: state.checkpoints });
    return exit.ok;
  });
}

async function exportAudit(argv: string[], io: CliIo): Promise<number> {
  const { values } = parse(argv, { ...commonOptions, from: { type: 'string' }, to: { type: 'string' } }, false);
  const range = { from: seqFlag(values.from), to: seqFlag(values.to) };
  return withStore(values, io, async (store) => {
    for await (const chunk of exportLines(store, range)) {
      if (!io.stdout.write(chunk)) await new Promise((resolve) => io.stdout.once('drain', resolve));
    }
    return exit.ok;
  });
}

async function checkpoint(argv: string[], io: CliIo): Promise<number> {
  const { values } = parse(argv, commonOptions, false);
  return withStore(values, io, async (store, config) => {
    const signed = await checkpointNow({ store, checkpoints: CheckpointSigner.fromJwks(config.keys.jwksFile), clock: systemClock });
    writeJson(io, signed);
    return exit.ok;
  });
}

/**
 * Opens the configured store for a database-backed subcommand. The store (better-sqlite3, pg) loads
 * here, on demand: the offline `verify FILE --key` must start fast and needs neither.
 */
async function withStore(values: { config?: string; 'data-dir'?: string }, io: CliIo, run: (store: Store, config: Config) => Promise<number>): Promise<number> {
  const { config } = loadFromFlags(values, io);
  const { openStore } = await import('../../store/open.js');
  const store = await openStore(config, systemClock);
  try {
    return await run(store, config);
  } finally {
    await store.close();
  }
}

function seqFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,15}$/.test(value)) throw new GatewayError('USAGE_INVALID', { reason: '--from and --to are sequence numbers' });
  return Number(value);
}

/**
 * Runs the SFTP pollers (and the recovery of unfinished files, as `veilgate serve` does) for one
 * config file in a process of its own, for the crash tests: `node --import tsx poller-child.ts <config>`.
 *
 * Test-only hook: VG_CRASH_AT=<stage> makes the process SIGKILL itself at that stage, by wrapping
 * the store it was given. Nothing in src/ knows about it.
 *   listing      while the second cycle lists the inbound folder (the first one only observed the files)
 *   download     while the first download is written into the spool (at the latest, before its receipt)
 *   spooled      after the first receipt is recorded, before the delivery is linked to it
 *   committed    after the first file is committed, before its ack is written
 *   ack-written  after the first ack is in place, before that is recorded
 *   moved        after the first remote file is moved, before the delivery is finished
 * SIGTERM stops the pollers gracefully and exits 0.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { buildDeps } from '../../src/deps.js';
import { startSftpPollers } from '../../src/ingest/sftp-poller.js';
import { systemClock } from '../../src/lib/clock.js';
import { createLogger } from '../../src/lib/log.js';
import { startRecovery } from '../../src/pipeline/recovery.js';
import type { Store } from '../../src/store/store.js';

type CrashStage = 'listing' | 'download' | 'spooled' | 'committed' | 'ack-written' | 'moved';

function die(stage: string): void {
  process.stderr.write(`poller-child: crashing at ${stage}\n`);
  process.kill(process.pid, 'SIGKILL');
}

/** Wraps one store method so that the process dies before or after its first call completes. */
function crashAround<K extends keyof Store>(store: Store, method: K, when: 'before' | 'after', stage: string, onCall = 1): void {
  const original = (store[method] as (...args: unknown[]) => Promise<unknown>).bind(store);
  let calls = 0;
  (store as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
    calls += 1;
    if (calls === onCall && when === 'before') die(stage);
    const result = await original(...args);
    if (calls === onCall && when === 'after') {
      if (stage === 'listing') setImmediate(() => die(stage));
      else die(stage);
    }
    return result;
  };
}

async function main(): Promise<void> {
  const configFile = process.argv[2];
  if (configFile === undefined) throw new Error('usage: poller-child.ts <config file>');
  const { config } = loadConfig({ file: configFile, env: {} });
  const log = createLogger({ level: process.env.VG_LOG_LEVEL ?? 'warn', destination: 2 });
  const deps = await buildDeps(config, { clock: systemClock, log });
  const stage = process.env.VG_CRASH_AT as CrashStage | undefined;
  const { store } = deps;
  switch (stage) {
    case undefined:
      break;
    case 'listing':
      crashAround(store, 'unfinishedSftpDeliveries', 'after', stage, 2);
      break;
    case 'download': {
      // Polled rather than fs.watch'ed: inotify instances are a scarce per-user resource on shared CI machines.
      const dirs = Object.keys(config.sources).map((source) => join(deps.spoolDir, source));
      for (const dir of dirs) mkdirSync(dir, { recursive: true });
      setInterval(() => {
        for (const dir of dirs) if (readdirSync(dir).some((n) => n.startsWith('.incoming-'))) die(stage);
      }, 1);
      // A small file may be spooled between two looks: then die at the latest moment of the stage.
      crashAround(store, 'receiveFile', 'before', stage);
      break;
    }
    case 'spooled':
      crashAround(store, 'receiveFile', 'after', stage);
      break;
    case 'committed':
      crashAround(store, 'commitFile', 'after', stage);
      break;
    case 'ack-written':
      crashAround(store, 'markSftpAckWritten', 'before', stage);
      break;
    case 'moved':
      crashAround(store, 'finishSftpDelivery', 'before', stage);
      break;
    default:
      throw new Error(`unknown VG_CRASH_AT stage ${String(stage)}`);
  }
  const recovery = startRecovery(deps, 1000);
  const pollers = startSftpPollers(deps);
  process.once('SIGTERM', () => {
    void (async () => {
      await pollers.stop();
      await recovery.stop();
      await deps.store.close();
      process.exit(0);
    })();
  });
  process.stderr.write('poller-child: running\n');
}

await main();

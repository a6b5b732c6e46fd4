import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { once } from 'node:events';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gpg } from '../helpers/gpg.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';
import { startSftpPollers } from '../../src/ingest/sftp-poller.js';
import { startRecovery } from '../../src/pipeline/recovery.js';
import { projectRoot, workspaceDeps, type Workspace } from '../helpers/workspace.js';
import { ageFile, gpgPlacementFile, listDir, query, sftpSection, sftpWorkspace, stopGpgAgent, waitUntil } from './harness.js';
import { tempDir } from '../helpers/temp-dirs.js';

let sshd: TestSshd;
let gpg: Gpg;
let files: { a: string; b: string };
beforeAll(async () => {
  [sshd, gpg] = await Promise.all([startSshd(), Gpg.create()]);
  const local = tempDir('vg-sftp-');
  files = {
    a: await gpgPlacementFile(gpg, local, 'a.csv.gpg', ['ACC-A1', 'ACC-A2']),
    b: await gpgPlacementFile(gpg, local, 'b.csv.gpg', ['ACC-B1']),
  };
});
afterAll(async () => {
  await stopGpgAgent(gpg);
  await sshd?.stop();
});

const childScript = join(import.meta.dirname, 'poller-child.ts');

/** The pollers in a process of their own (with the recovery of unfinished files, as `serve` runs them), set to crash at a stage. */
function startChild(ws: Workspace, crashAt: string): { child: ChildProcess; stderr: () => string; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, ws.configFile], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, VG_CRASH_AT: crashAt },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const exit = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  return { child, stderr: () => stderr, exit };
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const stages = ['listing', 'download', 'spooled', 'committed', 'ack-written', 'moved'] as const;

describe('the gateway SIGKILLed at each stage of taking SFTP files', () => {
  it.concurrent.each(stages)('converges after a crash at "%s": every file in exactly one state, no record twice, each ack written once with the stored content', async (stage) => {
    const base = `crash-${stage}`;
    const ws = sftpWorkspace({ 'demo-bank': sftpSection(sshd, base, { settleMs: 300, pollIntervalMs: 150 }) });
    const inbound = join(sshd.root, base, 'inbound');
    // a and b differ; c has a's bytes (a duplicate, whichever of the two is taken first).
    copyFileSync(files.a, join(inbound, 'a.csv.gpg'));
    copyFileSync(files.b, join(inbound, 'b.csv.gpg'));
    copyFileSync(files.a, join(inbound, 'c.csv.gpg'));
    for (const n of ['a', 'b', 'c']) ageFile(join(inbound, `${n}.csv.gpg`));

    const first = startChild(ws, stage);
    const died = await within(first.exit, 40_000, `the child to crash at ${stage}`);
    expect(died, first.stderr()).toEqual({ code: null, signal: 'SIGKILL' });
    expect(first.stderr()).toContain(`crashing at ${stage}`);

    // The restart: a fresh gateway over the same data folder, with the recovery of unfinished files as `serve` runs it.
    const { deps, logs } = await workspaceDeps(ws);
    const recovery = startRecovery(deps, 1000);
    const pollers = startSftpPollers(deps);
    try {
      await waitUntil(() => {
        if (listDir(join(inbound, 'processed')).length < 3 || listDir(join(inbound, 'acks')).length < 3) return false;
        return query<{ n: number }>(ws, 'SELECT COUNT(*) AS n FROM sftp_deliveries WHERE finished_at IS NULL')[0]!.n === 0;
      }, `convergence after a crash at ${stage}`, 40_000);
    } finally {
      await pollers.stop();
      await recovery.stop();
      await deps.store.close();
    }

    if (stage === 'spooled') {
      // The bytes spooled and recorded before the crash are linked, not received a second time as a duplicate.
      expect(logs.parsed().some((l) => l.msg === 'sftp file was spooled by an earlier attempt; linking that receipt')).toBe(true);
    }
    expect(listDir(inbound)).toEqual(['acks', 'processed']);
    expect(listDir(join(inbound, 'processed'))).toEqual(['a.csv.gpg', 'b.csv.gpg', 'c.csv.gpg']);
    // Exactly one ack per file: no second copy under another name, no temp file left.
    expect(listDir(join(inbound, 'acks'))).toEqual(['a.csv.gpg.ack.json.gpg', 'b.csv.gpg.ack.json.gpg', 'c.csv.gpg.ack.json.gpg']);
    expect(query<{ state: string }>(ws, 'SELECT state FROM files').map((f) => f.state).sort()).toEqual(['committed', 'committed', 'duplicate']);
    expect(query(ws, 'SELECT COUNT(*) AS n, COUNT(DISTINCT account_token) AS accounts FROM records')).toEqual([{ n: 3, accounts: 3 }]);

    const deliveries = query<{ remote_path: string; receipt_id: string; ack_written: number; ack: string; state: string }>(ws,
      'SELECT d.remote_path, d.receipt_id, d.ack_written, f.ack, f.state FROM sftp_deliveries d JOIN files f ON f.receipt_id = d.receipt_id ORDER BY d.remote_path');
    expect(deliveries.map((d) => basename(d.remote_path))).toEqual(['a.csv.gpg', 'b.csv.gpg', 'c.csv.gpg']);
    expect(new Set(deliveries.map((d) => d.receipt_id)).size).toBe(3);
    for (const d of deliveries) {
      expect(d.ack_written).toBe(1);
      const { plaintext, status } = await gpg.decrypt(join(inbound, 'acks', `${basename(d.remote_path)}.ack.json.gpg`));
      expect(status).toMatch(/\[GNUPG:\] GOODSIG/);
      expect(JSON.parse(plaintext)).toEqual(JSON.parse(d.ack));
    }
  }, 120_000);
});

import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Deps } from '../../src/deps.js';
import { startSftpPollers, type SftpPollers } from '../../src/ingest/sftp-poller.js';
import { placementRow, writeCsv } from '../helpers/files.js';
import type { Gpg } from '../helpers/gpg.js';
import type { LogSink } from '../helpers/log-sink.js';
import type { TestSshd } from '../helpers/sshd.js';
import { makeWorkspace, workspaceDeps, type Workspace } from '../helpers/workspace.js';

/** Short intervals so that the suite runs in seconds; every test has its own remote folder. */
export const fast = { pollIntervalMs: 200, settleMs: 500, callTimeoutMs: 2000, keepaliveIntervalMs: 1000, maxBackoffMs: 1000 };

/** The `sftp` section of a source that polls the test sshd, with its inbound folder `<base>/inbound`. */
export function sftpSection(sshd: TestSshd, base: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  mkdirSync(join(sshd.root, base, 'inbound'), { recursive: true });
  return {
    host: '127.0.0.1',
    port: sshd.port,
    username: sshd.username,
    privateKeyFile: sshd.clientKeyFile,
    hostKeySha256: sshd.hostKeySha256,
    inbound: [{ dir: `${base}/inbound`, kind: 'placement' }],
    ...fast,
    ...overrides,
  };
}

/** A workspace whose sources poll the given sftp sections (others have none). */
export function sftpWorkspace(sections: Record<string, Record<string, unknown>>, adjust: NonNullable<Parameters<typeof makeWorkspace>[0]> = () => {}): Workspace {
  return makeWorkspace((raw) => {
    for (const [source, sftp] of Object.entries(sections)) raw.sources[source]!.sftp = sftp;
    adjust(raw);
  });
}

export interface RunningPollers {
  deps: Deps;
  logs: LogSink;
  pollers: SftpPollers;
  cycles: Map<string, number>;
  stop(): Promise<void>;
}

export async function startPollers(ws: Workspace): Promise<RunningPollers> {
  const { deps, logs } = await workspaceDeps(ws);
  const cycles = new Map<string, number>();
  const pollers = startSftpPollers(deps, { onCycle: (s) => cycles.set(s, (cycles.get(s) ?? 0) + 1) });
  return {
    deps, logs, pollers, cycles,
    stop: async () => {
      await pollers.stop();
      await deps.store.close();
    },
  };
}

/** A creditor's file: a CSV of placement rows, encrypted to the gateway and signed with the real gpg. */
export async function gpgPlacementFile(gpg: Gpg, dir: string, name: string, refs: string[], options: { signer?: string; rowOverrides?: Record<string, Record<string, string>>; compress?: 'zlib' | 'none' } = {}): Promise<string> {
  const csv = writeCsv(join(dir, `${name}.csv`), refs.map((ref) => placementRow(ref, options.rowOverrides?.[ref])));
  const out = join(dir, name);
  await gpg.encrypt(csv, out, { signer: options.signer ?? 'demo-bank@example.invalid', ...(options.compress === undefined ? {} : { compress: options.compress }) });
  return out;
}

/** Sets a file's mtime into the past: files are often moved in with an old mtime, and such a file must still be taken. */
export function ageFile(path: string, secondsAgo = 120): void {
  const t = new Date(Date.now() - secondsAgo * 1000);
  utimesSync(path, t, t);
}

export async function waitUntil<T>(probe: () => T | Promise<T>, what: string, timeoutMs = 20_000, everyMs = 50): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function listDir(path: string): string[] {
  return existsSync(path) ? readdirSync(path).sort() : [];
}

/** Reads the gateway's database directly (read-only), as an auditor would. */
export function query<T>(ws: Workspace, sql: string, ...params: unknown[]): T[] {
  const db = new Database(join(ws.dataDir, ws.config.storage.sqliteFile), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

/** Stops the gpg-agent that gpg started for a test's GnuPG home (each home gets its own agent). */
export async function stopGpgAgent(gpg: Gpg | undefined): Promise<void> {
  if (gpg === undefined) return;
  await new Promise<void>((resolve) => execFile('gpgconf', ['--homedir', gpg.home, '--kill', 'gpg-agent'], () => resolve()));
}

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvRow, placementCsv } from '../../src/demo/sample-placements.js';
import { encryptBytes } from '../../src/open/pgp-write.js';
import { cliEntry, runVeilgate } from '../helpers/cli.js';
import { placementRow } from '../helpers/files.js';
import { Gpg, keysDir, uids } from '../helpers/gpg.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';
import { projectRoot } from '../helpers/workspace.js';
import { listDir, sftpSection, sftpWorkspace, stopGpgAgent, waitUntil } from '../sftp/harness.js';
import { pgUrl } from '../store/backends.js';

/**
 * Several `veilgate serve` processes on one PostgreSQL and one sshd, as a production deployment
 * runs them: each SFTP file is taken exactly once, a replica SIGKILLed in the middle of a file is
 * replaced by another that finishes it, and the audit chain stays one chain.
 */

const schema = `vg_rep_${randomBytes(6).toString('hex')}`;
let sshd: TestSshd;
let gpg: Gpg;
const db = new pg.Client({ connectionString: pgUrl });

beforeAll(async () => {
  sshd = await startSshd();
  gpg = await Gpg.create();
  await db.connect();
});
afterAll(async () => {
  await sshd?.stop();
  await stopGpgAgent(gpg);
  await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await db.end();
});

const sql = async <T>(text: string, params: unknown[] = []): Promise<T[]> => (await db.query(text.replaceAll('{s}', schema), params)).rows as T[];

interface Replica {
  child: ChildProcess;
  url: string;
  /** The JSON log lines the process wrote so far. */
  logs(): Array<Record<string, unknown>>;
  exited: Promise<number | null>;
}

async function startReplica(configFile: string): Promise<Replica> {
  const child = spawn(process.execPath, [cliEntry, 'serve', '--config', configFile, '--port', '0'], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /listening on (http\S+)/.exec(stderr);
      if (m !== null) resolve(m[1]!);
    });
    void exited.then(() => reject(new Error(`serve exited early: ${stderr}`)));
  });
  const logs = () => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { child, url, logs, exited };
}

/** The creditors' side: small files made with openpgp.js (gpg per file would take minutes), encrypted to the gateway and signed. */
async function writeSmallFiles(dir: string, source: 'demo-bank' | 'demo-agency', count: number, recordsEach: number): Promise<void> {
  const gateway = await openpgp.readKey({ armoredKey: readFileSync(join(keysDir, 'gateway.pgp.pub.asc'), 'utf8') });
  const signer = await openpgp.readPrivateKey({ armoredKey: readFileSync(join(keysDir, `${source}.pgp.asc`), 'utf8') });
  const columns = Object.keys(placementRow('x'));
  for (let i = 0; i < count; i++) {
    let csv = csvRow(columns);
    for (let r = 0; r < recordsEach; r++) {
      const row = placementRow(`${source}-${String(i).padStart(4, '0')}-${r}`);
      csv += csvRow(columns.map((c) => row[c]!));
    }
    const bytes = await encryptBytes(new TextEncoder().encode(csv), { encryptionKeys: [gateway], signingKeys: [signer] });
    writeFileSync(join(dir, `${source}_${String(i).padStart(4, '0')}.csv.gpg`), bytes);
  }
}

const pidOf = (leaseOwner: string) => Number(leaseOwner.split(':')[1]);

describe('three replicas on one PostgreSQL', () => {
  it('take 200 SFTP files exactly once, finish the file of a replica SIGKILLed mid-file, and keep one audit chain', async () => {
    const ws = sftpWorkspace(
      { 'demo-bank': sftpSection(sshd, 'rep-bank', { settleMs: 0 }), 'demo-agency': sftpSection(sshd, 'rep-agency', { settleMs: 0 }) },
      (raw) => {
        (raw as Record<string, unknown>).storage = { kind: 'postgres', url: pgUrl, schema };
        // Short leases: a dead replica's source is taken over within seconds.
        raw.limits = { ...raw.limits, leaseTtlMs: 3_000 };
      },
    );
    const bankInbound = join(sshd.root, 'rep-bank', 'inbound');
    const agencyInbound = join(sshd.root, 'rep-agency', 'inbound');
    await writeSmallFiles(bankInbound, 'demo-bank', 100, 3);
    await writeSmallFiles(agencyInbound, 'demo-agency', 100, 3);
    // One large file, so that a replica can be caught in the middle of it.
    const bigRecords = 30_000;
    const bigCsv = join(ws.dir, 'big.csv');
    const out = createWriteStream(bigCsv);
    for (const chunk of placementCsv(bigRecords, { seed: 7, trailer: true, sourcePrefix: 'BIG' })) if (!out.write(chunk)) await once(out, 'drain');
    out.end();
    await once(out, 'finish');
    await gpg.encrypt(bigCsv, join(bankInbound, 'demo-bank_big.csv.gpg'), { signer: uids['demo-bank'] });

    expect((await runVeilgate(['migrate', '--config', ws.configFile])).status).toBe(0);
    const replicas = await Promise.all([0, 1, 2].map(() => startReplica(ws.configFile)));
    try {
      // SIGKILL the replica processing the large file, once it is well into it.
      const owner = await waitUntil(async () => {
        const rows = await sql<{ lease_owner: string; staged: number }>(`SELECT f.lease_owner, (SELECT COUNT(*)::int FROM {s}.records r WHERE r.receipt_id = f.receipt_id) AS staged
          FROM {s}.files f WHERE f.file_name = 'demo-bank_big.csv.gpg' AND f.state = 'processing'`);
        return rows.length === 1 && rows[0]!.staged >= 2_000 ? rows[0]!.lease_owner : null;
      }, 'the large file to be part-staged', 90_000, 100);
      const victim = replicas.find((r) => r.child.pid === pidOf(owner))!;
      expect(victim).toBeDefined();
      victim.child.kill('SIGKILL');
      expect(await victim.exited).toBeNull();
      const survivors = replicas.filter((r) => r !== victim);

      await waitUntil(async () => {
        const [row] = await sql<{ committed: number; open: number }>(`SELECT (SELECT COUNT(*)::int FROM {s}.files WHERE state = 'committed') AS committed,
          (SELECT COUNT(*)::int FROM {s}.sftp_deliveries WHERE finished_at IS NULL) AS open`);
        return row!.committed === 201 && row!.open === 0;
      }, 'all 201 files committed and their deliveries finished', 150_000, 250);

      // Exactly once: one file row per remote file, every record once, nothing left behind.
      expect(await sql(`SELECT state, COUNT(*)::int AS n FROM {s}.files GROUP BY state`)).toEqual([{ state: 'committed', n: 201 }]);
      expect(await sql(`SELECT COUNT(DISTINCT file_name)::int AS n FROM {s}.files`)).toEqual([{ n: 201 }]);
      expect(await sql(`SELECT COUNT(*)::int AS n FROM {s}.records`)).toEqual([{ n: 200 * 3 + bigRecords }]);
      expect(await sql(`SELECT COUNT(*)::int AS n FROM {s}.accounts`)).toEqual([{ n: 200 * 3 + bigRecords }]);
      const [big] = await sql<{ attempts: number }>(`SELECT attempts FROM {s}.files WHERE file_name = 'demo-bank_big.csv.gpg'`);
      expect(big!.attempts).toBeGreaterThanOrEqual(2);
      for (const inbound of [bankInbound, agencyInbound]) {
        expect(listDir(inbound)).toEqual(['acks', 'processed']);
        expect(listDir(join(inbound, 'acks')).filter((f) => f.endsWith('.ack.json.gpg'))).toHaveLength(inbound === bankInbound ? 101 : 100);
      }
      expect(listDir(join(bankInbound, 'processed'))).toHaveLength(101);
      expect(listDir(join(agencyInbound, 'processed'))).toHaveLength(100);

      // The work was divided: the two survivors each polled a source (their share is one each).
      const taken = survivors.map((r) => new Set(r.logs().filter((l) => l.msg === 'sftp file taken').map((l) => l.source as string)));
      expect(taken.every((sources) => sources.size >= 1)).toBe(true);
      expect(new Set(taken.flatMap((s) => [...s]))).toEqual(new Set(['demo-bank', 'demo-agency']));
      // The large file was finished by a survivor.
      expect(survivors.some((r) => r.logs().some((l) => l.msg === 'sftp file taken' && l.remoteName === 'demo-bank_big.csv.gpg'))).toBe(true);

      // One chain, no fork, whichever replica appended.
      const verify = await runVeilgate(['audit', 'verify', '--config', ws.configFile]);
      expect(verify.status, verify.stdout + verify.stderr).toBe(0);
      const [head] = await sql<{ seq: number }>(`SELECT MAX(seq)::int AS seq FROM {s}.audit_log`);
      expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, entries: head!.seq });
      expect(await sql(`SELECT COUNT(*)::int AS n FROM {s}.audit_log WHERE action = 'file.committed'`)).toEqual([{ n: 201 }]);

      // `veilgate status` names the replica polling each source: a survivor, never the dead one.
      const status = JSON.parse((await runVeilgate(['status', '--config', ws.configFile])).stdout) as { sources: Record<string, { sftp?: { polledBy: string | null } }> };
      const pollers = ['demo-bank', 'demo-agency'].map((id) => pidOf(status.sources[id]!.sftp!.polledBy ?? ':0'));
      expect(pollers.every((pid) => survivors.some((r) => r.child.pid === pid))).toBe(true);

      for (const r of survivors) r.child.kill('SIGTERM');
      expect(await Promise.all(survivors.map((r) => r.exited))).toEqual([0, 0]);
    } finally {
      for (const r of replicas) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    }
  }, 300_000);
});

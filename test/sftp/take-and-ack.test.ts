import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gpg } from '../helpers/gpg.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';
import { ageFile, gpgPlacementFile, listDir, query, sftpSection, sftpWorkspace, startPollers, stopGpgAgent, waitUntil } from './harness.js';
import { tempDir } from '../helpers/temp-dirs.js';

let sshd: TestSshd;
let gpg: Gpg;
beforeAll(async () => {
  [sshd, gpg] = await Promise.all([startSshd(), Gpg.create()]);
});
afterAll(async () => {
  await stopGpgAgent(gpg);
  await sshd?.stop();
});

describe('the SFTP poller against a real OpenSSH sshd', () => {
  it('takes a gpg-made file once, moves it to processed/, and writes an ack that gpg decrypts and verifies as signed by the gateway', async () => {
    const ws = sftpWorkspace({ 'demo-bank': sftpSection(sshd, 'bank1') });
    const local = tempDir('vg-sftp-');
    const inbound = join(sshd.root, 'bank1', 'inbound');
    const good = await gpgPlacementFile(gpg, local, 'demo-bank_placement_20261128_001.csv.gpg', ['ACC-1001', 'ACC-1002']);
    // One record with a bad currency: committed with a rejection, listed in the CSV by position, field and code.
    const partly = await gpgPlacementFile(gpg, local, 'demo-bank_placement_20261128_002.csv.gpg', ['ACC-2001', 'ACC-2002'], { rowOverrides: { 'ACC-2002': { currency: 'ZZZ' } } });
    // Signed by a key that is not the source's: rejected as a whole, moved to rejected/.
    const forged = await gpgPlacementFile(gpg, local, 'demo-bank_placement_20261128_003.csv.gpg', ['ACC-3001'], { signer: 'demo-hospital@example.invalid' });
    for (const f of [good, partly, forged]) {
      const remote = join(inbound, f.slice(local.length + 1));
      copyFileSync(f, remote);
      ageFile(remote); // moved in with an old mtime: still taken
    }
    writeFileSync(join(inbound, 'notes.txt'), 'not matching the file pattern');

    const gw = await startPollers(ws);
    try {
      await waitUntil(() => listDir(join(inbound, 'processed')).length === 2 && listDir(join(inbound, 'rejected')).length === 1, 'files moved');
      await waitUntil(() => gw.pollers.status()['demo-bank']!.filesTaken === 3, 'three files taken');
    } finally {
      await gw.stop();
    }

    expect(listDir(inbound)).toEqual(['acks', 'notes.txt', 'processed', 'rejected']);
    expect(listDir(join(inbound, 'processed'))).toEqual(['demo-bank_placement_20261128_001.csv.gpg', 'demo-bank_placement_20261128_002.csv.gpg']);
    expect(listDir(join(inbound, 'rejected'))).toEqual(['demo-bank_placement_20261128_003.csv.gpg']);
    expect(listDir(join(inbound, 'acks'))).toEqual([
      'demo-bank_placement_20261128_001.csv.gpg.ack.json.gpg',
      'demo-bank_placement_20261128_002.csv.gpg.ack.json.gpg',
      'demo-bank_placement_20261128_002.csv.gpg.rejected.csv.gpg',
      'demo-bank_placement_20261128_003.csv.gpg.ack.json.gpg',
    ]);

    const ackOf = async (name: string) => {
      const { plaintext, status } = await gpg.decrypt(join(inbound, 'acks', name));
      expect(status).toMatch(/\[GNUPG:\] GOODSIG [0-9A-F]+ Veilgate DEMO gateway/);
      expect(status).toMatch(/\[GNUPG:\] DECRYPTION_OKAY/);
      return { plaintext, json: () => JSON.parse(plaintext) as { status: string; receipt_id: string; counts: Record<string, number>; file_name: string; file_error: { code: string } | null } };
    };
    const first = (await ackOf('demo-bank_placement_20261128_001.csv.gpg.ack.json.gpg')).json();
    expect(first).toMatchObject({ status: 'committed', file_name: 'demo-bank_placement_20261128_001.csv.gpg', counts: { records: 2, accepted: 2, rejected: 0 } });
    const second = (await ackOf('demo-bank_placement_20261128_002.csv.gpg.ack.json.gpg')).json();
    expect(second).toMatchObject({ status: 'committed', counts: { records: 2, accepted: 1, rejected: 1 } });
    const csv = (await ackOf('demo-bank_placement_20261128_002.csv.gpg.rejected.csv.gpg')).plaintext;
    expect(csv).toBe('record,field,code,message\r\n2,currency,CURRENCY_INVALID,not an ISO 4217 currency code\r\n');
    expect(csv).not.toContain('ZZZ');
    const third = (await ackOf('demo-bank_placement_20261128_003.csv.gpg.ack.json.gpg')).json();
    expect(third.status).toBe('rejected');
    expect(third.file_error?.code).toMatch(/^OPEN_/);

    // Each file once: one receipt per file, each delivery finished and linked to it.
    const files = query<{ receipt_id: string; state: string; channel: string }>(ws, 'SELECT receipt_id, state, channel FROM files ORDER BY file_name');
    expect(files.map((f) => [f.state, f.channel])).toEqual([['committed', 'sftp'], ['committed', 'sftp'], ['rejected', 'sftp']]);
    expect(files[0]!.receipt_id).toBe(first.receipt_id);
    const deliveries = query<{ receipt_id: string; ack_written: number; finished_at: string | null }>(ws, 'SELECT receipt_id, ack_written, finished_at FROM sftp_deliveries ORDER BY id');
    expect(deliveries).toHaveLength(3);
    expect(deliveries.every((d) => d.ack_written === 1 && d.finished_at !== null)).toBe(true);
    expect(query<{ n: number }>(ws, 'SELECT COUNT(*) AS n FROM records')).toEqual([{ n: 3 }]);
    // Logs carry ids, names and codes, never a value from a file.
    for (const value of ['ACC-1001', 'ACC-2002', 'Sample', 'Alex', 'ZZZ', '1520.75']) expect(gw.logs.text).not.toContain(value);
    expect(gw.logs.parsed().filter((l) => l.msg === 'sftp file taken')).toHaveLength(3);
  });

  it('reports an ack folder it cannot write and retries it each cycle without taking the file twice; the ack lands once the folder is fixed', async () => {
    // The test sshd runs as root, so a permission bit would not stop it: a plain file where a folder must go does.
    const ws = sftpWorkspace({ 'demo-bank': sftpSection(sshd, 'blocked', { ackDir: 'blocked/acks' }) });
    const local = tempDir('vg-sftp-');
    const inbound = join(sshd.root, 'blocked', 'inbound');
    writeFileSync(join(inbound, 'blocked'), 'a file where the ack folder should be');
    copyFileSync(await gpgPlacementFile(gpg, local, 'waiting.csv.gpg', ['ACC-W1']), join(inbound, 'waiting.csv.gpg'));
    const gw = await startPollers(ws);
    try {
      await waitUntil(() => gw.pollers.status()['demo-bank']!.lastError === 'SFTP_UNAVAILABLE', 'the ack write to fail');
      const cycles = gw.cycles.get('demo-bank')!;
      await waitUntil(() => gw.cycles.get('demo-bank')! >= cycles + 3, 'three more cycles');
      expect(gw.pollers.status()['demo-bank']).toMatchObject({ state: 'failing', filesTaken: 0 });
      // Processed once and committed, but not moved before its ack is written.
      expect(query(ws, 'SELECT state FROM files')).toEqual([{ state: 'committed' }]);
      expect(listDir(inbound)).toContain('waiting.csv.gpg');
      rmSync(join(inbound, 'blocked'));
      await waitUntil(() => listDir(join(inbound, 'processed')).includes('waiting.csv.gpg'), 'the file to be taken once the folder is fixed');
      await waitUntil(() => gw.pollers.status()['demo-bank']!.state === 'ok', 'the source to be ok again');
    } finally {
      await gw.stop();
    }
    expect(listDir(join(inbound, 'blocked', 'acks'))).toEqual(['waiting.csv.gpg.ack.json.gpg']);
    expect(query(ws, 'SELECT state FROM files')).toEqual([{ state: 'committed' }]);
    expect(query(ws, 'SELECT ack_written, finished_at IS NOT NULL AS finished FROM sftp_deliveries')).toEqual([{ ack_written: 1, finished: 1 }]);
    expect(gw.logs.parsed().some((l) => l.msg === 'sftp file left for the next cycle' && (l.err as { code?: string }).code === 'SFTP_UNAVAILABLE')).toBe(true);
  });

  it('moves a file larger than limits.maxFileBytes to rejected/ without downloading it, and takes the others', async () => {
    const ws = sftpWorkspace({ 'demo-bank': sftpSection(sshd, 'large') }, (raw) => {
      raw.limits = { ...raw.limits, maxFileBytes: 4096 };
    });
    const local = tempDir('vg-sftp-');
    const inbound = join(sshd.root, 'large', 'inbound');
    const refs = Array.from({ length: 60 }, (_, i) => `ACC-L${i}`);
    copyFileSync(await gpgPlacementFile(gpg, local, 'big.csv.gpg', refs, { compress: 'none' }), join(inbound, 'big.csv.gpg'));
    copyFileSync(await gpgPlacementFile(gpg, local, 'small.csv.gpg', ['ACC-S1']), join(inbound, 'small.csv.gpg'));
    const gw = await startPollers(ws);
    try {
      await waitUntil(() => listDir(join(inbound, 'rejected')).includes('big.csv.gpg') && listDir(join(inbound, 'processed')).includes('small.csv.gpg'), 'both files moved');
    } finally {
      await gw.stop();
    }
    expect(query(ws, 'SELECT file_name, state FROM files')).toEqual([{ file_name: 'small.csv.gpg', state: 'committed' }]);
    expect(gw.logs.parsed().some((l) => l.code === 'SPOOL_TOO_LARGE' && l.remoteName === 'big.csv.gpg')).toBe(true);
    expect(listDir(join(inbound, 'acks'))).toEqual(['small.csv.gpg.ack.json.gpg']);
  });
});

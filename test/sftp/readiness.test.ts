import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gpg } from '../helpers/gpg.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';
import { gpgPlacementFile, listDir, query, sftpSection, sftpWorkspace, startPollers, stopGpgAgent, waitUntil } from './harness.js';
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('readiness: a file is taken only when its creditor has finished writing it', () => {
  it('does not take a file that grows every 200 ms until it has settled, then takes it once and whole', async () => {
    const ws = sftpWorkspace({ 'demo-bank': sftpSection(sshd, 'grow') });
    const local = tempDir('vg-sftp-');
    const bytes = readFileSync(await gpgPlacementFile(gpg, local, 'growing.csv.gpg', ['ACC-G1', 'ACC-G2', 'ACC-G3']));
    const inbound = join(sshd.root, 'grow', 'inbound');
    const remote = join(inbound, 'growing.csv.gpg');
    const gw = await startPollers(ws);
    try {
      // ~2 s of appends, 200 ms apart (the poller lists every 200 ms, settle time 500 ms).
      const pieces = 10;
      const step = Math.ceil(bytes.length / pieces);
      writeFileSync(remote, bytes.subarray(0, step));
      for (let i = 1; i < pieces; i++) {
        await sleep(200);
        expect(query(ws, 'SELECT id FROM sftp_deliveries')).toEqual([]);
        appendFileSync(remote, bytes.subarray(i * step, (i + 1) * step));
      }
      expect(readFileSync(remote)).toEqual(bytes);
      await waitUntil(() => listDir(join(inbound, 'processed')).includes('growing.csv.gpg'), 'the settled file to be taken');
    } finally {
      await gw.stop();
    }
    const files = query<{ sha256: string; state: string; size_bytes: number }>(ws, 'SELECT sha256, state, size_bytes FROM files');
    expect(files).toEqual([{ sha256: createHash('sha256').update(bytes).digest('hex'), state: 'committed', size_bytes: bytes.length }]);
    expect(query(ws, 'SELECT id FROM sftp_deliveries')).toHaveLength(1);
  });

  it('never takes temp names (.part, .filepart, .tmp, dot-files, markers); a .part renamed to its final name is taken once', async () => {
    const ws = sftpWorkspace({ 'demo-bank': sftpSection(sshd, 'part') });
    const local = tempDir('vg-sftp-');
    const file = await gpgPlacementFile(gpg, local, 'upload.csv.gpg', ['ACC-P1']);
    const inbound = join(sshd.root, 'part', 'inbound');
    const temps = ['upload.csv.gpg.part', 'other.csv.gpg.filepart', 'other.csv.gpg.tmp', '.hidden.csv.gpg', 'other.csv.gpg.done'];
    for (const t of temps) writeFileSync(join(inbound, t), readFileSync(file));
    const gw = await startPollers(ws);
    try {
      // Well past the settle time: none of them is touched.
      await waitUntil(() => (gw.cycles.get('demo-bank') ?? 0) >= 6, 'six poll cycles');
      expect(query(ws, 'SELECT id FROM sftp_deliveries')).toEqual([]);
      renameSync(join(inbound, 'upload.csv.gpg.part'), join(inbound, 'upload.csv.gpg'));
      await waitUntil(() => listDir(join(inbound, 'processed')).includes('upload.csv.gpg'), 'the renamed file to be taken');
      const cycles = gw.cycles.get('demo-bank')!;
      await waitUntil(() => gw.cycles.get('demo-bank')! >= cycles + 3, 'three more cycles');
    } finally {
      await gw.stop();
    }
    expect(listDir(inbound)).toEqual(['.hidden.csv.gpg', 'acks', 'other.csv.gpg.done', 'other.csv.gpg.filepart', 'other.csv.gpg.tmp', 'processed']);
    expect(query(ws, 'SELECT state FROM files')).toEqual([{ state: 'committed' }]);
    expect(query(ws, 'SELECT id FROM sftp_deliveries')).toHaveLength(1);
  });

  it("with readiness 'marker', takes a file only once <name>.done exists, and moves the marker with it", async () => {
    const ws = sftpWorkspace({ 'demo-bank': sftpSection(sshd, 'marker', { readiness: 'marker' }) });
    const local = tempDir('vg-sftp-');
    const file = await gpgPlacementFile(gpg, local, 'marked.csv.gpg', ['ACC-M1']);
    const inbound = join(sshd.root, 'marker', 'inbound');
    writeFileSync(join(inbound, 'marked.csv.gpg'), readFileSync(file));
    const gw = await startPollers(ws);
    try {
      await waitUntil(() => (gw.cycles.get('demo-bank') ?? 0) >= 5, 'five poll cycles');
      expect(query(ws, 'SELECT id FROM sftp_deliveries')).toEqual([]);
      writeFileSync(join(inbound, 'marked.csv.gpg.done'), '');
      await waitUntil(() => listDir(join(inbound, 'processed')).length === 2, 'file and marker moved');
    } finally {
      await gw.stop();
    }
    expect(listDir(join(inbound, 'processed'))).toEqual(['marked.csv.gpg', 'marked.csv.gpg.done']);
    expect(listDir(inbound)).toEqual(['acks', 'processed']);
    expect(query(ws, 'SELECT state FROM files')).toEqual([{ state: 'committed' }]);
  });
});

import { copyFileSync } from 'node:fs';
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

interface AckJson { status: string; receipt_id: string; file_name: string; duplicate_of?: string }

describe('exactly once: a file is its source and its bytes', () => {
  it('takes the same bytes under two names as one commit and one duplicate; the same name with new bytes later as a second commit', async () => {
    const ws = sftpWorkspace({ 'demo-bank': sftpSection(sshd, 'dup') });
    const local = tempDir('vg-sftp-');
    const inbound = join(sshd.root, 'dup', 'inbound');
    const twin = await gpgPlacementFile(gpg, local, 'twin.csv.gpg', ['ACC-T1', 'ACC-T2']);
    copyFileSync(twin, join(inbound, 'twin-a.csv.gpg'));
    copyFileSync(twin, join(inbound, 'twin-b.csv.gpg'));
    const ackOf = async (name: string) => JSON.parse((await gpg.decrypt(join(inbound, 'acks', name))).plaintext) as AckJson;

    const gw = await startPollers(ws);
    try {
      await waitUntil(() => listDir(join(inbound, 'processed')).length === 2, 'both twins taken');
      const a = await ackOf('twin-a.csv.gpg.ack.json.gpg');
      const b = await ackOf('twin-b.csv.gpg.ack.json.gpg');
      const [committed, duplicate] = a.status === 'committed' ? [a, b] : [b, a];
      expect(committed.status).toBe('committed');
      expect(duplicate).toMatchObject({ status: 'duplicate', duplicate_of: committed.receipt_id });

      // Same name, new bytes: the first is taken, then the creditor sends a corrected file under the same name.
      const v1 = await gpgPlacementFile(gpg, local, 'v1.csv.gpg', ['ACC-V1']);
      const v2 = await gpgPlacementFile(gpg, local, 'v2.csv.gpg', ['ACC-V2']);
      copyFileSync(v1, join(inbound, 'monthly.csv.gpg'));
      ageFile(join(inbound, 'monthly.csv.gpg'));
      await waitUntil(() => listDir(join(inbound, 'processed')).includes('monthly.csv.gpg'), 'first monthly file taken');
      copyFileSync(v2, join(inbound, 'monthly.csv.gpg'));
      await waitUntil(() => listDir(join(inbound, 'processed')).length === 4, 'second monthly file taken');
    } finally {
      await gw.stop();
    }

    const files = query<{ file_name: string; state: string; receipt_id: string }>(ws, 'SELECT file_name, state, receipt_id FROM files ORDER BY received_at');
    expect(files.map((f) => f.state).sort()).toEqual(['committed', 'committed', 'committed', 'duplicate']);
    expect(query(ws, 'SELECT COUNT(*) AS n FROM records')).toEqual([{ n: 4 }]);
    const monthly = files.filter((f) => f.file_name === 'monthly.csv.gpg');
    expect(monthly).toHaveLength(2);
    // The creditor had not collected the first ack: it is left alone, and the second gets the receipt id in its name.
    const second = monthly[1]!.receipt_id;
    expect(listDir(join(inbound, 'acks')).filter((n) => n.startsWith('monthly'))).toEqual(['monthly.csv.gpg.ack.json.gpg', `monthly.csv.gpg.${second}.ack.json.gpg`]);
    expect(await ackOf('monthly.csv.gpg.ack.json.gpg')).toMatchObject({ status: 'committed', receipt_id: monthly[0]!.receipt_id });
    expect(await ackOf(`monthly.csv.gpg.${second}.ack.json.gpg`)).toMatchObject({ status: 'committed', receipt_id: second });
    expect(listDir(join(inbound, 'processed'))).toEqual(['monthly.csv.gpg', `monthly.csv.gpg.${second}`, 'twin-a.csv.gpg', 'twin-b.csv.gpg']);
    expect(query(ws, 'SELECT COUNT(*) AS n FROM sftp_deliveries WHERE finished_at IS NOT NULL AND ack_written = 1')).toEqual([{ n: 4 }]);
  });
});

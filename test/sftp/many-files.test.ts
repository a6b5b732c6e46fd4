import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvRow } from '../../src/demo/sample-placements.js';
import { encryptBytes } from '../../src/open/pgp-write.js';
import { placementRow } from '../helpers/files.js';
import { keysDir } from '../helpers/gpg.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';
import { listDir, query, sftpSection, sftpWorkspace, startPollers, waitUntil } from './harness.js';

let sshd: TestSshd;
beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
});

const fileCount = 2000;
const mib = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

describe('many files', () => {
  it(`takes ${fileCount} small files from one folder, every one committed, in bounded memory`, async () => {
    const ws = sftpWorkspace({ 'demo-agency': sftpSection(sshd, 'many', { settleMs: 0 }) });
    const inbound = join(sshd.root, 'many', 'inbound');
    // Made with openpgp.js (gpg per file would take minutes): encrypted to the gateway, signed by the creditor.
    const gateway = await openpgp.readKey({ armoredKey: readFileSync(join(keysDir, 'gateway.pgp.pub.asc'), 'utf8') });
    const signer = await openpgp.readPrivateKey({ armoredKey: readFileSync(join(keysDir, 'demo-agency.pgp.asc'), 'utf8') });
    const columns = Object.keys(placementRow('x'));
    for (let i = 0; i < fileCount; i++) {
      const row = placementRow(`ACC-M${String(i).padStart(5, '0')}`);
      const csv = csvRow(columns) + csvRow(columns.map((c) => row[c]!));
      const bytes = await encryptBytes(new TextEncoder().encode(csv), { encryptionKeys: [gateway], signingKeys: [signer] });
      writeFileSync(join(inbound, `agency_${String(i).padStart(5, '0')}.csv.gpg`), bytes);
    }

    let peakHeap = 0;
    let peakRss = 0;
    const sample = () => {
      const m = process.memoryUsage();
      peakHeap = Math.max(peakHeap, m.heapUsed);
      peakRss = Math.max(peakRss, m.rss);
    };
    sample();
    const heapBefore = process.memoryUsage().heapUsed;
    const sampler = setInterval(sample, 50);
    const started = Date.now();
    const gw = await startPollers(ws);
    try {
      await waitUntil(() => gw.pollers.status()['demo-agency']!.filesTaken === fileCount, `all ${fileCount} files`, 170_000, 250);
    } finally {
      clearInterval(sampler);
      await gw.stop();
    }
    const seconds = (Date.now() - started) / 1000;
    // A report for the issue note: throughput and memory of the run.
    console.log(`${fileCount} files in ${seconds.toFixed(1)} s (${(fileCount / seconds).toFixed(0)} files/s); heap used before ${mib(heapBefore)} MiB, peak ${mib(peakHeap)} MiB; peak RSS ${mib(peakRss)} MiB`);

    expect(listDir(inbound)).toEqual(['acks', 'processed']);
    expect(listDir(join(inbound, 'processed'))).toHaveLength(fileCount);
    expect(listDir(join(inbound, 'acks'))).toHaveLength(fileCount);
    expect(query(ws, 'SELECT state, COUNT(*) AS n FROM files GROUP BY state')).toEqual([{ state: 'committed', n: fileCount }]);
    expect(query(ws, 'SELECT COUNT(*) AS n FROM records')).toEqual([{ n: fileCount }]);
    // Bounded: nothing per file is kept once it is taken (the test process itself holds the worker's own baseline).
    expect(peakHeap - heapBefore).toBeLessThan(96 * 1048576);
  }, 240_000);
});

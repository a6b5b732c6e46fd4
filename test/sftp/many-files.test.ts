import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvRow } from '../../src/demo/sample-placements.js';
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

/** The creditor's upload job, in plain JS for a worker thread: encrypt and sign each CSV, write it as `.part`, rename. */
const creditorScript = `
const { workerData, parentPort } = require('node:worker_threads');
const { writeFileSync, renameSync } = require('node:fs');
const { join } = require('node:path');
const openpgp = require(workerData.openpgpPath);
(async () => {
  const gateway = await openpgp.readKey({ armoredKey: workerData.gatewayKey });
  const signer = await openpgp.readPrivateKey({ armoredKey: workerData.signerKey });
  for (const [i, csv] of workerData.csvs.entries()) {
    const message = await openpgp.createMessage({ binary: new TextEncoder().encode(csv), format: 'binary' });
    const bytes = await openpgp.encrypt({ message, encryptionKeys: [gateway], signingKeys: [signer], format: 'binary' });
    const name = join(workerData.dir, 'agency_' + String(i).padStart(5, '0') + '.csv.gpg');
    writeFileSync(name + '.part', bytes);
    renameSync(name + '.part', name);
  }
  parentPort.postMessage('done');
})();
`;
const mib = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

describe('many files', () => {
  it(`takes ${fileCount} small files from one folder, every one committed, in bounded memory`, async () => {
    const ws = sftpWorkspace({ 'demo-agency': sftpSection(sshd, 'many', { settleMs: 0 }) });
    const inbound = join(sshd.root, 'many', 'inbound');
    // The creditor's side: made with openpgp.js (gpg per file would take minutes), encrypted to the
    // gateway and signed by the creditor, in a worker thread so that the files arrive while the
    // gateway takes them, each written under a temp name and renamed, as an upload tool does.
    const columns = Object.keys(placementRow('x'));
    const csvs = Array.from({ length: fileCount }, (_, i) => {
      const row = placementRow(`ACC-M${String(i).padStart(5, '0')}`);
      return csvRow(columns) + csvRow(columns.map((c) => row[c]!));
    });
    const creditor = new Worker(creditorScript, {
      eval: true,
      workerData: {
        csvs, dir: inbound, openpgpPath: createRequire(import.meta.url).resolve('openpgp'),
        gatewayKey: readFileSync(join(keysDir, 'gateway.pgp.pub.asc'), 'utf8'), signerKey: readFileSync(join(keysDir, 'demo-agency.pgp.asc'), 'utf8'),
      },
    });
    const uploaded = new Promise<void>((resolve, reject) => {
      creditor.once('message', () => resolve());
      creditor.once('error', reject);
    });

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
      await uploaded;
      await waitUntil(() => gw.pollers.status()['demo-agency']!.filesTaken === fileCount, `all ${fileCount} files`, 170_000, 250);
    } finally {
      clearInterval(sampler);
      await creditor.terminate();
      await gw.stop();
    }
    const seconds = (Date.now() - started) / 1000;
    // A report for the issue note: throughput and memory of the run.
    console.log(`${fileCount} files uploaded and taken in ${seconds.toFixed(1)} s (${(fileCount / seconds).toFixed(0)} files/s); heap used before ${mib(heapBefore)} MiB, peak ${mib(peakHeap)} MiB; peak RSS ${mib(peakRss)} MiB`);

    expect(listDir(inbound)).toEqual(['acks', 'processed']);
    expect(listDir(join(inbound, 'processed'))).toHaveLength(fileCount);
    expect(listDir(join(inbound, 'acks'))).toHaveLength(fileCount);
    expect(query(ws, 'SELECT state, COUNT(*) AS n FROM files GROUP BY state')).toEqual([{ state: 'committed', n: fileCount }]);
    expect(query(ws, 'SELECT COUNT(*) AS n FROM records')).toEqual([{ n: fileCount }]);
    // Bounded: nothing per file is kept once it is taken (the main thread, where the gateway runs; the creditor thread has its own heap).
    expect(peakHeap - heapBefore).toBeLessThan(96 * 1048576);
  }, 240_000);
});

import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Deps } from '../../src/deps.js';
import { processBatch, settleSubjectKeys } from '../../src/pipeline/process-batch.js';
import { ownerIsDead } from '../../src/pipeline/process-file.js';
import { receiveDelivery } from '../../src/ingest/receive.js';
import { writeCsv } from '../helpers/files.js';
import { placementRow, useTestGateway } from '../helpers/gateway.js';

// A tiny key cache, so that a subject met again a few records later has lost its pending key.
const gw = useTestGateway((raw) => {
  raw.limits = { subjectKeyCacheEntries: 2, stagingBatchRecords: 1 };
});

/** Every stored vault of these records opens under its subject's committed key. */
async function expectAllOpen(deps: Deps, receiptId: string): Promise<number> {
  const records = await deps.store.listRecords(receiptId, 1000);
  let opened = 0;
  for (const r of records) {
    if (r.vault === null) continue;
    const wrapped = (await deps.store.getSubjectKeys([r.subjectToken!])).get(r.subjectToken!);
    expect(wrapped, `record ${r.recordNo} has a committed subject key`).toBeDefined();
    expect(deps.vault.openWithWrapped(wrapped!, r.subjectToken!, r.vault).first_name).toBeDefined();
    opened++;
  }
  return opened;
}

describe('subject data keys staged with their file', () => {
  it('reconcile two keys made for one subject in one file (met again after its key left the cache)', async () => {
    const person = { national_id: '123-45-6789', national_id_type: 'us_ssn' };
    const rows = [placementRow('K-1', person), placementRow('K-2'), placementRow('K-3'), placementRow('K-4'), placementRow('K-5', person)];
    const ack = await gw.sendCsv('same-subject', rows);
    expect(ack).toMatchObject({ status: 'committed', counts: { accepted: 5 } });
    const stored = await gw.deps.store.listRecords(ack.receipt_id, 10);
    expect(stored[0]!.subjectToken).toBe(stored[4]!.subjectToken);
    expect(await expectAllOpen(gw.deps, ack.receipt_id)).toBe(5);
  });

  it("reseal a file's records when another file committed a key for the same new subject first", async () => {
    const person = { national_id: '234-56-7890', national_id_type: 'us_ssn' };
    // File A stages its record (and a new key for the person) but does not commit yet.
    const csvA = writeCsv(join(gw.ws.dir, 'race-a.csv'), [placementRow('RACE-A', person)]);
    await gw.gpg.encrypt(csvA, join(gw.ws.dir, 'race-a.gpg'), { signer: 'demo-bank@example.invalid' });
    const a = await receiveDelivery(gw.deps, { source: 'demo-bank', kind: 'placement', channel: 'cli', fileName: 'race-a', bytes: createReadStream(join(gw.ws.dir, 'race-a.gpg')) });
    const lease = (await gw.deps.store.claimFile(a.receiptId, gw.deps.workerId, Date.now(), 60_000, ownerIsDead))!;
    await processBatch(gw.deps, [{ recordNo: 1, fields: { ...placementRow('RACE-A', person) } }], {
      source: 'demo-bank', kind: 'placement', lease, dropped: new Map(), today: new Date(), pendingKeys: new Map<string, Buffer>(),
    });
    // File B, for the same person, is processed and committed meanwhile.
    const b = await gw.sendCsv('race-b', [placementRow('RACE-B', person)]);
    expect(b.status).toBe('committed');
    // A's commit sees the conflict, settles (reseals under B's key) and commits.
    const ack = JSON.stringify({ receipt_id: a.receiptId });
    const audit = { actor: 'test', action: 'file.committed', target: a.receiptId, details: {} };
    expect(await gw.deps.store.commitFile(lease, ack, new Date().toISOString(), audit)).toBe('subject-key-conflict');
    await settleSubjectKeys(gw.deps, lease);
    expect(await gw.deps.store.commitFile(lease, ack, new Date().toISOString(), audit)).toBe('committed');
    expect(await expectAllOpen(gw.deps, a.receiptId)).toBe(1);
    expect(await expectAllOpen(gw.deps, b.receipt_id)).toBe(1);
  });
});

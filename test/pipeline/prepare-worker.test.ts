import { afterAll, describe, expect, it } from 'vitest';
import { prepareBatch } from '../../src/pipeline/prepare-batch.js';
import { PrepareWorker } from '../../src/pipeline/prepare-worker.js';
import type { RawRecord } from '../../src/parse/read-records.js';
import { placementRow } from '../helpers/files.js';
import { useTestGateway } from '../helpers/gateway.js';

const gw = useTestGateway();
let worker: PrepareWorker | undefined;
afterAll(async () => worker?.close());

/** Valid, invalid, malformed, with a dropped field, a warning and a card: every path of prepareBatch. */
function batch(from: number): RawRecord[] {
  return [
    { recordNo: from, fields: placementRow(`W-${from}`, { national_id_type: 'us_ssn', national_id: '123-45-6789', card_number: '4111111111111111', phone: '+14155550123' }) },
    { recordNo: from + 1, fields: placementRow(`W-${from + 1}`, { balance: 'ten' }) },
    { recordNo: from + 2, fields: {}, malformed: true },
    { recordNo: from + 3, fields: placementRow(`W-${from + 3}`, { notes: 'called twice', date_of_birth: '2010-01-01' }) },
    { recordNo: from + 4, fields: placementRow('4111111111111111') },
  ];
}

describe('the prepare worker thread', () => {
  it('prepares batches exactly as the main thread does, in the order they were sent', async () => {
    worker = new PrepareWorker(gw.deps.keys, gw.deps.policy);
    const ctx = { source: 'demo-bank', kind: 'placement' as const, today: new Date('2026-11-01T00:00:00Z') };
    const onWorker = await Promise.all([1, 10, 20].map((n) => worker!.prepare(batch(n), ctx)));
    const inline = [1, 10, 20].map((n) => prepareBatch(batch(n), ctx, gw.deps));
    expect(onWorker).toEqual(inline);
    expect(inline[0]!.records.map((r) => r.recordNo)).toEqual([1, 4, 5]);
    expect(inline[0]!.findings.map((f) => [f.record, f.code])).toEqual([[2, 'MONEY_INVALID'], [3, 'RECORD_MALFORMED']]);
    expect(inline[0]!.dropped).toEqual([['notes', 1]]);
    // What crosses the thread boundary holds tokens, never the identifiers themselves in clear.
    expect(inline[0]!.records[0]!.data).not.toContain('123-45-6789');
    expect(inline[0]!.records[0]!.data).not.toContain('4111111111111111');
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { filesUnder, findLeaks, leaksInTree, seeded } from '../helpers/pii.js';
import { placementRow, useTestGateway } from '../helpers/gateway.js';

const gw = useTestGateway();

describe('seeded personal values', () => {
  it('never appear in the SQLite file, the spool, the logs or the acknowledgement', async () => {
    const rows = [
      placementRow('PII-1', { ...seeded, national_id_type: 'us_ssn', debt_type: 'medical', service_date: '2025-03-01', facility_name: 'Demo General' }),
      // The same values in a record that fails validation must not leak through its errors either.
      placementRow('PII-2', { ...seeded, national_id_type: 'us_ssn', balance: 'not-money', debt_type: 'medical' }),
    ];
    const ack = await gw.sendCsv('pii', rows);
    expect(ack).toMatchObject({ status: 'committed', counts: { accepted: 1, rejected: 1 }, dropped_fields: { diagnosis_code: 1 } });
    // The diagnosis code of the rejected row was never minimised (validation failed first), but the accepted one's was dropped.
    expect(findLeaks(JSON.stringify(ack))).toEqual([]);
    expect(findLeaks(gw.logs.text)).toEqual([]);
    expect(gw.logs.lines.length).toBeGreaterThan(0);
    // Checkpoint the WAL so that the main database file holds everything, then scan every file.
    await gw.deps.store.close();
    expect(filesUnder(gw.ws.dataDir).some((f) => f.endsWith('.pgp'))).toBe(true);
    expect(leaksInTree(gw.ws.dataDir)).toEqual([]);
    // Sanity: the scanner does find a value that is there.
    expect(findLeaks(readFileSync(gw.ws.configFile, 'utf8') + seeded.last_name)).toEqual([seeded.last_name]);
  });
});

import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTestGateway } from '../helpers/gateway.js';

// A 512 KiB cap keeps the test small: the same code path guards the 16 GiB default.
const gw = useTestGateway((raw) => {
  raw.limits = { maxDecompressedBytes: 512 * 1024 };
});

/** Attack: a tiny OpenPGP file whose compressed packet inflates far past the configured cap. */
describe('a compression bomb', () => {
  it('is rejected as OPEN_DECOMPRESSED_TOO_LARGE once it inflates past maxDecompressedBytes, storing nothing', async () => {
    const csv = join(gw.ws.dir, 'bomb.csv');
    writeFileSync(csv, `account_ref,notes\nA-1,${'0'.repeat(8 * 1024 * 1024)}\n`);
    const started = Date.now();
    const ack = await gw.sendPlaintext('bomb', csv);
    expect(statSync(join(gw.ws.dir, 'bomb.gpg')).size).toBeLessThan(64 * 1024);
    expect(ack.status).toBe('rejected');
    expect(ack.file_error?.code).toBe('OPEN_DECOMPRESSED_TOO_LARGE');
    expect(await gw.deps.store.countStagedRecords(ack.receipt_id)).toBe(0);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});

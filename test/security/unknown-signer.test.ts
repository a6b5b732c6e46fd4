import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { placementRow, useTestGateway } from '../helpers/gateway.js';
import { writeCsv } from '../helpers/files.js';

const gw = useTestGateway();

/** Attack: a well-formed file, encrypted to the gateway, signed by a key nobody registered. */
describe('a file signed by an unknown key', () => {
  it('is rejected as OPEN_SIGNATURE_INVALID and none of its records is stored, even the valid ones', async () => {
    const forger = await gw.gpg.generateKey('forger@example.invalid');
    const csv = writeCsv(join(gw.ws.dir, 'forged.csv'), [placementRow('FORGED-1'), placementRow('FORGED-2')]);
    const ack = await gw.sendPlaintext('forged', csv, { signer: forger });
    expect(ack.status).toBe('rejected');
    expect(ack.file_error?.code).toBe('OPEN_SIGNATURE_INVALID');
    expect(await gw.deps.store.countStagedRecords(ack.receipt_id)).toBe(0);
  });

  it('is rejected even when its plaintext would also fail to parse: the signature decides first', async () => {
    const forger = 'forger@example.invalid';
    const path = join(gw.ws.dir, 'forged-bad-utf8.csv');
    writeFileSync(path, Buffer.from([0x61, 0x0a, 0xff, 0xfe, 0x0a]));
    const ack = await gw.sendPlaintext('forged-bad-utf8', path, { signer: forger });
    expect(ack.file_error?.code).toBe('OPEN_SIGNATURE_INVALID');
  });
});

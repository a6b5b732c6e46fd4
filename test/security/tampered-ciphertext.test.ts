import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ingestFile, writeCsv } from '../helpers/files.js';
import { placementRow, useTestGateway } from '../helpers/gateway.js';

const gw = useTestGateway();

/** Attack: modify a gpg file in transit. SEIPDv1's MDC (or zlib's own check) must catch it, and the ack must carry no finding about the forged plaintext. */
describe('a tampered or truncated encrypted file', () => {
  async function encryptedFile(name: string, rows: Array<Record<string, string>>, compress: 'zlib' | 'none'): Promise<Buffer> {
    const csv = writeCsv(join(gw.ws.dir, `${name}.csv`), rows);
    const out = join(gw.ws.dir, `${name}.gpg`);
    await gw.gpg.encrypt(csv, out, { signer: 'demo-bank@example.invalid', compress });
    return readFileSync(out);
  }
  /** Flips one bit in the ciphertext and ingests it: the file is rejected whole, with nothing found or staged. */
  async function expectFlipRejectedWhole(name: string, bytes: Buffer): Promise<void> {
    bytes[Math.floor(bytes.length * 0.6)]! ^= 0x04;
    const path = join(gw.ws.dir, `${name}.gpg`);
    writeFileSync(path, bytes);
    const ack = await ingestFile(gw.deps, path);
    expect(ack.status).toBe('rejected');
    expect(ack.file_error?.code).toBe('OPEN_INTEGRITY_FAILED');
    expect(ack.errors).toEqual([]);
    expect(ack.counts.records).toBe(0);
    expect(await gw.deps.store.countStagedRecords(ack.receipt_id)).toBe(0);
  }

  const rows = Array.from({ length: 400 }, (_, i) => placementRow(`TAMPER-${i}`, i % 7 === 0 ? { national_id: '000-00-0000', national_id_type: 'us_ssn' } : {}));

  it.each(['zlib', 'none'] as const)('rejects a file with one bit flipped in the ciphertext (%s) as OPEN_INTEGRITY_FAILED, with no record findings', async (compress) => {
    await expectFlipRejectedWhole(`flipped-${compress}`, await encryptedFile(`flip-${compress}`, rows, compress));
  });

  it('rejects a tampered file of 1 MiB and more, opened on the worker thread, as OPEN_INTEGRITY_FAILED, with no record findings', async () => {
    const many = Array.from({ length: 12_000 }, (_, i) => placementRow(`TAMPER-LARGE-${i}`, i % 7 === 0 ? { national_id: '000-00-0000', national_id_type: 'us_ssn' } : {}));
    const bytes = await encryptedFile('flip-large', many, 'none');
    expect(bytes.length).toBeGreaterThanOrEqual(1 << 20); // processFile's threshold for the worker thread
    expect(gw.deps.config.limits.prepareOnWorker).toBe(true);
    await expectFlipRejectedWhole('flipped-large', bytes);
  });

  it('rejects a truncated file as OPEN_INTEGRITY_FAILED', async () => {
    const bytes = await encryptedFile('truncate', rows, 'none');
    const path = join(gw.ws.dir, 'truncated.gpg');
    writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length * 0.7)));
    const ack = await ingestFile(gw.deps, path);
    expect(ack.file_error?.code).toBe('OPEN_INTEGRITY_FAILED');
    expect(await gw.deps.store.countStagedRecords(ack.receipt_id)).toBe(0);
  });
});

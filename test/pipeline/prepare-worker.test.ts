import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { placementCsv } from '../../src/demo/sample-placements.js';
import { GatewayError } from '../../src/errors/gateway-error.js';
import { gathered, preparedInBatches, type PreparedRows } from '../../src/pipeline/batches.js';
import { prepareBatch } from '../../src/pipeline/prepare-batch.js';
import { PrepareWorker, WorkerSlots, type EncryptedFileJob, type StreamJob } from '../../src/pipeline/prepare-worker.js';
import { newFileTally, readRecords, type RawRecord } from '../../src/parse/read-records.js';
import { recordSchemas } from '../../src/validate/schemas.js';
import { placementRow } from '../helpers/files.js';
import { useTestGateway } from '../helpers/gateway.js';

const gw = useTestGateway();
let worker: PrepareWorker | undefined;
const workers: PrepareWorker[] = [];
afterAll(async () => {
  await worker?.close();
  for (const w of workers) await w.close();
});

const ctx = { source: 'demo-bank', kind: 'placement' as const, today: new Date('2026-11-01T00:00:00Z') };
const job = (batchRecords: number): StreamJob => ({
  read: { format: 'csv', kind: 'placement', mapping: {}, knownFields: recordSchemas().knownFields.placement, limits: gw.deps.config.limits },
  batchRecords,
  ctx,
});

/** Bytes in pieces of `size`, cut anywhere (inside rows, quotes and multi-byte characters). */
async function* pieces(text: string, size: number, onRead?: (bytes: number) => void): AsyncGenerator<Uint8Array> {
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length; at += size) {
    const piece = bytes.subarray(at, at + size);
    onRead?.(piece.length);
    yield piece;
  }
}

async function collect(rows: AsyncIterable<PreparedRows>): Promise<PreparedRows[]> {
  const out: PreparedRows[] = [];
  for await (const r of rows) out.push(r);
  return out;
}

/** A placement file whose rows include a rejected one, a dropped column, a warning and a trailer. */
function placementFile(count: number): string {
  const [header, ...rest] = [...placementCsv(count, { seed: 7, trailer: true })].join('').split('\r\n');
  const lines = [`${header},fax_number`, ...rest.filter((l) => l !== '').map((l) => (l.startsWith('TRAILER') ? l : `${l},5550100`))];
  if (count >= 3) lines[3] = lines[3]!.replace(/,\d{4}-\d{2}-\d{2},/, ',2999-01-01,'); // a date in the future: rejected
  return `${lines.join('\r\n')}\r\n`;
}

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

describe('the prepare worker thread, given a spooled encrypted file', () => {
  /** `text` encrypted and signed by gpg as a creditor would (demo-bank), in the test's workspace. */
  async function encrypted(name: string, text: string, options: { signer?: string | null; compress?: 'zlib' | 'none' } = {}): Promise<string> {
    const plain = join(gw.ws.dir, `${name}.csv`);
    writeFileSync(plain, text);
    const out = join(gw.ws.dir, `${name}.csv.gpg`);
    await gw.gpg.encrypt(plain, out, { signer: options.signer === undefined ? 'demo-bank@example.invalid' : options.signer, compress: options.compress });
    return out;
  }
  const fileJob = (spoolPath: string, requireSignature = true): EncryptedFileJob => ({
    spoolPath,
    decryptionKeys: gw.deps.keys.pgpPrivateKeys.map((k) => k.write()),
    verificationKeys: gw.deps.keys.sourcePgpKeys.get('demo-bank')!.map((k) => k.write()),
    requireSignature,
  });
  const started = () => {
    const w = new PrepareWorker(gw.deps.keys, gw.deps.policy);
    workers.push(w);
    return w;
  };

  it('decrypts, parses and prepares it exactly as this thread does, in file order, with the same control totals and signer', async () => {
    const text = placementFile(1_200);
    const here = newFileTally();
    const inline = await collect(preparedInBatches(readRecords(pieces(text, 4096), job(500).read, here), 500, (chunk) => prepareBatch(chunk, ctx, gw.deps)));

    const there = newFileTally();
    const progress = { plaintextBytes: 0 };
    const opened = started().decryptAndPrepare(fileJob(await encrypted('whole', text)), job(500), there, progress);
    const onWorker = await collect(gathered(opened.prepared, 500));
    const { signerKeyId } = await opened.finish();

    // Batches of at least 500 rows, the last one smaller; the records and findings are the same.
    expect(onWorker.map((b) => b.rows).reduce((a, b) => a + b)).toBe(1_200);
    expect(onWorker.slice(0, -1).every((b) => b.rows >= 500)).toBe(true);
    const flat = (batches: PreparedRows[]) => ({
      records: batches.flatMap((b) => b.prepared.records),
      findings: batches.flatMap((b) => b.prepared.findings),
      dropped: batches.flatMap((b) => b.prepared.dropped).reduce((m, [f, n]) => m.set(f, (m.get(f) ?? 0) + n), new Map<string, number>()),
    });
    expect(flat(onWorker)).toEqual(flat(inline));
    expect(flat(onWorker).records).toHaveLength(1_199);
    expect(flat(onWorker).findings.map((f) => [f.record, f.code])).toContainEqual([3, 'DATE_IN_FUTURE']);

    // The tally comes back from the thread: rows, balance sum, trailer, and the column dropped at the door.
    expect(there.totals.dataRows).toBe(1_200);
    expect(there.totals.balance.minorUnits).toBe(here.totals.balance.minorUnits);
    expect(there.totals.balance.minorUnits).toBeGreaterThan(0n);
    expect(there.totals.trailer).toEqual(here.totals.trailer);
    expect(there.droppedFields.get('fax_number')).toBe(1_200);
    // And what the open stage learned: every decrypted byte, and who signed.
    expect(progress.plaintextBytes).toBe(Buffer.byteLength(text));
    expect(signerKeyId).toBe(gw.deps.keys.sourcePgpKeys.get('demo-bank')![0]!.getKeyID().toHex());
  });

  it('rejects with the parser\'s file-level error, code and details intact, and still checks the rest of the file', async () => {
    const text = `${placementFile(50)}${placementFile(1).split('\r\n')[1]}\r\n`; // a row after the trailer
    const opened = started().decryptAndPrepare(fileJob(await encrypted('after-trailer', text)), job(20), newFileTally(), { plaintextBytes: 0 });
    const failure = await collect(opened.prepared).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(GatewayError);
    expect(failure).toMatchObject({ code: 'FILE_TRAILER_INVALID', details: { reason: 'not the last row' } });
    expect((await opened.finish()).signerKeyId).not.toBeNull();
  });

  it('lets the integrity check at the end decide for a tampered file, whatever the parser met first', async () => {
    const path = await encrypted('flipped', placementFile(2_000), { compress: 'none' });
    const bytes = readFileSync(path);
    bytes[Math.floor(bytes.length * 0.5)]! ^= 0x04;
    writeFileSync(path, bytes);
    const opened = started().decryptAndPrepare(fileJob(path), job(200), newFileTally(), { plaintextBytes: 0 });
    // SEIPDv1 streams unauthenticated plaintext: the flipped bit reaches the parser (as a finding, or a
    // file-level parse error) before the MDC at the end fails; only finish() may say what the file is.
    await collect(opened.prepared).catch((e: unknown) => e);
    await expect(opened.finish()).rejects.toMatchObject({ code: 'OPEN_INTEGRITY_FAILED' });
  });

  it('rejects a file that is not OpenPGP, an unsigned file where a signature is required, and a truncated one, each with its code', async () => {
    const notPgp = join(gw.ws.dir, 'plain.csv.gpg');
    writeFileSync(notPgp, placementFile(10));
    const first = started().decryptAndPrepare(fileJob(notPgp), job(20), newFileTally(), { plaintextBytes: 0 });
    await expect(collect(first.prepared)).rejects.toMatchObject({ code: 'OPEN_NOT_OPENPGP' });
    await first.abort();

    const unsigned = started().decryptAndPrepare(fileJob(await encrypted('unsigned', placementFile(10), { signer: null })), job(20), newFileTally(), { plaintextBytes: 0 });
    expect((await collect(unsigned.prepared)).length).toBeGreaterThan(0);
    await expect(unsigned.finish()).rejects.toMatchObject({ code: 'OPEN_SIGNATURE_MISSING' });

    const whole = readFileSync(await encrypted('truncated', placementFile(2_000), { compress: 'none' }));
    const truncated = join(gw.ws.dir, 'truncated-cut.csv.gpg');
    writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length * 0.7)));
    const cut = started().decryptAndPrepare(fileJob(truncated), job(200), newFileTally(), { plaintextBytes: 0 });
    const failure = await collect(cut.prepared).then(() => cut.finish()).catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: 'OPEN_INTEGRITY_FAILED' });
  });

  it('decrypts no further ahead than two batches while the batches are not taken', async () => {
    const text = placementFile(12_000); // about 3.5 MB
    expect(text.length).toBeGreaterThan(3_000_000);
    const progress = { plaintextBytes: 0 };
    const opened = started().decryptAndPrepare(fileJob(await encrypted('large', text)), job(200), newFileTally(), progress);
    const stream = gathered(opened.prepared, 200);
    const first = await stream.next();
    expect(first.done).toBe(false);
    // Taken no further for a while: the thread must stop decrypting, not read the whole file.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const whileStalled = progress.plaintextBytes;
    expect(whileStalled).toBeGreaterThan(0);
    expect(whileStalled).toBeLessThan(1024 * 1024);
    let rows = (first.value as PreparedRows).rows;
    for await (const b of stream) rows += b.rows;
    expect(rows).toBe(12_000);
    expect(progress.plaintextBytes).toBe(Buffer.byteLength(text));
    await opened.finish();
  });
});

describe('worker slots', () => {
  it('give a thread to at most `max` files at a time, and take a slot back once however often it is released', () => {
    const slots = new WorkerSlots(1);
    const first = slots.take();
    expect(first).not.toBeNull();
    expect(slots.take()).toBeNull();
    first!.release();
    first!.release();
    const second = slots.take();
    expect(second).not.toBeNull();
    expect(slots.take()).toBeNull();
  });
});

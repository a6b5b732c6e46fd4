import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Ack } from '../../src/pipeline/ack.js';
import { ingestFile } from '../helpers/files.js';
import { placementRow, useTestGateway } from '../helpers/gateway.js';

const gw = useTestGateway();

/** A rejected file commits nothing and lists no record findings. */
async function expectRejectedWithNothingStored(ack: Ack, code: string): Promise<void> {
  expect(ack.status).toBe('rejected');
  expect(ack.file_error).toMatchObject({ code });
  expect(ack.errors).toEqual([]);
  expect(await gw.deps.store.countStagedRecords(ack.receipt_id)).toBe(0);
  expect((await gw.deps.store.getFile(ack.receipt_id))?.state).toBe('rejected');
}

describe('bad input: each gets its code and nothing is stored', () => {
  it('rejects a file that is not OpenPGP at all', async () => {
    const path = join(gw.ws.dir, 'not-pgp.csv.gpg');
    writeFileSync(path, 'account_ref,balance\nA,1.00\n');
    await expectRejectedWithNothingStored(await ingestFile(gw.deps, path), 'OPEN_NOT_OPENPGP');
  });

  it('rejects a file encrypted to another key than the gateway', async () => {
    const other = await gw.gpg.generateKey('someone-else@example.invalid');
    const csv = join(gw.ws.dir, 'other-key.csv');
    writeFileSync(csv, 'account_ref\nA\n');
    await expectRejectedWithNothingStored(await gw.sendPlaintext('other-key', csv, { recipient: other }), 'OPEN_DECRYPT_FAILED');
  });

  it('rejects an unsigned file from a source that requires signatures', async () => {
    const csv = join(gw.ws.dir, 'unsigned.csv');
    writeFileSync(csv, 'account_ref,debt_type\nA,other\n');
    await expectRejectedWithNothingStored(await gw.sendPlaintext('unsigned', csv, { signer: null }), 'OPEN_SIGNATURE_MISSING');
  });

  it("rejects a file signed by another source's key", async () => {
    const csv = join(gw.ws.dir, 'wrong-signer.csv');
    writeFileSync(csv, 'account_ref\nA\n');
    await expectRejectedWithNothingStored(await gw.sendPlaintext('wrong-signer', csv, { signer: 'demo-hospital@example.invalid' }), 'OPEN_SIGNATURE_INVALID');
  });

  it('rejects a file whose trailer totals do not match its rows, naming no value', async () => {
    const ack = await gw.sendCsv('totals', [placementRow('T-1'), placementRow('T-2')], { trailer: 'TRAILER,2,9999.99' });
    await expectRejectedWithNothingStored(ack, 'FILE_CONTROL_TOTAL_MISMATCH');
    expect(ack.control_totals).toMatchObject({ record_count: 2, matched: false });
  });

  it('rejects a file whose trailer record count does not match', async () => {
    await expectRejectedWithNothingStored(await gw.sendCsv('count', [placementRow('C-1')], { trailer: 'TRAILER,5,1520.75' }), 'FILE_CONTROL_TOTAL_MISMATCH');
  });

  it('rejects a file that is not valid UTF-8', async () => {
    const csv = join(gw.ws.dir, 'latin1.csv');
    writeFileSync(csv, Buffer.concat([Buffer.from('account_ref,debt_type,original_creditor\nA-1,other,Caf'), Buffer.from([0xe9]), Buffer.from('\n')]));
    await expectRejectedWithNothingStored(await gw.sendPlaintext('latin1', csv), 'PARSE_INVALID_UTF8');
  });

  it('rejects a file holding a 10 MB single line, fast and in bounded memory', async () => {
    const csv = join(gw.ws.dir, 'long-line.csv');
    writeFileSync(csv, `account_ref,notes\nA-1,${'x'.repeat(10 * 1024 * 1024)}\n`);
    const started = Date.now();
    await expectRejectedWithNothingStored(await gw.sendPlaintext('long-line', csv), 'PARSE_RECORD_TOO_LARGE');
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('rejects a file whose header does not name account_ref (a file sent without its header row)', async () => {
    const csv = join(gw.ws.dir, 'no-header.csv');
    writeFileSync(csv, 'A-1,credit_card,Demo Bank,2025-01-01,10.00,USD,Zed,Header,US\n');
    const ack = await gw.sendPlaintext('no-header', csv);
    await expectRejectedWithNothingStored(ack, 'PARSE_HEADER_MISSING');
    expect(JSON.stringify(ack)).not.toContain('Zed');
  });

  it('rejects each failing identifier check once, naming the field and code but never the value, and keeps the good records', async () => {
    const bad: Array<[string, Record<string, string>, string, string]> = [
      ['ID-SSN', { national_id: '666-12-3456', national_id_type: 'us_ssn' }, 'national_id', 'SSN_INVALID'],
      ['ID-RIC', { national_id: '110105194912310021', national_id_type: 'cn_ric' }, 'national_id', 'CN_RIC_INVALID'],
      ['ID-NINO', { national_id: 'QQ123456C', national_id_type: 'gb_nino' }, 'national_id', 'NINO_INVALID'],
      ['ID-CARD', { card_number: '4111111111111112' }, 'card_number', 'CARD_NUMBER_INVALID'],
      ['ID-IBAN', { iban: 'GB82WEST12345698765431' }, 'iban', 'IBAN_INVALID'],
      ['ID-ABA', { bank_routing_number: '011000016' }, 'bank_routing_number', 'ROUTING_NUMBER_INVALID'],
      ['ID-ACCT', { bank_account_number: '12AB' }, 'bank_account_number', 'BANK_ACCOUNT_INVALID'],
      ['ID-PHONE', { phone: '+0123456789' }, 'phone', 'PHONE_INVALID'],
      ['ID-EMAIL', { email: 'not-an-address' }, 'email', 'EMAIL_INVALID'],
      ['ID-CUR', { currency: 'XYZ' }, 'currency', 'CURRENCY_INVALID'],
      ['ID-CTRY', { country: 'QQ' }, 'country', 'COUNTRY_INVALID'],
      ['ID-DATE', { delinquency_date: '2023-02-29' }, 'delinquency_date', 'DATE_INVALID'],
      ['ID-FUTURE', { delinquency_date: '2999-01-01' }, 'delinquency_date', 'DATE_IN_FUTURE'],
      ['ID-DOB', { date_of_birth: '2020-01-01' }, 'date_of_birth', 'DOB_OUT_OF_RANGE'],
      ['ID-MONEY', { balance: '12.345' }, 'balance', 'MONEY_INVALID'],
      ['ID-ENUM', { debt_type: 'gambling' }, 'debt_type', 'FIELD_ENUM'],
      ['ID-REQ', { first_name: '' }, 'first_name', 'FIELD_REQUIRED'],
      // U+0000 would also fail PostgreSQL's text type: the record is refused, not the file stuck.
      ['ID-NUL', { address_line1: '12 Elm\u0000Street' }, 'address_line1', 'FIELD_CONTROL_CHARACTER'],
      ['ID-ESC', { last_name: 'Gar\u001bcia' }, 'last_name', 'FIELD_CONTROL_CHARACTER'],
      ['ID-ITEM', { itemization_amount: '100.00', interest_since_itemization: '1.00', fees_since_itemization: '0.00', payments_since_itemization: '0.00', credits_since_itemization: '0.00', balance: '100.00' }, 'balance', 'ITEMIZATION_MISMATCH'],
    ];
    const rows = [placementRow('GOOD-1'), ...bad.map(([ref, o]) => placementRow(ref, o)), placementRow('GOOD-2')];
    const ack = await gw.sendCsv('identifiers', rows);
    expect(ack.status).toBe('committed');
    expect(ack.counts).toMatchObject({ records: rows.length, accepted: 2, rejected: bad.length });
    bad.forEach(([, , field, code], i) => {
      expect(ack.errors).toContainEqual(expect.objectContaining({ record: i + 2, field, code }));
    });
    // Scanned without what the gateway makes itself (ids, the hash, the time, the file's sums): those
    // hold digits of their own, and "1.00" once turned up in a received_at of "…:11.001Z".
    const { receipt_id: _id, sha256: _sha, received_at: _at, control_totals: _totals, ...echoed } = ack;
    const text = JSON.stringify(echoed);
    expect(text).toContain('ITEMIZATION_MISMATCH');
    for (const [, overrides] of bad) for (const value of Object.values(overrides)) if (value.length > 3 && !['us_ssn', 'cn_ric', 'gb_nino'].includes(value)) expect(text).not.toContain(value);
    expect(await gw.deps.store.countStagedRecords(ack.receipt_id)).toBe(2);
  });

  it('rejects a recall for an account this source never placed', async () => {
    await gw.sendCsv('placed', [placementRow('R-KNOWN')]);
    const ack = await gw.sendCsv('recall', [
      { account_ref: 'R-KNOWN', recall_reason: 'paid_to_creditor', effective_date: '2026-11-01' },
      { account_ref: 'R-UNKNOWN', recall_reason: 'paid_to_creditor', effective_date: '2026-11-01' },
    ], { kind: 'recall' });
    expect(ack).toMatchObject({ status: 'committed', counts: { records: 2, accepted: 1, rejected: 1 } });
    expect(ack.errors).toEqual([{ record: 2, field: 'account_ref', code: 'RECALL_UNKNOWN_ACCOUNT', message: expect.any(String) as string }]);
  });

  it('rejects a second row for the same account in one file, keeping the first', async () => {
    const ack = await gw.sendCsv('dup-ref', [placementRow('DUP-1'), placementRow('DUP-1')]);
    expect(ack.counts).toMatchObject({ accepted: 1, rejected: 1 });
    expect(ack.errors).toEqual([expect.objectContaining({ record: 2, code: 'ACCOUNT_REF_DUPLICATE' })]);
  });

  it('keeps files and records flowing after all of the above', async () => {
    const ack = await gw.sendCsv('after', [placementRow('FLOW-1'), placementRow('FLOW-2')]);
    expect(ack).toMatchObject({ status: 'committed', counts: { accepted: 2 } });
  });
});

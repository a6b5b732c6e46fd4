import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { eraseSubject, findSubject, subjectReport } from '../../src/officers/subjects.js';
import type { AccountView, FeedItem } from '../../src/release/view.js';
import { apiKey, useTestApp } from '../helpers/app.js';
import { ingestFile, placementRow, writeCsv } from '../helpers/files.js';
import { filesUnder, findLeaks, seeded } from '../helpers/pii.js';

const t = useTestApp();
const other = { first_name: 'Ottoline', last_name: 'Brackenbury', national_id: '219-09-9999', phone: '+14155550123' };

async function read(path: string) {
  const res = await fetch(`${t.url}${path}`, { headers: { authorization: `Bearer ${apiKey('demo-collector')}`, 'x-veilgate-purpose': 'collection-contact' } });
  return (await res.json()) as Record<string, unknown>;
}

describe('erasure by crypto-shredding', () => {
  it('makes the subject unreadable everywhere while every other subject reads normally', async () => {
    const { diagnosis_code: _d, ...person } = seeded;
    const csv = writeCsv(join(t.ws.dir, 'erase.csv'), [
      placementRow('ERASE-1', { ...person, national_id_type: 'us_ssn', consent_phone: 'granted' }),
      placementRow('ERASE-2', { ...person, national_id_type: 'us_ssn', debt_type: 'personal_loan' }),
      placementRow('KEEP-1', { ...other, national_id_type: 'us_ssn' }),
    ]);
    await t.gpg.encrypt(csv, `${csv}.gpg`, { signer: 'demo-bank@example.invalid' });
    const ack = await ingestFile(t.deps, `${csv}.gpg`);
    expect(ack.counts.accepted).toBe(3);

    const feed = (await read('/v1/feed?after=0')).events as FeedItem[];
    expect(feed).toHaveLength(3);
    const tokenOf = (first: string) => feed.find((e) => e.view.fields.first_name?.masked === `${first[0]}.`)!.view.account;
    const erased = tokenOf(seeded.first_name);
    const kept = tokenOf(other.first_name);

    // Found by national id, as an officer would from the person's request; two accounts, one subject.
    const subject = (await findSubject(t.deps, { nationalId: seeded.national_id, type: 'us_ssn' }))!;
    expect(subject).not.toBeNull();
    const report = await subjectReport(t.deps, subject, 'demo-officer');
    expect(report.held).toHaveLength(2);
    expect(report.held[0]!.fields.encrypted).toEqual(expect.arrayContaining(['first_name', 'last_name', 'phone', 'email', 'date_of_birth', 'national_id_last4']));
    expect(report.releases.length).toBeGreaterThanOrEqual(2);
    expect(findLeaks(JSON.stringify(report))).toEqual([]);

    const db = join(t.ws.dataDir, 'veilgate.db');
    const wrapped = (new Database(db, { readonly: true }).prepare('SELECT wrapped_key FROM subjects WHERE subject_token = ?').get(subject) as { wrapped_key: Buffer }).wrapped_key;
    const spool = join(t.ws.dataDir, 'spool');
    expect(filesUnder(spool).length).toBe(1);

    const result = await eraseSubject(t.deps, subject, 'demo-officer');
    expect(result).toMatchObject({ accounts: 2, spool_purged: [ack.receipt_id], spool_pending: [] });

    // The recipient's next read: nothing, with the reason.
    const after = (await read(`/v1/accounts/${erased}`)) as unknown as AccountView;
    expect(after.fields).toEqual({});
    expect(new Set(Object.values(after.withheld))).toEqual(new Set(['subject_erased']));
    const reveal = await fetch(`${t.url}/v1/reveal`, {
      method: 'POST', body: JSON.stringify({ account: erased, fields: ['phone'] }),
      headers: { authorization: `Bearer ${apiKey('demo-collector')}`, 'x-veilgate-purpose': 'collection-contact', 'content-type': 'application/json' },
    });
    expect(await reveal.json()).toMatchObject({ values: {}, withheld: { phone: 'subject_erased' } });

    // Every other subject still reads normally.
    const otherView = (await read(`/v1/accounts/${kept}`)) as unknown as AccountView;
    expect(otherView.fields.first_name).toEqual({ reveal: true, masked: 'O.' });
    expect(otherView.withheld).toEqual({ email: 'consent_not_granted' });

    // Nothing can recover the values: the wrapped key's bytes are gone from the database file and its
    // WAL (overwritten, not just unlinked), no remaining key opens the subject's ciphertexts, the spooled
    // file is deleted, and no value is in any file or log.
    for (const f of [db, `${db}-wal`].filter((f) => existsSync(f))) expect(readFileSync(f).includes(wrapped), f).toBe(false);
    const sqlite = new Database(db, { readonly: true });
    const vaults = sqlite.prepare('SELECT vault FROM records WHERE subject_token = ? AND vault IS NOT NULL').all(subject) as Array<{ vault: Buffer }>;
    expect(vaults.length).toBe(2);
    const keys = sqlite.prepare('SELECT wrapped_key FROM subjects').all() as Array<{ wrapped_key: Buffer }>;
    sqlite.close();
    for (const v of vaults) {
      for (const k of keys) expect(() => t.deps.vault.openWithWrapped(k.wrapped_key, subject, v.vault)).toThrow();
    }
    expect(filesUnder(spool)).toEqual([]);
    for (const f of filesUnder(t.ws.dataDir)) expect(findLeaks(readFileSync(f)), f).toEqual([]);
    expect(findLeaks(t.logs.text)).toEqual([]);

    // The erasure is audited, and the chain still verifies.
    const head = await t.deps.store.auditHead();
    const log = await t.deps.store.readAudit(1, head.seq);
    expect(log.filter((e) => e.action === 'subject.erased')).toEqual([expect.objectContaining({ actor: 'officer:demo-officer', target: subject })]);
    const { verifyChain } = await import('../../src/audit/chain.js');
    expect(verifyChain(log)).toMatchObject({ ok: true });
    expect((await subjectReport(t.deps, subject, 'demo-officer')).held[0]!.fields.encrypted).toBe('erased');
  });
});

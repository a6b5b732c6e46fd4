import http from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RecordKind } from '../../src/config/types.js';
import { decideRelease } from '../../src/release/decide.js';
import type { Rule } from '../../src/release/rules.js';
import { foldSubjectEvents } from '../../src/release/subject-state.js';
import type { AccountView, FeedItem } from '../../src/release/view.js';
import { apiKey, useTestApp } from '../helpers/app.js';
import { ingestFile, placementRow, writeCsv } from '../helpers/files.js';
import { expectMatchesOpenApi } from '../helpers/openapi.js';
import { findLeaks, seeded } from '../helpers/pii.js';

// demo-letters mails for demo-bank only: the hospital's accounts do not exist for it.
const t = useTestApp((raw) => {
  (raw.recipients as Record<string, { sources?: string[] }>)['demo-letters']!.sources = ['demo-bank'];
});

/** Every response body a recipient received, except reveals (which may carry a value by design). */
const seen: string[] = [];

const subjectA = {
  ...seeded, national_id_type: 'us_ssn', postal_code: '94107', city: 'Springfield', consent_phone: 'granted', consent_email: 'granted',
} as Record<string, string>;
delete subjectA.diagnosis_code;

async function send(name: string, kind: RecordKind, rows: Array<Record<string, string>>, source = 'demo-bank') {
  const csv = writeCsv(join(t.ws.dir, `${name}.csv`), rows);
  const out = join(t.ws.dir, `${name}.gpg`);
  await t.gpg.encrypt(csv, out, { signer: `${source}@example.invalid` });
  const ack = await ingestFile(t.deps, out, source, kind);
  expect(ack.status, JSON.stringify(ack.errors)).toBe('committed');
  expect(ack.counts.rejected, JSON.stringify(ack.errors)).toBe(0);
  return ack;
}

async function call(recipient: string, purpose: string | null, method: string, path: string, body?: unknown, apiPath?: string) {
  const headers: Record<string, string> = { authorization: `Bearer ${apiKey(recipient)}` };
  if (purpose !== null) headers['x-veilgate-purpose'] = purpose;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${t.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const json = JSON.parse(text) as Record<string, unknown>;
  await expectMatchesOpenApi(apiPath ?? path.split('?')[0]!, method, res, json);
  if (!path.startsWith('/v1/reveal')) seen.push(text);
  return { status: res.status, json };
}

async function readFeed(recipient: string, purpose: string, after?: string): Promise<FeedItem[]> {
  const out: FeedItem[] = [];
  let cursor = after;
  for (;;) {
    const { status, json } = await call(recipient, purpose, 'GET', `/v1/feed?limit=3${cursor === undefined ? '' : `&after=${cursor}`}`, undefined, '/v1/feed');
    expect(status).toBe(200);
    out.push(...(json.events as FeedItem[]));
    cursor = json.next_cursor as string;
    if (json.has_more !== true) return out;
  }
}

async function account(recipient: string, purpose: string, token: string) {
  return call(recipient, purpose, 'GET', `/v1/accounts/${token}`, undefined, '/v1/accounts/{token}');
}

/** The recipient's token of the account placed with this reference, found through its feed. */
async function tokenOf(recipient: string, purpose: string, fieldsCheck: (v: AccountView) => boolean): Promise<string> {
  const feed = await readFeed(recipient, purpose, '0');
  const match = feed.find((e) => e.type === 'account.placed' && fieldsCheck(e.view));
  expect(match).toBeDefined();
  return match!.view.account;
}

async function auditEntries(action?: string) {
  const head = await t.deps.store.auditHead();
  const all = await t.deps.store.readAudit(1, head.seq);
  return action === undefined ? all : all.filter((e) => e.action === action);
}

describe('release to collection systems', () => {
  let collectorA = '';
  let collectorB = '';
  let lettersA = '';

  it('releases to each recipient exactly its grant, under its own tokens', async () => {
    await send('placements', 'placement', [
      placementRow('REL-A', { ...subjectA, card_number: seeded.card_number, balance: '1520.75' }),
      placementRow('REL-B', { first_name: 'Bartholomew', phone: '+14155550111', email: 'b@example.invalid', consent_email: 'unknown', balance: '99.00' }),
    ]);
    collectorA = await tokenOf('demo-collector', 'collection-contact', (v) => v.fields.balance?.value === '1520.75');
    collectorB = await tokenOf('demo-collector', 'collection-contact', (v) => v.fields.balance?.value === '99.00');
    lettersA = await tokenOf('demo-letters', 'letter-mailing', (v) => v.fields.balance?.value === '1520.75');
    expect(lettersA).not.toBe(collectorA);

    const a = (await account('demo-collector', 'collection-contact', collectorA)).json as unknown as AccountView;
    expect(a.status).toBe('placed');
    expect(a.fields).toMatchObject({
      balance: { value: '1520.75' }, currency: { value: 'USD' }, debt_type: { value: 'credit_card' },
      first_name: { reveal: true, masked: 'Z.' }, phone: { reveal: true, masked: '+1******0987' }, email: { reveal: true },
      date_of_birth: { verify: true }, national_id: { verify: true }, postal_code: { verify: true },
      card_number: { masked: '**** **** **** 9855' }, city: { masked: 'Springfield' },
    });
    expect(a.withheld).toEqual({});
    expect(a.policy_version).toBe(t.deps.releasePolicy.version);
    // Fields outside the grant do not appear at all, released or withheld.
    expect(Object.keys(a.fields)).not.toContain('address_line1');
    expect(Object.keys(a.fields)).not.toContain('iban');

    const b = (await account('demo-collector', 'collection-contact', collectorB)).json as unknown as AccountView;
    expect(b.withheld).toEqual({ email: 'consent_not_granted' });

    const letters = (await account('demo-letters', 'letter-mailing', lettersA)).json as unknown as AccountView;
    expect(Object.keys(letters.fields).sort()).toEqual(['address_line1', 'balance', 'city', 'country', 'currency', 'debt_type', 'delinquency_date', 'first_name', 'last_name', 'original_creditor', 'postal_code']);
    expect(letters.subject).not.toBe(a.subject);

    // Skip-tracing gives tokens that the same recipient can join on, and that differ from another recipient's.
    const skip = (await account('demo-collector', 'skip-tracing', collectorA)).json as unknown as AccountView;
    expect(skip.fields.national_id?.token).toMatch(/^v1\./);
    expect(skip.fields.date_of_birth).toEqual({ masked: '1961-**-**' });
  });

  it('refuses, with a code and an audit entry, a purpose not granted, a missing purpose and another recipient\'s token', async () => {
    const notGranted = await account('demo-letters', 'collection-contact', lettersA);
    expect(notGranted).toMatchObject({ status: 403, json: { code: 'RELEASE_PURPOSE_NOT_GRANTED' } });
    const missing = await call('demo-letters', null, 'GET', `/v1/accounts/${lettersA}`, undefined, '/v1/accounts/{token}');
    expect(missing).toMatchObject({ status: 400, json: { code: 'RELEASE_PURPOSE_REQUIRED' } });
    const foreign = await account('demo-letters', 'letter-mailing', collectorA);
    expect(foreign).toMatchObject({ status: 404, json: { code: 'NOT_FOUND' } });
    const sourceKey = await fetch(`${t.url}/v1/accounts/${lettersA}`, { headers: { authorization: `Bearer ${apiKey('demo-bank')}`, 'x-veilgate-purpose': 'letter-mailing' } });
    expect(sourceKey.status).toBe(403);
    const refused = (await auditEntries('release.refused')).map((e) => e.details.code);
    expect(refused).toEqual(expect.arrayContaining(['RELEASE_PURPOSE_NOT_GRANTED', 'RELEASE_PURPOSE_REQUIRED', 'NOT_FOUND', 'AUTH_FORBIDDEN']));
    expect((await auditEntries('release.refused')).find((e) => e.details.code === 'AUTH_FORBIDDEN')).toMatchObject({ actor: 'source:demo-bank' });
  });

  it('writes one audit entry per read, with the policy and consent-state versions that replay the decision', async () => {
    const before = (await t.deps.store.auditHead()).seq;
    const view = (await account('demo-collector', 'collection-contact', collectorB)).json as unknown as AccountView;
    const entries = (await t.deps.store.readAudit(before + 1, before + 10)).filter((e) => e.action === 'release.account');
    expect(entries).toHaveLength(1);
    const entry = entries[0]!;
    const item = (entry.details.items as Array<Record<string, unknown>>)[0]!;
    expect(entry.details).toMatchObject({ purpose: 'collection-contact', route: 'GET /v1/accounts/:token', policy_version: view.policy_version });
    expect(item.withheld).toEqual(view.withheld);
    expect(item.released).toEqual(Object.keys(view.fields));

    // Replay: the stored policy and the subject's events up to the recorded version give the same decision.
    const policy = JSON.parse((await t.deps.store.getPolicy(entry.details.policy_version as string))!) as {
      recipients: Record<string, { grants: Record<string, Record<string, never>> }>; rules: Rule[];
    };
    const facts = await t.deps.store.release([item.account as string], (f) => ({ result: f.get(item.account as string)!, audit: [] }));
    const state = foldSubjectEvents(facts.subjectEvents, item.consent_version as number);
    const replayed = decideRelease(policy.recipients['demo-collector']!.grants['collection-contact']!, {
      purpose: 'collection-contact', accountStatus: 'placed', debtType: 'credit_card', restrictions: state.restrictions, consents: state.consents,
    }, policy.rules);
    expect(replayed.withheld).toEqual(item.withheld);
  });

  it('verifies identity without disclosure, and limits and audits brute force per subject', async () => {
    const right = await call('demo-collector', 'collection-contact', 'POST', '/v1/verify', { account: collectorA, fields: { date_of_birth: seeded.date_of_birth, national_id: '4321', postal_code: '94107 ' } });
    expect(right).toMatchObject({ status: 200, json: { match: { date_of_birth: true, national_id: true, postal_code: true }, withheld: {} } });
    const wrong = await call('demo-collector', 'collection-contact', 'POST', '/v1/verify', { account: collectorA, fields: { date_of_birth: '1961-07-24', phone: seeded.phone } });
    // phone is granted `reveal`, which includes verifying it.
    expect(wrong).toMatchObject({ status: 200, json: { match: { date_of_birth: false, phone: true } } });
    const notGranted = await call('demo-letters', 'letter-mailing', 'POST', '/v1/verify', { account: lettersA, fields: { date_of_birth: seeded.date_of_birth } });
    expect(notGranted).toMatchObject({ status: 200, json: { match: {}, withheld: { date_of_birth: 'not_granted' } } });

    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await call('demo-collector', 'collection-contact', 'POST', '/v1/verify', { account: collectorA, fields: { date_of_birth: `1970-01-0${i + 1}` } })).status);
    // 5 attempts an hour per subject (the default): two were used above.
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
    expect((await auditEntries('verify.refused')).length).toBe(3);
    // Every attempt that was answered is audited: 2 + 1 (demo-letters) above, 3 here.
    expect((await auditEntries('verify')).length).toBe(6);
    // Another subject is not affected.
    expect((await call('demo-collector', 'collection-contact', 'POST', '/v1/verify', { account: collectorB, fields: { date_of_birth: '1970-01-01' } })).status).toBe(200);
  });

  it('reveals a value granted `reveal` and audits the reveal by field name', async () => {
    const res = await call('demo-collector', 'collection-contact', 'POST', '/v1/reveal', { account: collectorA, fields: ['phone', 'first_name', 'date_of_birth'] });
    expect(res).toMatchObject({ status: 200, json: { values: { phone: seeded.phone, first_name: seeded.first_name }, withheld: { date_of_birth: 'not_granted' } } });
    const reveal = (await auditEntries('reveal')).at(-1)!;
    expect((reveal.details.items as Array<{ released: string[] }>)[0]!.released).toEqual(['phone', 'first_name']);
    expect(findLeaks(JSON.stringify(reveal))).toEqual([]);
  });

  it('applies a restriction reported over the API to every recipient, in reads and feeds', async () => {
    const collectorView = (await account('demo-collector', 'collection-contact', collectorA)).json as unknown as AccountView;
    const lift = await call('demo-collector', 'collection-contact', 'POST', `/v1/subjects/${collectorView.subject}/restrictions`, { restrictions: { cease_communication: 'N' } }, '/v1/subjects/{token}/restrictions');
    expect(lift).toMatchObject({ status: 403, json: { code: 'RESTRICTION_LIFT_NOT_ALLOWED' } });

    const unknown = await call('demo-collector', 'collection-contact', 'POST', `/v1/subjects/${collectorView.subject}/restrictions`, { restrictions: { moon_phase: 'Y' } }, '/v1/subjects/{token}/restrictions');
    expect(unknown).toMatchObject({ status: 400, json: { code: 'RESTRICTION_INVALID' } });
    expect(JSON.stringify(unknown.json)).not.toContain('moon_phase');
    const lettersCursor = String(await t.deps.store.feedHead());
    const beyond = await call('demo-letters', 'letter-mailing', 'GET', `/v1/feed?after=${Number(lettersCursor) + 1}`, undefined, '/v1/feed');
    expect(beyond).toMatchObject({ status: 400, json: { code: 'RELEASE_CURSOR_INVALID' } });
    const report = await call('demo-collector', 'collection-contact', 'POST', `/v1/subjects/${collectorView.subject}/restrictions`, { restrictions: { cease_communication: 'Y' }, effective_date: '2026-11-20' }, '/v1/subjects/{token}/restrictions');
    expect(report).toMatchObject({ status: 201, json: { applied: { cease_communication: 'Y' }, accounts: 1 } });

    const after = (await account('demo-collector', 'collection-contact', collectorA)).json as unknown as AccountView;
    expect(after.withheld).toMatchObject({ phone: 'cease_communication', email: 'cease_communication', postal_code: 'cease_communication', city: 'cease_communication' });
    expect(after.fields.balance).toEqual({ value: '1520.75' });
    expect(after.consent_version).toBeGreaterThan(collectorView.consent_version);
    const letters = (await account('demo-letters', 'letter-mailing', lettersA)).json as unknown as AccountView;
    expect(letters.withheld).toMatchObject({ address_line1: 'cease_communication', postal_code: 'cease_communication' });

    const events = await readFeed('demo-letters', 'letter-mailing', lettersCursor);
    expect(events.map((e) => e.type)).toEqual(['subject.restricted']);
    expect(events[0]).toMatchObject({ changes: { cease_communication: 'Y' }, view: { account: lettersA } });
    expect((await auditEntries('subject.change_reported')).length).toBe(1);
  });

  it('applies a creditor\'s update file (consent and cease) and recall file to what the next read and the feed return', async () => {
    const cursor = String(await t.deps.store.feedHead());
    await send('updates', 'update', [
      { account_ref: 'REL-B', update_type: 'consent', effective_date: '2026-11-21', consent_email: 'granted' },
      { account_ref: 'REL-B', update_type: 'payment', effective_date: '2026-11-22', amount: '10.00', balance: '89.00' },
    ]);
    const b = (await account('demo-collector', 'collection-contact', collectorB)).json as unknown as AccountView;
    expect(b.withheld).toEqual({});
    expect(b.fields).toMatchObject({ email: { reveal: true }, balance: { value: '89.00' }, last_payment_date: { value: '2026-11-22' } });

    await send('cease', 'update', [{ account_ref: 'REL-B', update_type: 'restriction', effective_date: '2026-11-23', cease_communication: 'Y' }]);
    const ceased = (await account('demo-collector', 'collection-contact', collectorB)).json as unknown as AccountView;
    expect(ceased.withheld).toMatchObject({ phone: 'cease_communication', email: 'cease_communication' });

    // The creditor lifts it (an update carrying only 'N'): contact fields flow again.
    await send('lift', 'update', [{ account_ref: 'REL-B', update_type: 'restriction', effective_date: '2026-11-23', cease_communication: 'N' }]);
    const lifted = (await account('demo-collector', 'collection-contact', collectorB)).json as unknown as AccountView;
    expect(lifted.withheld).toEqual({});
    expect(lifted.fields).toMatchObject({ email: { reveal: true } });

    await send('recall', 'recall', [{ account_ref: 'REL-B', recall_reason: 'paid_to_creditor', effective_date: '2026-11-24' }]);
    const recalled = (await account('demo-collector', 'collection-contact', collectorB)).json as unknown as AccountView;
    expect(recalled).toMatchObject({ status: 'recalled', recall: { reason: 'paid_to_creditor', effective_date: '2026-11-24' }, fields: {} });
    expect(new Set(Object.values(recalled.withheld))).toEqual(new Set(['account_recalled']));
    const lettersB = await readFeed('demo-letters', 'letter-mailing', cursor);
    expect(lettersB.map((e) => e.type)).toEqual(['subject.consent_changed', 'account.updated', 'subject.restricted', 'subject.restricted', 'account.recalled']);
    expect(lettersB[1]!.changes).toEqual({ update_type: 'payment', effective_date: '2026-11-22', amount: '10.00', balance: '89.00' });
    expect(lettersB.every((e) => e.view.status === 'recalled')).toBe(true);
  });

  it('lists recalls a recipient has not acknowledged, until its cursor passes them', async () => {
    const soon = new Date(Date.now() + 1000).toISOString();
    const recipients = [{ id: 'demo-collector', sources: null }, { id: 'demo-letters', sources: null }];
    await t.deps.store.acknowledgeFeed('demo-letters', 0);
    const overdue = await t.deps.store.overdueRecalls(recipients, soon);
    expect(overdue.find((o) => o.recipient === 'demo-letters')!.count).toBe(1);
    const head = String(await t.deps.store.feedHead());
    await call('demo-letters', 'letter-mailing', 'GET', `/v1/feed?after=${head}`, undefined, '/v1/feed');
    expect((await t.deps.store.overdueRecalls(recipients, soon)).find((o) => o.recipient === 'demo-letters')!.count).toBe(0);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/veilgate_recalls_unacknowledged\{recipient="demo-collector"\} \d+/);
  });

  it('resumes a feed after an abrupt disconnect with every event exactly once', async () => {
    await send('many', 'placement', Array.from({ length: 12 }, (_, i) => placementRow(`FEED-${i}`, { balance: `${i}.00` })));
    const cursor = '0';
    // The reader fetches a page and dies while the response is arriving, before processing it.
    await new Promise<void>((resolve) => {
      const req = http.get(`${t.url}/v1/feed?after=${cursor}&limit=5`, { headers: { authorization: `Bearer ${apiKey('demo-collector')}`, 'x-veilgate-purpose': 'collection-contact' } }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => resolve());
    });
    const all = await readFeed('demo-collector', 'collection-contact', cursor);
    const seqs = all.map((e) => Number(e.cursor));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    const head = await t.deps.store.feedHead();
    expect(seqs.at(-1)).toBe(head);
    expect(all.filter((e) => e.type === 'account.placed').map((e) => e.view.fields.balance?.value)).toEqual(expect.arrayContaining(Array.from({ length: 12 }, (_, i) => `${i}.00`)));
  });

  it('releases a medical account\'s service date and facility only to a purpose granted them, a diagnosis never, and nothing to a recipient of other sources', async () => {
    const cursor = String(await t.deps.store.feedHead());
    await send('hospital', 'placement', [placementRow('MED-1', {
      debt_type: 'medical', original_creditor: 'Demo Hospital', service_date: '2025-03-02', facility_name: 'Demo General', diagnosis_code: seeded.diagnosis_code, balance: '310.00',
    })], 'demo-hospital');
    const [placed] = await readFeed('demo-collector', 'collection-contact', cursor);
    expect(placed!.view.fields).toMatchObject({ service_date: { value: '2025-03-02' }, facility_name: { value: 'Demo General' } });
    expect(JSON.stringify(placed)).not.toContain('diagnosis');
    const skip = (await account('demo-collector', 'skip-tracing', placed!.view.account)).json as unknown as AccountView;
    expect(Object.keys(skip.fields)).not.toContain('service_date');
    expect(Object.keys(skip.fields)).not.toContain('facility_name');

    expect(await readFeed('demo-letters', 'letter-mailing', cursor)).toEqual([]);
    const lettersToken = t.deps.tokeniser.forRecipient('demo-letters', t.deps.tokeniser.fromRecipient('demo-collector', placed!.view.account)!);
    expect(await account('demo-letters', 'letter-mailing', lettersToken)).toMatchObject({ status: 404, json: { code: 'NOT_FOUND' } });
  });

  it('leaks no seeded value in any response, log line or audit entry', async () => {
    expect(seen.length).toBeGreaterThan(20);
    expect(findLeaks(seen.join('\n'))).toEqual([]);
    expect(findLeaks(t.logs.text)).toEqual([]);
    expect(findLeaks(JSON.stringify(await auditEntries()))).toEqual([]);
  });
});

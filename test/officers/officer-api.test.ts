import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compactVerify, importJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { checkpointNow } from '../../src/audit/checkpointer.js';
import type { FeedItem } from '../../src/release/view.js';
import { apiKey, useTestApp } from '../helpers/app.js';
import { ingestFile, placementRow, writeCsv } from '../helpers/files.js';
import { keysDir } from '../helpers/gpg.js';
import { expectMatchesOpenApi } from '../helpers/openapi.js';
import { findLeaks, seeded } from '../helpers/pii.js';

const t = useTestApp();

async function officer(method: string, path: string, apiPath: string, body?: unknown) {
  const res = await fetch(`${t.url}${path}`, {
    method, body: body === undefined ? undefined : JSON.stringify(body),
    headers: { authorization: `Bearer ${apiKey('demo-officer')}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
  });
  const json = (await res.json()) as Record<string, unknown>;
  await expectMatchesOpenApi(apiPath, method, res, json);
  expect(findLeaks(JSON.stringify(json))).toEqual([]);
  return { status: res.status, json };
}

async function read(recipient: string, purpose: string, path: string) {
  const res = await fetch(`${t.url}${path}`, { headers: { authorization: `Bearer ${apiKey(recipient)}`, 'x-veilgate-purpose': purpose } });
  return (await res.json()) as Record<string, unknown>;
}

describe('the officer API', () => {
  let subject = '';

  it('finds a subject by national id (in the body) and reports what is held and who received what', async () => {
    const { diagnosis_code: _d, ...person } = seeded;
    const csv = writeCsv(join(t.ws.dir, 'api.csv'), [placementRow('OA-1', { ...person, national_id_type: 'us_ssn' }), placementRow('OA-2', { first_name: 'Other' })]);
    await t.gpg.encrypt(csv, `${csv}.gpg`, { signer: 'demo-bank@example.invalid' });
    await ingestFile(t.deps, `${csv}.gpg`);
    const feed = (await read('demo-collector', 'collection-contact', '/v1/feed?after=0')).events as FeedItem[];
    await read('demo-collector', 'skip-tracing', `/v1/accounts/${feed[0]!.view.account}`);
    await read('demo-letters', 'letter-mailing', '/v1/feed?after=0');

    const found = await officer('POST', '/v1/officer/subjects/lookup', '/v1/officer/subjects/lookup', { national_id: seeded.national_id.replaceAll('-', ''), type: 'us_ssn' });
    expect(found.status).toBe(200);
    subject = found.json.subject as string;
    const report = await officer('GET', `/v1/officer/subjects/${subject}`, '/v1/officer/subjects/{token}');
    expect(report.json).toMatchObject({ subject, erased_at: null, held: [{ source: 'demo-bank', status: 'placed' }] });
    const releases = report.json.releases as Array<{ recipient: string; purpose: string }>;
    expect(releases.map((r) => `${r.recipient}/${r.purpose}`).sort()).toEqual(['demo-collector/collection-contact', 'demo-collector/skip-tracing', 'demo-letters/letter-mailing']);
    expect((await officer('POST', '/v1/officer/subjects/lookup', '/v1/officer/subjects/lookup', { national_id: '078-05-1120', type: 'us_ssn' })).status).toBe(404);
  });

  it('filters the access log by subject, recipient and purpose, and audits the officer\'s own reads', async () => {
    const bySubject = (await officer('GET', `/v1/officer/audit?subject=${subject}`, '/v1/officer/audit')).json.entries as Array<{ action: string; actor: string }>;
    expect(bySubject.length).toBeGreaterThanOrEqual(4);
    const byPurpose = (await officer('GET', `/v1/officer/audit?recipient=demo-collector&purpose=skip-tracing`, '/v1/officer/audit')).json.entries as Array<{ actor: string; details: { purpose: string } }>;
    expect(byPurpose).toHaveLength(1);
    expect(byPurpose[0]).toMatchObject({ actor: 'recipient:demo-collector', details: { purpose: 'skip-tracing' } });
    const own = (await officer('GET', '/v1/officer/audit?actor=officer:demo-officer', '/v1/officer/audit')).json.entries as Array<{ action: string }>;
    expect(own.map((e) => e.action)).toEqual(expect.arrayContaining(['subject.report', 'audit.queried']));
  });

  it('publishes signed checkpoints that jose verifies with the public JWKS', async () => {
    await checkpointNow(t.deps);
    const { json } = await officer('GET', '/v1/audit/checkpoints', '/v1/audit/checkpoints');
    const [checkpoint] = json.checkpoints as Array<{ seq: number; jws: string }>;
    const jwks = JSON.parse(readFileSync(join(keysDir, 'gateway.jwks.pub.json'), 'utf8')) as { keys: Array<Record<string, string>> };
    const { payload } = await compactVerify(checkpoint!.jws, await importJWK(jwks.keys.find((k) => k.use === 'sig')!, 'ES256'));
    expect(JSON.parse(new TextDecoder().decode(payload))).toMatchObject({ seq: checkpoint!.seq });
    expect(json.chain).toMatchObject({ ok: true });
  });

  it('gives the dashboard\'s figures and overdue recalls', async () => {
    const stats = (await officer('GET', '/v1/officer/stats', '/v1/officer/stats')).json;
    expect(stats.fieldsByRecipient).toEqual(expect.arrayContaining([expect.objectContaining({ recipient: 'demo-letters' })]));
    expect(stats.files).toEqual([{ source: 'demo-bank', state: 'committed', count: 1 }]);
    const overdue = (await officer('GET', '/v1/officer/recalls/overdue', '/v1/officer/recalls/overdue')).json;
    expect(overdue).toMatchObject({ recall_ack_hours: 72, recipients: [{ recipient: 'demo-collector', count: 0 }, { recipient: 'demo-letters', count: 0 }] });
  });

  it('erases only when the token is repeated as confirmation', async () => {
    expect((await officer('POST', `/v1/officer/subjects/${subject}/erase`, '/v1/officer/subjects/{token}/erase', { confirm: 'yes' })).status).toBe(400);
    const erased = await officer('POST', `/v1/officer/subjects/${subject}/erase`, '/v1/officer/subjects/{token}/erase', { confirm: subject });
    expect(erased.json).toMatchObject({ subject, accounts: 1 });
    expect((await officer('GET', `/v1/officer/subjects/${subject}`, '/v1/officer/subjects/{token}')).json.erased_at).not.toBeNull();
  });

  it('is closed to recipients and sources', async () => {
    for (const caller of ['demo-collector', 'demo-bank']) {
      const res = await fetch(`${t.url}/v1/officer/audit`, { headers: { authorization: `Bearer ${apiKey(caller)}` } });
      expect(res.status).toBe(403);
    }
  });
});

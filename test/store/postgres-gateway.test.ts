import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/chain.js';
import type { AccountView, FeedItem } from '../../src/release/view.js';
import { apiKey, useTestApp } from '../helpers/app.js';
import { runVeilgate } from '../helpers/cli.js';
import { ingestFile, placementRow, writeCsv } from '../helpers/files.js';
import { filesUnder, findLeaks, seeded } from '../helpers/pii.js';
import { pgUrl } from './backends.js';

const schema = `vg_gw_${randomBytes(6).toString('hex')}`;
const t = useTestApp((raw) => {
  (raw as Record<string, unknown>).storage = { kind: 'postgres', url: pgUrl, schema };
});
afterAll(async () => {
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

async function read(path: string) {
  const res = await fetch(`${t.url}${path}`, { headers: { authorization: `Bearer ${apiKey('demo-collector')}`, 'x-veilgate-purpose': 'collection-contact' } });
  return (await res.json()) as Record<string, unknown>;
}

describe('the gateway on PostgreSQL (storage.kind: postgres)', () => {
  it('takes a GnuPG file, releases it to a recipient, takes a recall, and keeps one verifiable audit chain', async () => {
    const { diagnosis_code: _d, ...person } = seeded;
    const send = async (name: string, kind: 'placement' | 'recall', rows: Array<Record<string, string>>) => {
      const csv = writeCsv(join(t.ws.dir, `${name}.csv`), rows);
      await t.gpg.encrypt(csv, `${csv}.gpg`, { signer: 'demo-bank@example.invalid' });
      return ingestFile(t.deps, `${csv}.gpg`, 'demo-bank', kind);
    };
    const placed = await send('pg-placements', 'placement', [
      placementRow('PG-1', { ...person, national_id_type: 'us_ssn', consent_phone: 'granted', consent_email: 'granted' }),
      placementRow('PG-2', { national_id: '000-11-2222', national_id_type: 'us_ssn' }),
    ]);
    expect(placed).toMatchObject({ status: 'committed', counts: { accepted: 1, rejected: 1 } });
    expect((await send('pg-placements-again', 'placement', [placementRow('PG-1', { ...person, national_id_type: 'us_ssn', consent_phone: 'granted', consent_email: 'granted' }), placementRow('PG-2', { national_id: '000-11-2222', national_id_type: 'us_ssn' })])).status).toBe('committed');

    const feed = (await read('/v1/feed?after=0')).events as FeedItem[];
    const view = feed[0]!.view;
    expect(view.fields).toMatchObject({ first_name: { reveal: true, masked: 'Z.' }, balance: { value: '1520.75' } });
    await send('pg-recall', 'recall', [{ account_ref: 'PG-1', recall_reason: 'paid_to_creditor', effective_date: '2026-11-20' }]);
    const after = (await read(`/v1/accounts/${view.account}`)) as unknown as AccountView;
    expect(after.status).toBe('recalled');

    const head = await t.deps.store.auditHead();
    expect(verifyChain(await t.deps.store.readAudit(1, head.seq))).toMatchObject({ ok: true });
    // Nothing was written to the data folder but the spool: the records are in PostgreSQL.
    expect(filesUnder(t.ws.dataDir).every((f) => f.includes('/spool/'))).toBe(true);
    expect(findLeaks(JSON.stringify(feed))).toEqual([]);

    const migrate = await runVeilgate(['migrate', '--config', t.ws.configFile]);
    expect(migrate.status).toBe(0);
    expect(JSON.parse(migrate.stdout)).toMatchObject({ storage: 'postgres' });
    const verify = await runVeilgate(['audit', 'verify', '--config', t.ws.configFile]);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });
  }, 60_000);

  it('takes the URL from DATABASE_URL when the configuration leaves it out, and says so when neither is set', async () => {
    const { loadConfig } = await import('../../src/config/load.js');
    const { makeWorkspace } = await import('../helpers/workspace.js');
    const ws = makeWorkspace();
    const file = join(ws.dir, 'pg.json');
    const { writeFileSync, readFileSync } = await import('node:fs');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(ws.configFile, 'utf8')), storage: { kind: 'postgres' } }));
    expect(loadConfig({ file, env: { DATABASE_URL: pgUrl } }).config.storage.url).toBe(pgUrl);
    expect(() => loadConfig({ file, env: {} })).toThrow(expect.objectContaining({ details: { problems: [expect.stringContaining('DATABASE_URL')] } }) as unknown);
  });
});

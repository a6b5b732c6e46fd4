import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/app.js';
import type { Deps } from '../../src/deps.js';
import type { FeedItem } from '../../src/release/view.js';
import { apiKey } from '../helpers/app.js';
import { ingestFile, placementRow, writeCsv } from '../helpers/files.js';
import { Gpg, keysDir } from '../helpers/gpg.js';
import { findLeaks, seeded } from '../helpers/pii.js';
import { makeWorkspace, workspaceDeps, type Workspace } from '../helpers/workspace.js';
import { pgUrl } from '../store/backends.js';

/**
 * Two gateway replicas (two apps, each with its own store, pool and memory) on one PostgreSQL schema,
 * as behind a load balancer: what one replica learns about a session or a limit, the other knows.
 */

const schema = `vg_rep_${randomBytes(6).toString('hex')}`;
const verifyLimit = 4;
let ws: Workspace;
let gpg: Gpg;
const replicas: Array<{ deps: Deps; app: App; url: string }> = [];

beforeAll(async () => {
  gpg = await Gpg.create();
  ws = makeWorkspace((raw) => {
    const config = raw as Record<string, unknown> & { release?: Record<string, unknown> };
    config.storage = { kind: 'postgres', url: pgUrl, schema };
    config.release = { ...config.release, verifyAttemptsPerSubjectPerHour: verifyLimit };
  });
  for (let i = 0; i < 2; i++) {
    const { deps } = await workspaceDeps(ws);
    const app = buildApp(deps);
    const { url } = await app.listen(0);
    replicas.push({ deps, app, url });
  }
}, 60_000);

afterAll(async () => {
  for (const r of replicas) {
    await r.app.close();
    await r.deps.store.close();
  }
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

/** Replica A and replica B, as a client behind the load balancer may reach either. */
const replica = (i: number) => ({ get url() { return replicas[i]!.url; } });
const a = replica(0);
const b = replica(1);
const password = () => readFileSync(join(keysDir, 'demo-officer.password'), 'utf8').trim();

async function signIn(on: { url: string }, officer: string, secret: string): Promise<Response> {
  return fetch(`${on.url}/officer/login`, {
    method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ officer, password: secret }).toString(),
  });
}

async function page(on: { url: string }, path: string, cookie: string, form?: Record<string, string>): Promise<Response> {
  return fetch(`${on.url}${path}`, form === undefined
    ? { redirect: 'manual', headers: { cookie } }
    : { method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
}

async function verify(on: { url: string }, account: string, dateOfBirth: string): Promise<number> {
  const res = await fetch(`${on.url}/v1/verify`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey('demo-collector')}`, 'x-veilgate-purpose': 'collection-contact', 'content-type': 'application/json' },
    body: JSON.stringify({ account, fields: { date_of_birth: dateOfBirth } }),
  });
  expect(findLeaks(await res.text())).toEqual([]);
  return res.status;
}

async function entries(action: string) {
  return replicas[0]!.deps.store.queryAudit({ action, limit: 100 });
}

describe('two replicas on one PostgreSQL share officer sessions and security limits', () => {
  let account = '';

  it('ingests a subject on one replica', async () => {
    const { diagnosis_code: _d, ...person } = seeded;
    const csv = writeCsv(join(ws.dir, 'replicas.csv'), [placementRow('REP-1', { ...person, national_id_type: 'us_ssn' })]);
    await gpg.encrypt(csv, `${csv}.gpg`, { signer: 'demo-bank@example.invalid' });
    expect((await ingestFile(replicas[0]!.deps, `${csv}.gpg`)).status).toBe('committed');
    const feed = await fetch(`${b.url}/v1/feed?after=0`, { headers: { authorization: `Bearer ${apiKey('demo-collector')}`, 'x-veilgate-purpose': 'collection-contact' } });
    account = ((await feed.json()) as { events: FeedItem[] }).events[0]!.view.account;
  });

  it('honours on replica B a dashboard session signed in on replica A, for pages and CSRF-protected actions', async () => {
    const signedIn = await signIn(a, 'demo-officer', password());
    expect(signedIn.status).toBe(303);
    const cookie = /^(vg_officer=[A-Za-z0-9_-]{43});/.exec(signedIn.headers.get('set-cookie') ?? '')?.[1];
    expect(cookie).toBeDefined();

    const overview = await page(b, '/officer', cookie!);
    expect(overview.status).toBe(200);
    const html = await overview.text();
    expect(html).toContain('Sign out demo-officer');
    const csrf = /name="csrf" value="([A-Za-z0-9_-]{43})"/.exec(html)?.[1];
    expect(csrf).toBeDefined();

    // A form post on B with the session's CSRF token (issued on A) is accepted; without it, refused.
    const lookup = await page(b, '/officer/subjects/lookup', cookie!, { csrf: csrf!, query: seeded.national_id, type: 'us_ssn' });
    expect(lookup.status).toBe(303);
    expect(lookup.headers.get('location')).toMatch(/^\/officer\/subjects\/v\d+\./);
    expect((await page(b, '/officer/subjects/lookup', cookie!, { query: seeded.national_id, type: 'us_ssn' })).status).toBe(403);
    expect((await page(a, '/officer/subjects/lookup', cookie!, { csrf: 'x'.repeat(43), query: seeded.national_id, type: 'us_ssn' })).status).toBe(403);

    const viewed = await entries('dashboard.viewed');
    expect(viewed.map((e) => e.actor)).toContain('officer:demo-officer');

    // Signing out on B ends the session on A too.
    expect((await page(b, '/officer/logout', cookie!, { csrf: csrf! })).status).toBe(303);
    const after = await page(a, '/officer', cookie!);
    expect(after.status).toBe(303);
    expect(after.headers.get('location')).toBe('/officer/login');
  });

  it('refuses a recipient\'s verify attempts for one subject, spread over both replicas, once the configured total is reached', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < verifyLimit + 2; i++) statuses.push(await verify(i % 2 === 0 ? a : b, account, `1970-01-0${i + 1}`));
    // Per process, each replica would have allowed four: six would all have been answered.
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    expect(await entries('verify')).toHaveLength(verifyLimit);
    const refused = await entries('verify.refused');
    expect(refused).toHaveLength(2);
    for (const e of refused) {
      expect(e).toMatchObject({ actor: 'recipient:demo-collector', details: { purpose: 'collection-contact', route: 'POST /v1/verify', items: [{ code: 'RATE_LIMITED', fields: ['date_of_birth'] }] } });
      expect(findLeaks(JSON.stringify(e))).toEqual([]);
    }
  });

  it('counts officer sign-in attempts over both replicas together', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await signIn(i % 2 === 0 ? a : b, 'no-such-officer', 'wrong')).status);
    // Ten attempts in 15 minutes per officer id and address, in all: not ten per replica.
    expect(statuses).toEqual([...Array<number>(10).fill(303), 429, 429]);
    expect(await entries('officer.login_refused')).toHaveLength(2);
  }, 60_000);
});

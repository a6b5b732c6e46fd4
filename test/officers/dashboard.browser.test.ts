import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountView, FeedItem } from '../../src/release/view.js';
import { apiKey, useTestApp } from '../helpers/app.js';
import { ingestFile, placementRow, writeCsv } from '../helpers/files.js';
import { keysDir } from '../helpers/gpg.js';
import { findLeaks, seeded } from '../helpers/pii.js';
import { projectRoot } from '../helpers/workspace.js';

/** Debian's chromium (.ci/run installs it); playwright-core downloads no browser of its own. */
const executablePath = '/usr/bin/chromium';
const artifacts = join(projectRoot, 'test-artifacts');
const t = useTestApp();
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];

async function recipient(name: string, purpose: string, path: string) {
  const res = await fetch(`${t.url}${path}`, { headers: { authorization: `Bearer ${apiKey(name)}`, 'x-veilgate-purpose': purpose } });
  return (await res.json()) as Record<string, unknown>;
}

beforeAll(async () => {
  const { diagnosis_code: _d, ...person } = seeded;
  const csv = writeCsv(join(t.ws.dir, 'officer.csv'), [
    placementRow('OFF-1', { ...person, national_id_type: 'us_ssn', consent_phone: 'granted' }),
    placementRow('OFF-2', { first_name: 'Wilhelmina', national_id: '219-09-9999', national_id_type: 'us_ssn', phone: '+14155550123' }),
  ]);
  await t.gpg.encrypt(csv, `${csv}.gpg`, { signer: 'demo-bank@example.invalid' });
  await ingestFile(t.deps, `${csv}.gpg`);
  const feed = (await recipient('demo-collector', 'collection-contact', '/v1/feed?after=0')).events as FeedItem[];
  for (const e of feed) await recipient('demo-collector', 'collection-contact', `/v1/accounts/${e.view.account}`);
  await recipient('demo-letters', 'letter-mailing', '/v1/feed?after=0');
  browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
  page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

describe('the privacy officer\'s dashboard, in a real browser', () => {
  it('refuses a wrong password, then signs in with a strict session cookie', async () => {
    await page.goto(`${t.url}/officer`);
    expect(page.url()).toContain('/officer/login');
    await page.fill('input[name=officer]', 'demo-officer');
    await page.fill('input[name=password]', 'not-the-password');
    await page.click('button[type=submit]');
    await page.waitForSelector('#login-failed');

    await page.fill('input[name=officer]', 'demo-officer');
    await page.fill('input[name=password]', readFileSync(join(keysDir, 'demo-officer.password'), 'utf8').trim());
    await page.click('button[type=submit]');
    await page.waitForSelector('body[data-charts=ready]');
    const [cookie] = await page.context().cookies();
    expect(cookie).toMatchObject({ name: 'vg_officer', httpOnly: true, sameSite: 'Strict' });
    const actions = (await t.deps.store.queryAudit({ limit: 100 })).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['officer.login_failed', 'officer.login']));
  }, 60_000);

  it('shows the charts, the files, the most-accessed subjects and the verified checkpoint; a screenshot is kept', async () => {
    expect(await page.locator('#chain-state').textContent()).toMatch(/verified up to entry \d+/);
    expect(await page.locator('#top-subjects li').count()).toBeGreaterThanOrEqual(2);
    const canvases = await page.locator('canvas').evaluateAll((list) => list.map((c) => (c as HTMLCanvasElement).width));
    expect(canvases.every((w) => w > 0)).toBe(true);
    expect(consoleErrors).toEqual([]);
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'officer-dashboard.png'), fullPage: true });
  }, 60_000);

  it('filters the access log by recipient', async () => {
    await page.goto(`${t.url}/officer/log`);
    await page.selectOption('select[name=recipient]', 'demo-letters');
    await page.click('form.filters button[type=submit]');
    await page.waitForURL(/recipient=demo-letters/);
    const actors = await page.locator('#log tbody tr td:nth-child(3)').allTextContents();
    expect(actors.length).toBeGreaterThan(0);
    expect(new Set(actors)).toEqual(new Set(['recipient:demo-letters']));
  }, 60_000);

  it('opens a subject report from a national id, then erases the subject: its fields are gone from the recipient\'s next read', async () => {
    await page.goto(`${t.url}/officer/subjects`);
    await page.fill('input[name=query]', seeded.national_id);
    await page.click('form.card button[type=submit]');
    await page.waitForSelector('#subject-token');
    const held = await page.locator('#held tbody tr').count();
    expect(held).toBe(1);
    expect(await page.locator('#releases tbody tr').count()).toBeGreaterThanOrEqual(2);
    const html = await page.content();
    expect(findLeaks(html)).toEqual([]);
    await page.screenshot({ path: join(artifacts, 'officer-subject-report.png'), fullPage: true });

    const feed = (await recipient('demo-collector', 'collection-contact', '/v1/feed?after=0')).events as FeedItem[];
    const token = feed.find((e) => e.view.fields.first_name?.masked === `${seeded.first_name[0]}.`)!.view.account;
    expect(((await recipient('demo-collector', 'collection-contact', `/v1/accounts/${token}`)) as unknown as AccountView).fields.phone).toBeDefined();

    await page.fill('input[name=confirm]', 'ERASE');
    await page.click('form.danger button[type=submit]');
    await page.waitForSelector('#erased');
    const after = (await recipient('demo-collector', 'collection-contact', `/v1/accounts/${token}`)) as unknown as AccountView;
    expect(after.fields).toEqual({});
    expect(after.withheld.phone).toBe('subject_erased');
  }, 60_000);

  it('refuses a form post without the session\'s CSRF token, and any officer route without a session or key', async () => {
    const cookie = (await page.context().cookies())[0]!;
    const forged = await fetch(`${t.url}/officer/subjects/lookup`, { method: 'POST', headers: { cookie: `vg_officer=${cookie.value}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'query=x', redirect: 'manual' });
    expect(forged.status).toBe(403);
    expect((await fetch(`${t.url}/v1/officer/stats`)).status).toBe(401);
    expect((await fetch(`${t.url}/v1/officer/stats`, { headers: { authorization: `Bearer ${apiKey('demo-collector')}` } })).status).toBe(403);
    expect((await fetch(`${t.url}/v1/officer/stats`, { headers: { authorization: `Bearer ${apiKey('demo-officer')}` } })).status).toBe(200);
  });
});

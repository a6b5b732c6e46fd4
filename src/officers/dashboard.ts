import { createHmac, hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import express, { Router, type Request, type Response } from 'express';
import type { ChainMonitor } from '../audit/chain-monitor.js';
import type { AuditEntry } from '../audit/chain.js';
import type { Deps } from '../deps.js';
import { GatewayError } from '../errors/gateway-error.js';
import { tokenShape } from '../tokenise/tokens.js';
import { packageRoot } from '../lib/paths.js';
import { SlidingWindow } from '../release/sliding-window.js';
import type { credentialsFrom } from '../api/auth.js';
import { requireOfficer, sameOrigin, sessionCookie } from '../api/officer-auth.js';
import { auditFilter, officerRead, officerStats, rangeOf } from '../api/routes/officers.js';
import { verifyPassword } from './password.js';
import type { OfficerSession, OfficerSessions } from './sessions.js';
import { eraseSubject, findSubject, subjectReport, type SubjectReport } from './subjects.js';


/** Static files of the page: our stylesheet and script, and Chart.js from npm (no CDN: no network beyond the gateway). */
const assets: Record<string, { file: string; type: string }> = {
  'officer.css': { file: join(packageRoot, 'assets', 'officer', 'officer.css'), type: 'text/css' },
  'dashboard.js': { file: join(packageRoot, 'assets', 'officer', 'dashboard.js'), type: 'text/javascript' },
  'chart.umd.min.js': { file: join(packageRoot, 'node_modules', 'chart.js', 'dist', 'chart.umd.min.js'), type: 'text/javascript' },
};

/**
 * The privacy officer's web page: server-rendered HTML, one small script for the charts. Sign-in with
 * the officer's password (scrypt), a session cookie (HttpOnly, SameSite=Strict, Secure under TLS),
 * a CSRF token in every form, and a strict Content-Security-Policy. Every page that shows subject or
 * access data is itself audited.
 */
export function dashboardRoutes(deps: Deps, credentials: ReturnType<typeof credentialsFrom>, sessions: OfficerSessions, monitor: ChainMonitor, tls: boolean): Router {
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '4kb' });
  const page = requireOfficer(credentials, sessions, { html: true });
  // In the store, so that replicas behind a load balancer do not each allow ten.
  const logins = new SlidingWindow(deps.store, 'officer-login', 10, 15 * 60_000);
  const addressTag = loginAddressTag(deps);
  const assetCache = new Map<string, Buffer>();

  router.use('/officer', (_req, res, next) => {
    res.setHeader('Content-Security-Policy', "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    res.setHeader('X-Content-Type-Options', 'nosniff');
    // same-origin, not no-referrer: with no-referrer, Chromium sends `Origin: null` on form posts,
    // and the origin check below needs the real one.
    res.setHeader('Referrer-Policy', 'same-origin');
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  // Browsers ask for it on every page; an empty answer keeps a 404 out of the console.
  router.get('/favicon.ico', (_req, res) => void res.status(204).end());

  router.get('/officer/assets/:name', (req, res) => {
    const asset = assets[String(req.params.name)];
    if (asset === undefined) throw new GatewayError('NOT_FOUND');
    let body = assetCache.get(asset.file);
    if (body === undefined) assetCache.set(asset.file, (body = readFileSync(asset.file)));
    res.setHeader('Cache-Control', 'public, max-age=3600');
    res.type(asset.type).send(body);
  });

  router.get('/officer/login', (req, res) => {
    res.type('html').send(layout('Sign in', null, loginForm(req.query.failed === '1')));
  });

  router.post('/officer/login', form, async (req, res) => {
    const body = req.body as { officer?: unknown; password?: unknown };
    const id = typeof body.officer === 'string' ? body.officer : '';
    const known = Object.hasOwn(deps.config.officers, id);
    const limitKey = `${known ? id : '?'}:${addressTag(req.socket.remoteAddress ?? '')}`;
    if (!sameOrigin(req) || !await logins.take(limitKey, deps.clock.now().getTime())) {
      await deps.store.appendAudit([{ actor: known ? `officer:${id}` : 'anonymous', action: 'officer.login_refused', target: 'dashboard', details: { reason: 'rate_limited_or_cross_origin' } }]);
      return void res.status(429).type('html').send(layout('Sign in', null, loginForm(true)));
    }
    const password = typeof body.password === 'string' ? body.password : '';
    const hash = known ? readFileSync(deps.config.officers[id]!.passwordHashFile, 'utf8') : 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
    // The same work for an unknown officer: the answer's timing tells nothing about which ids exist.
    const ok = (await verifyPassword(password, hash)) && known;
    await deps.store.appendAudit([{ actor: known ? `officer:${id}` : 'anonymous', action: ok ? 'officer.login' : 'officer.login_failed', target: 'dashboard', details: {} }]);
    if (!ok) return void res.redirect(303, '/officer/login?failed=1');
    const session = await sessions.create(id);
    res.setHeader('Set-Cookie', `${sessionCookie}=${session.id}; Path=/; HttpOnly; SameSite=Strict${tls ? '; Secure' : ''}`);
    res.redirect(303, '/officer');
  });

  router.post('/officer/logout', form, page, async (_req, res) => {
    const session = sessionIn(res);
    if (session !== null) await sessions.destroy(session.id);
    res.setHeader('Set-Cookie', `${sessionCookie}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${tls ? '; Secure' : ''}`);
    res.redirect(303, '/officer/login');
  });

  router.get('/officer', page, async (req, res) => {
    const stats = await officerStats(deps, monitor, rangeOf(req, deps));
    await officerRead(deps, officerOf(res), 'dashboard.viewed', 'dashboard', { from: stats.range.from, to: stats.range.to });
    res.type('html').send(layout('Overview', sessionIn(res), overview(stats)));
  });

  router.get('/officer/log', page, async (req, res) => {
    const filter = auditFilter(req);
    const entries = await deps.store.queryAudit(filter);
    await officerRead(deps, officerOf(res), 'audit.queried', 'audit', { results: entries.length });
    res.type('html').send(layout('Access log', sessionIn(res), logPage(req, entries, Object.keys(deps.config.recipients))));
  });

  router.post('/officer/subjects/lookup', form, page, async (req, res) => {
    const body = req.body as { query?: unknown; type?: unknown };
    const query = typeof body.query === 'string' ? body.query.trim().slice(0, 64) : '';
    const subject = tokenShape.test(query)
      ? await findSubject(deps, { token: query })
      : await findSubject(deps, { nationalId: query, type: typeof body.type === 'string' ? body.type : 'us_ssn' });
    if (subject === null) return void res.status(404).type('html').send(layout('Subjects', sessionIn(res), '<p class="notice">No subject found for that token or national id.</p>' + lookupForm(sessionIn(res))));
    res.redirect(303, `/officer/subjects/${subject}`);
  });

  router.get('/officer/subjects', page, (_req, res) => {
    res.type('html').send(layout('Subjects', sessionIn(res), lookupForm(sessionIn(res))));
  });

  router.get('/officer/subjects/:token', page, async (req, res) => {
    const token = String(req.params.token);
    if (!tokenShape.test(token)) throw new GatewayError('NOT_FOUND');
    const report = await subjectReport(deps, token, officerOf(res));
    res.type('html').send(layout('Subject report', sessionIn(res), subjectPage(report, sessionIn(res))));
  });

  router.post('/officer/subjects/:token/erase', form, page, async (req, res) => {
    const token = String(req.params.token);
    if (!tokenShape.test(token)) throw new GatewayError('NOT_FOUND');
    if ((req.body as { confirm?: unknown }).confirm !== 'ERASE') {
      return void res.status(400).type('html').send(layout('Subject report', sessionIn(res), '<p class="notice">Type ERASE to confirm the erasure.</p>'));
    }
    const result = await eraseSubject(deps, token, officerOf(res));
    res.type('html').send(layout('Subject erased', sessionIn(res), `
      <p class="ok" id="erased">The subject's data key was destroyed at ${esc(result.erased_at)}: its values are unreadable everywhere and its ${result.accounts} account(s) release nothing.</p>
      <p>Spooled files deleted: ${result.spool_purged.length}; still in processing (deleted by retention once finished): ${result.spool_pending.length}.</p>
      <p><a href="/officer/subjects/${esc(token)}">Back to the subject</a></p>`));
  });

  return router;
}

function officerOf(res: Response): string {
  return (res.locals.caller as { id: string }).id;
}

/** The session `requireOfficer` found for this request (null for a caller with a bearer key). */
function sessionIn(res: Response): OfficerSession | null {
  return (res.locals.session as OfficerSession | undefined) ?? null;
}

/**
 * The sign-in limit counts per officer id and client address, and limit keys are stored: the address
 * goes in as an HMAC under a key derived from the token root key (the same on every replica), not in
 * clear; a plain hash of an IPv4 address is reversed by trying all 2^32.
 */
function loginAddressTag(deps: Deps): (address: string) => string {
  const key = Buffer.from(hkdfSync('sha256', deps.keys.currentToken.key, Buffer.alloc(0), 'veilgate/officer/login-address', 32));
  return (address) => createHmac('sha256', key).update(address).digest('base64url').slice(0, 22);
}

/** HTML-escapes text for element content and quoted attributes. */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function csrfField(session: OfficerSession | null): string {
  return session === null ? '' : `<input type="hidden" name="csrf" value="${esc(session.csrf)}">`;
}

function layout(title: string, session: OfficerSession | null, body: string): string {
  const nav = session === null ? '' : `
    <nav>
      <a href="/officer">Overview</a><a href="/officer/log">Access log</a><a href="/officer/subjects">Subjects</a>
      <form method="post" action="/officer/logout" class="inline">${csrfField(session)}<button type="submit">Sign out ${esc(session.officer)}</button></form>
    </nav>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · Veilgate officer</title><link rel="stylesheet" href="/officer/assets/officer.css"></head>
<body><header><h1>Veilgate <span>privacy officer</span></h1>${nav}</header><main><h2>${esc(title)}</h2>${body}</main></body></html>`;
}

function loginForm(failed: boolean): string {
  return `${failed ? '<p class="notice" id="login-failed">Sign-in failed. Check the officer id and password.</p>' : ''}
    <form method="post" action="/officer/login" class="card narrow">
      <label>Officer id <input name="officer" autocomplete="username" required></label>
      <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
      <button type="submit">Sign in</button>
    </form>`;
}

function overview(stats: Awaited<ReturnType<typeof officerStats>>): string {
  const chain = stats.chain;
  const chainCard = chain.ok
    ? `<p class="ok" id="chain-state">Audit chain verified up to entry ${chain.verifiedSeq}.</p>`
    : `<p class="alarm" id="chain-state">Audit chain BROKEN at entry ${chain.firstBadSeq}: ${esc(chain.reason)}.</p>`;
  const checkpoint = chain.checkpoint === null ? '<p>No checkpoint signed yet.</p>' : `<p>Latest signed checkpoint: entry ${chain.checkpoint.seq} at ${esc(chain.checkpoint.at)}.</p>`;
  const files = stats.files.map((f) => `<tr><td>${esc(f.source)}</td><td>${esc(f.state)}</td><td class="n">${f.count}</td></tr>`).join('');
  const subjects = stats.topSubjects.map((s) => `<li><a href="/officer/subjects/${esc(s.subjectToken)}"><code>${esc(s.subjectToken)}</code></a> — ${s.accesses} accesses</li>`).join('');
  const recalls = stats.overdueRecalls.map((r) => `<tr><td>${esc(r.recipient)}</td><td class="n">${r.count}</td><td>${esc(r.oldestAt ?? '—')}</td></tr>`).join('');
  const data = JSON.stringify({ accessesByDay: stats.accessesByDay, fieldsByRecipient: stats.fieldsByRecipient, files: stats.files }).replace(/</g, '\\u003c');
  return `
    <form method="get" action="/officer" class="filters">
      <label>From <input type="date" name="from" value="${esc(stats.range.from)}"></label>
      <label>To <input type="date" name="to" value="${esc(new Date(Date.parse(stats.range.to) - 86_400_000).toISOString().slice(0, 10))}"></label>
      <button type="submit">Show</button>
    </form>
    <section class="grid">
      <div class="card wide"><h3>Accesses over time, by recipient and purpose</h3><canvas id="accesses" height="110"></canvas></div>
      <div class="card"><h3>Fields released and withheld, by recipient</h3><canvas id="fields" height="200"></canvas></div>
      <div class="card"><h3>Files received, by source and state</h3><canvas id="files" height="200"></canvas>
        <table><thead><tr><th>source</th><th>state</th><th>files</th></tr></thead><tbody>${files}</tbody></table></div>
      <div class="card"><h3>Most-accessed subjects</h3><ol id="top-subjects">${subjects || '<li>none in this period</li>'}</ol></div>
      <div class="card"><h3>Audit log</h3>${chainCard}${checkpoint}<p>Verify an export offline: <code>veilgate audit export &gt; audit.ndjson</code>, then <code>veilgate audit verify audit.ndjson --key gateway.jwks.pub.json</code>.</p></div>
      <div class="card"><h3>Recalls not acknowledged in time</h3><table><thead><tr><th>recipient</th><th>overdue</th><th>oldest</th></tr></thead><tbody>${recalls}</tbody></table></div>
    </section>
    <script type="application/json" id="stats">${data}</script>
    <script src="/officer/assets/chart.umd.min.js"></script><script src="/officer/assets/dashboard.js"></script>`;
}

function logPage(req: Request, entries: AuditEntry[], recipients: string[]): string {
  const q = (name: string) => (typeof req.query[name] === 'string' ? req.query[name] : '');
  const rows = entries.map((e) => {
    const items = (e.details.items as Array<{ subject?: string; released?: string[]; withheld?: Record<string, string> }> | undefined) ?? [];
    const subjects = [...new Set(items.map((i) => i.subject).filter((s): s is string => typeof s === 'string'))];
    const released = items.reduce((n, i) => n + (i.released?.length ?? 0), 0);
    const withheld = items.reduce((n, i) => n + Object.keys(i.withheld ?? {}).length, 0);
    const purpose = typeof e.details.purpose === 'string' ? e.details.purpose : '';
    return `<tr><td class="n">${e.seq}</td><td>${esc(e.at)}</td><td>${esc(e.actor)}</td><td>${esc(e.action)}</td><td>${esc(purpose)}</td>
      <td>${subjects.map((s) => `<a href="/officer/subjects/${esc(s)}"><code>${esc(s)}</code></a>`).join(' ')}</td><td class="n">${items.length === 0 ? '' : released}</td><td class="n">${items.length === 0 ? '' : withheld}</td></tr>`;
  }).join('');
  const options = ['', ...recipients].map((r) => `<option value="${esc(r)}"${q('recipient') === r ? ' selected' : ''}>${r === '' ? 'any recipient' : esc(r)}</option>`).join('');
  const last = entries[entries.length - 1];
  const params = new URLSearchParams(Object.entries(req.query).filter(([k, v]) => k !== 'before' && typeof v === 'string') as Array<[string, string]>);
  return `
    <form method="get" action="/officer/log" class="filters">
      <label>Subject token <input name="subject" value="${esc(q('subject'))}" size="28"></label>
      <label>Recipient <select name="recipient">${options}</select></label>
      <label>Purpose <input name="purpose" value="${esc(q('purpose'))}"></label>
      <label>From <input type="date" name="from" value="${esc(q('from'))}"></label>
      <label>To <input type="date" name="to" value="${esc(q('to'))}"></label>
      <button type="submit">Filter</button>
    </form>
    <table id="log"><thead><tr><th>#</th><th>time</th><th>actor</th><th>action</th><th>purpose</th><th>subjects</th><th>released</th><th>withheld</th></tr></thead><tbody>${rows}</tbody></table>
    ${last === undefined || entries.length < 100 ? '' : `<p><a href="/officer/log?${esc(params.toString())}&amp;before=${last.seq}">Older entries</a></p>`}`;
}

function lookupForm(session: OfficerSession | null): string {
  return `<form method="post" action="/officer/subjects/lookup" class="card narrow">${csrfField(session)}
    <p>Find a person from an access or erasure request: a national id (as in the request) or a subject token from the log.</p>
    <label>National id or token <input name="query" required autocomplete="off"></label>
    <label>Id type <select name="type"><option value="us_ssn">US SSN</option><option value="cn_ric">China resident id</option><option value="gb_nino">UK NINO</option><option value="other">other</option></select></label>
    <button type="submit">Open subject</button></form>`;
}

function subjectPage(r: SubjectReport, session: OfficerSession | null): string {
  const held = r.held.map((a) => `<tr><td><code>${esc(a.account)}</code></td><td>${esc(a.source)}</td><td>${esc(a.status)}</td><td>${esc(a.since)}</td>
    <td>${esc(a.file.file_name)} (#${a.file.record})</td><td>${esc(a.fields.stored.join(', '))}</td><td>${esc(a.fields.tokenised.join(', '))}</td>
    <td>${Array.isArray(a.fields.encrypted) ? esc(a.fields.encrypted.join(', ')) : '<strong>erased</strong>'}</td></tr>`).join('');
  const releases = r.releases.map((x) => `<tr><td>${esc(x.at)}</td><td>${esc(x.recipient)}</td><td>${esc(x.purpose)}</td><td>${esc(x.action)}</td>
    <td>${esc(x.released.join(', '))}</td><td>${esc(Object.entries(x.withheld).map(([f, why]) => `${f}: ${why}`).join(', '))}</td></tr>`).join('');
  const active = Object.entries(r.restrictions).filter(([, v]) => v === 'Y').map(([k]) => k);
  const erase = r.erased_at !== null ? `<p class="alarm" id="erased-at">Erased at ${esc(r.erased_at)}: nothing of this subject is readable or released.</p>` : `
    <form method="post" action="/officer/subjects/${esc(r.subject)}/erase" class="card narrow danger no-print">${csrfField(session)}
      <h3>Erase this subject</h3>
      <p>Destroys the subject's data key: every encrypted value becomes unreadable for good, its accounts release nothing, spooled files holding it are deleted. Tokens and the audit log remain. This cannot be undone.</p>
      <label>Type ERASE to confirm <input name="confirm" autocomplete="off" required></label>
      <button type="submit">Erase permanently</button></form>`;
  return `
    <p class="no-print"><button type="button" id="print">Print or save as PDF</button></p>
    <section class="card"><h3>Subject <code id="subject-token">${esc(r.subject)}</code></h3>
      <p>Report generated ${esc(r.generated_at)}. It names what is held and who received what; it contains no value.</p>
      <p>Current restrictions: <strong id="restrictions">${active.length === 0 ? 'none' : esc(active.join(', '))}</strong>.
      Consents: ${esc(Object.entries(r.consents).map(([k, v]) => `${k.replace('consent_', '')} ${v}`).join(', '))} (consent-state version ${r.consent_version}).</p></section>
    <section class="card"><h3>What is held</h3><table id="held"><thead><tr><th>account</th><th>source</th><th>status</th><th>since</th><th>file</th><th>stored</th><th>tokenised</th><th>encrypted</th></tr></thead><tbody>${held}</tbody></table></section>
    <section class="card"><h3>Who received what</h3><table id="releases"><thead><tr><th>when</th><th>recipient</th><th>purpose</th><th>how</th><th>released</th><th>withheld</th></tr></thead><tbody>${releases}</tbody></table></section>
    ${erase}<script src="/officer/assets/dashboard.js"></script>`;
}

import express, { Router, type Request, type Response } from 'express';
import type { Deps } from '../../deps.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { tokenShape } from '../../tokenise/tokens.js';
import { reportSubjectChange } from '../../release/report.js';
import type { Reader } from '../../release/view.js';
import { callerOf, requireRole, type credentialsFrom } from '../auth.js';
import { routePattern } from '../error-handler.js';
import { rateLimit } from '../rate-limit.js';

const purposeShape = /^[a-z][a-z0-9-]{0,62}$/;

/**
 * Routes for collection systems: the feed, one account, verify, reveal, and reporting a restriction.
 * Every route declares a purpose and goes through the ReleaseView, which decides and audits.
 */
export function recipientRoutes(deps: Deps, credentials: ReturnType<typeof credentialsFrom>): Router {
  const router = Router();
  // A source or officer key on a recipient route is a refusal like any other: coded and audited.
  const audited = async (caller: { role: string; id: string }, req: Request) => deps.store.appendAudit([{
    actor: `${caller.role}:${caller.id}`, action: 'release.refused', target: `${req.method} ${req.path.split('/').slice(0, 3).join('/')}`, details: { code: 'AUTH_FORBIDDEN' },
  }]);
  const auth = [requireRole(credentials, 'recipient', audited), rateLimit(deps.config.release.requestsPerMinute, deps.clock)];
  const json = express.json({ limit: '16kb', type: () => true });
  const { release } = deps;

  router.get('/v1/feed', ...auth, async (req, res) => {
    const reader = readerOf(req, res);
    await release.grantOf(reader);
    const limit = intParam(req.query.limit, 100, 1, deps.config.release.feedMaxLimit);
    const after = typeof req.query.after === 'string' ? cursorParam(req.query.after, await deps.store.feedHead()) : await deps.store.feedPosition(reader.recipient);
    // Asking for what follows a cursor commits it: the reader has processed everything up to it,
    // recalls included. A reader that crashed re-asks from its last cursor and loses nothing.
    const acknowledged = await deps.store.acknowledgeFeed(reader.recipient, after);
    const page = await release.feed(reader, after, limit);
    res.json({ events: page.events, next_cursor: String(page.lastSeq), has_more: page.events.length === limit, acknowledged: String(acknowledged) });
  });

  router.post('/v1/feed/ack', ...auth, json, async (req, res) => {
    const reader = readerOf(req, res);
    await release.grantOf(reader);
    const body = req.body as { cursor?: unknown };
    const cursor = cursorParam(typeof body.cursor === 'string' ? body.cursor : '', await deps.store.feedHead());
    res.json({ acknowledged: String(await deps.store.acknowledgeFeed(reader.recipient, cursor)) });
  });

  router.get('/v1/accounts/:token', ...auth, async (req, res) => {
    const reader = readerOf(req, res);
    res.json(await release.account(reader, tokenParam(req.params.token)));
  });

  router.post('/v1/verify', ...auth, json, async (req, res) => {
    const reader = readerOf(req, res);
    const body = req.body as { account?: unknown; fields?: unknown };
    const claims = stringRecord(body.fields);
    if (typeof body.account !== 'string' || claims === null || Object.keys(claims).length === 0) {
      throw new GatewayError('USAGE_INVALID', { reason: 'send {"account": token, "fields": {"date_of_birth": "...", ...}}' });
    }
    res.json(await release.verify(reader, tokenParam(body.account), claims));
  });

  router.post('/v1/reveal', ...auth, json, async (req, res) => {
    const reader = readerOf(req, res);
    const body = req.body as { account?: unknown; fields?: unknown };
    const fields = Array.isArray(body.fields) && body.fields.length > 0 && body.fields.length <= 32 && body.fields.every((f) => typeof f === 'string' && /^[a-z_0-9]{1,64}$/.test(f))
      ? body.fields as string[] : null;
    if (typeof body.account !== 'string' || fields === null) throw new GatewayError('USAGE_INVALID', { reason: 'send {"account": token, "fields": ["phone", ...]}' });
    res.json(await release.reveal(reader, tokenParam(body.account), [...new Set(fields)]));
  });

  router.post('/v1/subjects/:token/restrictions', ...auth, json, async (req, res) => {
    const reader = readerOf(req, res);
    const body = req.body !== null && typeof req.body === 'object' ? req.body as Record<string, unknown> : {};
    res.status(201).json(await reportSubjectChange(deps, reader, tokenParam(req.params.token), body));
  });

  return router;
}

function readerOf(req: Request, res: Response): Reader {
  const purpose = req.header('x-veilgate-purpose') ?? '';
  return { recipient: callerOf(res).id, purpose: purposeShape.test(purpose) ? purpose : '', route: `${req.method} ${routePattern(req)}` };
}

function tokenParam(value: unknown): string {
  // A malformed token is simply not found: the answer must not help probe the token format.
  return typeof value === 'string' && tokenShape.test(value) ? value : 'v0.AAAAAAAAAAAAAAAAAAAAAA';
}

function cursorParam(value: string, head: number): number {
  if (!/^\d{1,15}$/.test(value) || Number(value) > head) throw new GatewayError('RELEASE_CURSOR_INVALID');
  return Number(value);
}

function intParam(value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' && /^\d{1,6}$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) throw new GatewayError('USAGE_INVALID', { reason: `limit must be an integer from ${min} to ${max}` });
  return n;
}

function stringRecord(value: unknown): Record<string, string> | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const entries = Object.entries(value);
  if (entries.length > 16 || !entries.every(([k, v]) => /^[a-z_0-9]{1,64}$/.test(k) && typeof v === 'string' && v.length <= 256)) return null;
  return Object.fromEntries(entries);
}

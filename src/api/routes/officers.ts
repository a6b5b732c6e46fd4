import express, { Router, type Request } from 'express';
import type { ChainMonitor } from '../../audit/chain-monitor.js';
import type { Deps } from '../../deps.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { tokenShape } from '../../tokenise/tokens.js';
import { eraseSubject, findSubject, subjectReport } from '../../officers/subjects.js';
import type { OfficerSessions } from '../../officers/sessions.js';
import { overdueRecalls } from '../../release/recalls.js';
import type { AuditFilter } from '../../store/store.js';
import { callerOf, type credentialsFrom } from '../auth.js';
import { requireOfficer } from '../officer-auth.js';
import { rateLimit } from '../rate-limit.js';

const day = 86_400_000;

/** The officer API: the audit log and its checkpoints, statistics, subject reports and erasure, overdue recalls. */
export function officerRoutes(deps: Deps, credentials: ReturnType<typeof credentialsFrom>, sessions: OfficerSessions, monitor: ChainMonitor): Router {
  const router = Router();
  const json = express.json({ limit: '4kb', type: () => true });
  const auth = [json, requireOfficer(credentials, sessions), rateLimit(deps.config.api.rateLimitPerMinute, deps.clock)];

  router.get('/v1/audit/checkpoints', ...auth, async (req, res) => {
    const from = Number(typeof req.query.from === 'string' && /^\d{1,15}$/.test(req.query.from) ? req.query.from : 1);
    res.json({ checkpoints: await deps.store.listCheckpoints(from, Number.MAX_SAFE_INTEGER), chain: await monitor.check(deps.store, deps.clock.now().toISOString()) });
  });

  router.get('/v1/officer/audit', ...auth, async (req, res) => {
    const entries = await deps.store.queryAudit(auditFilter(req));
    await officerRead(deps, callerOf(res).id, 'audit.queried', 'audit', { results: entries.length });
    res.json({ entries, next_before: entries.length === 0 ? null : entries[entries.length - 1]!.seq });
  });

  router.get('/v1/officer/stats', ...auth, async (req, res) => {
    res.json(await officerStats(deps, monitor, rangeOf(req, deps)));
  });

  router.post('/v1/officer/subjects/lookup', ...auth, async (req, res) => {
    const body = req.body as { national_id?: unknown; type?: unknown; token?: unknown };
    const subject = await findSubject(deps, {
      token: typeof body.token === 'string' && tokenShape.test(body.token) ? body.token : undefined,
      nationalId: typeof body.national_id === 'string' && body.national_id.length <= 64 ? body.national_id : undefined,
      type: typeof body.type === 'string' ? body.type : undefined,
    });
    if (subject === null) throw new GatewayError('NOT_FOUND');
    res.json({ subject });
  });

  router.get('/v1/officer/subjects/:token', ...auth, async (req, res) => {
    res.json(await subjectReport(deps, subjectParam(req), callerOf(res).id));
  });

  router.post('/v1/officer/subjects/:token/erase', ...auth, async (req, res) => {
    const subject = subjectParam(req);
    // The caller repeats the token: an erasure cannot be undone, so it is never one click on the wrong row.
    if ((req.body as { confirm?: unknown }).confirm !== subject) throw new GatewayError('USAGE_INVALID', { reason: 'send {"confirm": "<the subject token>"}' });
    res.json(await eraseSubject(deps, subject, callerOf(res).id));
  });

  router.get('/v1/officer/recalls/overdue', ...auth, async (_req, res) => {
    res.json({ recall_ack_hours: deps.config.release.recallAckHours, recipients: await overdueRecalls(deps) });
  });

  return router;
}

/** The dashboard's numbers for a time range; shared by the page and the API. */
export async function officerStats(deps: Deps, monitor: ChainMonitor, range: { from: string; to: string }) {
  const [stats, files, chain, recalls] = await Promise.all([
    deps.store.officerStats(range), deps.store.fileCounts(), monitor.check(deps.store, deps.clock.now().toISOString()), overdueRecalls(deps),
  ]);
  return { range, ...stats, files, chain, overdueRecalls: recalls };
}

/** Officers' reads of the log are themselves audited (who looked at what). */
export async function officerRead(deps: Deps, officer: string, action: string, target: string, details: Record<string, unknown>): Promise<void> {
  await deps.store.appendAudit([{ actor: `officer:${officer}`, action, target, details }]);
}

export function auditFilter(req: Request): AuditFilter {
  const q = (name: string, shape: RegExp) => {
    const v = req.query[name];
    return typeof v === 'string' && v !== '' && shape.test(v) ? v : undefined;
  };
  const recipient = q('recipient', /^[a-z0-9][a-z0-9-]{0,62}$/);
  const limit = Number(q('limit', /^\d{1,4}$/) ?? 100);
  const before = q('before', /^\d{1,15}$/);
  return {
    subjectToken: q('subject', tokenShape),
    actor: recipient === undefined ? q('actor', /^[a-z]+(:[a-z0-9-]{1,63})?$/) : `recipient:${recipient}`,
    purpose: q('purpose', /^[a-z][a-z0-9-]{0,62}$/),
    action: q('action', /^[a-z._]{1,64}$/),
    from: q('from', /^\d{4}-\d{2}-\d{2}(T[\d:.]+Z)?$/),
    to: q('to', /^\d{4}-\d{2}-\d{2}(T[\d:.]+Z)?$/),
    beforeSeq: before === undefined ? undefined : Number(before),
    limit: Math.min(1000, Math.max(1, limit)),
  };
}

export function rangeOf(req: Request, deps: Deps): { from: string; to: string } {
  const now = deps.clock.now().getTime();
  const valid = (v: unknown) => (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v)) ? v : undefined);
  const from = valid(req.query.from) ?? new Date(now - 13 * day).toISOString().slice(0, 10);
  const to = valid(req.query.to);
  return { from, to: to === undefined ? new Date(now + day).toISOString().slice(0, 10) : new Date(Date.parse(to) + day).toISOString().slice(0, 10) };
}

function subjectParam(req: Request): string {
  const token = req.params.token;
  if (typeof token !== 'string' || !tokenShape.test(token)) throw new GatewayError('NOT_FOUND');
  return token;
}

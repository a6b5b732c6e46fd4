import type { NextFunction, Request, Response } from 'express';
import { GatewayError } from '../errors/gateway-error.js';
import { OfficerSessions, type OfficerSession } from '../officers/sessions.js';
import { identify, type credentialsFrom } from './auth.js';

export const sessionCookie = 'vg_officer';

/** The officer session named by the request's cookie, if live (and then refreshed). */
export async function sessionOf(req: Request, sessions: OfficerSessions): Promise<OfficerSession | null> {
  const cookie = req.headers.cookie ?? '';
  const m = new RegExp(`(?:^|;\\s*)${sessionCookie}=([A-Za-z0-9_-]{43})(?:;|$)`).exec(cookie);
  return sessions.get(m?.[1]);
}

/**
 * Officer routes accept an officer's bearer key (scripts) or a dashboard session. A session may change
 * something only with its CSRF token and from the gateway's own origin; a bearer key needs neither,
 * as browsers never attach one on their own.
 */
export function requireOfficer(credentials: ReturnType<typeof credentialsFrom>, sessions: OfficerSessions, options: { html?: boolean } = {}) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    if (req.headers.authorization !== undefined) {
      const caller = identify(credentials, req.headers.authorization);
      if (caller === null) return next(new GatewayError('AUTH_REQUIRED'));
      if (caller.role !== 'officer') return next(new GatewayError('AUTH_FORBIDDEN', { role: caller.role }));
      res.locals.caller = caller;
      return next();
    }
    const session = await sessionOf(req, sessions);
    if (session === null) {
      if (options.html === true) return void res.redirect(303, '/officer/login');
      return next(new GatewayError('AUTH_REQUIRED'));
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const body = req.body as Record<string, unknown> | undefined;
      const token = body?.csrf ?? req.header('x-csrf-token');
      if (!OfficerSessions.csrfMatches(session, token) || !sameOrigin(req)) return next(new GatewayError('AUTH_FORBIDDEN', { reason: 'csrf' }));
    }
    res.locals.caller = { role: 'officer', id: session.officer };
    res.locals.session = session;
    next();
  };
}

/** A browser's POST carries Origin; it must be this gateway. (Absent Origin: not a browser form.) */
export function sameOrigin(req: Request): boolean {
  const origin = req.header('origin');
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.header('host');
  } catch {
    return false;
  }
}

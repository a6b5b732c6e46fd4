import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Config } from '../config/types.js';
import { GatewayError } from '../errors/gateway-error.js';

export type Role = 'source' | 'recipient' | 'officer';

export interface Caller {
  role: Role;
  id: string;
}

interface Credential extends Caller {
  hash: Buffer;
}

/**
 * Bearer-key authentication. Keys are configured only as SHA-256 hashes (keys are 256-bit random, so
 * a fast hash is enough: there is nothing to brute-force). The presented key's hash is compared with
 * every configured hash in constant time, and the loop never stops early, so timing reveals neither
 * which caller matched nor how many are configured before it.
 */
export function credentialsFrom(config: Config): Credential[] {
  const out: Credential[] = [];
  for (const [id, s] of Object.entries(config.sources)) for (const h of s.apiKeySha256) out.push({ role: 'source', id, hash: Buffer.from(h, 'hex') });
  for (const [id, r] of Object.entries(config.recipients)) for (const h of r.apiKeySha256) out.push({ role: 'recipient', id, hash: Buffer.from(h, 'hex') });
  for (const [id, o] of Object.entries(config.officers)) for (const h of o.apiKeySha256) out.push({ role: 'officer', id, hash: Buffer.from(h, 'hex') });
  return out;
}

export function identify(credentials: readonly Credential[], authorization: string | undefined): Caller | null {
  const m = /^Bearer ([A-Za-z0-9._~+/=-]{16,512})$/.exec(authorization ?? '');
  if (m === null) return null;
  const presented = createHash('sha256').update(m[1]!).digest();
  let found: Caller | null = null;
  for (const c of credentials) {
    if (timingSafeEqual(presented, c.hash) && found === null) found = { role: c.role, id: c.id };
  }
  return found;
}

/**
 * Express middleware: the route needs a caller of this role; `res.locals.caller` is set.
 * @param onForbidden told of a known caller refused for its role (recipient routes audit it).
 */
export function requireRole(credentials: readonly Credential[], role: Role, onForbidden?: (caller: Caller, req: Request) => Promise<void>) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const caller = identify(credentials, req.headers.authorization);
    if (caller === null) return next(new GatewayError('AUTH_REQUIRED'));
    if (caller.role !== role) {
      const refused = new GatewayError('AUTH_FORBIDDEN', { role: caller.role });
      if (onForbidden === undefined) return next(refused);
      return void onForbidden(caller, req).then(() => next(refused), next);
    }
    res.locals.caller = caller;
    next();
  };
}

export function callerOf(res: Response): Caller {
  return res.locals.caller as Caller;
}

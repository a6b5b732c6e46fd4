import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../lib/clock.js';
import type { OfficerSessionLimits, OfficerSessionStore } from '../store/store.js';

export interface OfficerSession {
  id: string;
  officer: string;
  /** Sent in every form and checked on every POST (the cookie alone never authorises a change). */
  csrf: string;
  createdMs: number;
  lastSeenMs: number;
}

/** 30 minutes idle, 8 hours in all, 1,000 live sessions. */
export const defaultSessionLimits: OfficerSessionLimits = { idleMs: 30 * 60_000, absoluteMs: 8 * 3_600_000, max: 1_000 };

/**
 * Officers' dashboard sessions: random 256-bit ids in an HttpOnly, SameSite=Strict cookie, an idle
 * and an absolute timeout, and a bounded number of live sessions. Kept in the store, so that every
 * replica behind a load balancer honours a session made on any of them, and a restart signs no one
 * out. The store holds a SHA-256 of the id, never the id: a reader of the database cannot become an
 * officer.
 */
export class OfficerSessions {
  constructor(
    private readonly store: OfficerSessionStore,
    private readonly clock: Clock,
    private readonly limits: OfficerSessionLimits = defaultSessionLimits,
  ) {}

  async create(officer: string): Promise<OfficerSession> {
    const now = this.clock.now().getTime();
    const session = { id: randomBytes(32).toString('base64url'), officer, csrf: randomBytes(32).toString('base64url'), createdMs: now, lastSeenMs: now };
    const { id, ...stored } = session;
    await this.store.createOfficerSession({ idSha256: sessionIdHash(id), ...stored }, this.limits);
    return session;
  }

  /** The live session with this id, refreshed; null when unknown or expired. */
  async get(id: string | undefined): Promise<OfficerSession | null> {
    if (id === undefined) return null;
    const stored = await this.store.touchOfficerSession(sessionIdHash(id), this.clock.now().getTime(), this.limits);
    if (stored === null) return null;
    const { idSha256: _hash, ...session } = stored;
    return { id, ...session };
  }

  async destroy(id: string): Promise<void> {
    await this.store.deleteOfficerSession(sessionIdHash(id));
  }

  static csrfMatches(session: OfficerSession, presented: unknown): boolean {
    if (typeof presented !== 'string') return false;
    const a = Buffer.from(presented);
    const b = Buffer.from(session.csrf);
    return a.length === b.length && timingSafeEqual(a, b);
  }
}

/**
 * What the store keeps of a session id. A plain SHA-256 suffices (no salt, no key): the id is 256
 * random bits, so its hash cannot be inverted or guessed.
 */
export function sessionIdHash(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

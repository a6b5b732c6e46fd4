import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../lib/clock.js';

export interface OfficerSession {
  id: string;
  officer: string;
  /** Sent in every form and checked on every POST (the cookie alone never authorises a change). */
  csrf: string;
  createdMs: number;
  lastSeenMs: number;
}

/**
 * Officers' dashboard sessions: random 256-bit ids in an HttpOnly, SameSite=Strict cookie, an idle
 * and an absolute timeout, and a bounded number of live sessions. In memory, per process: a restart
 * signs officers out (acceptable for a dashboard; replicas would share them through the database).
 */
export class OfficerSessions {
  readonly #sessions = new Map<string, OfficerSession>();

  constructor(private readonly clock: Clock, private readonly limits = { idleMs: 30 * 60_000, absoluteMs: 8 * 3_600_000, max: 1_000 }) {}

  create(officer: string): OfficerSession {
    const now = this.clock.now().getTime();
    this.#sweep(now);
    if (this.#sessions.size >= this.limits.max) this.#sessions.delete(this.#sessions.keys().next().value!);
    const session = { id: randomBytes(32).toString('base64url'), officer, csrf: randomBytes(32).toString('base64url'), createdMs: now, lastSeenMs: now };
    this.#sessions.set(session.id, session);
    return session;
  }

  /** The live session with this id, refreshed; null when unknown or expired. */
  get(id: string | undefined): OfficerSession | null {
    if (id === undefined) return null;
    const session = this.#sessions.get(id);
    const now = this.clock.now().getTime();
    if (session === undefined) return null;
    if (now - session.lastSeenMs > this.limits.idleMs || now - session.createdMs > this.limits.absoluteMs) {
      this.#sessions.delete(id);
      return null;
    }
    session.lastSeenMs = now;
    return session;
  }

  destroy(id: string): void {
    this.#sessions.delete(id);
  }

  static csrfMatches(session: OfficerSession, presented: unknown): boolean {
    if (typeof presented !== 'string') return false;
    const a = Buffer.from(presented);
    const b = Buffer.from(session.csrf);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  #sweep(now: number): void {
    for (const [id, s] of this.#sessions) if (now - s.lastSeenMs > this.limits.idleMs || now - s.createdMs > this.limits.absoluteMs) this.#sessions.delete(id);
  }
}

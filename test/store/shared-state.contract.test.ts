import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.js';
import { OfficerSessions } from '../../src/officers/sessions.js';
import type { Store } from '../../src/store/store.js';
import { openBackend, type Backend, type BackendKind } from './backends.js';

/**
 * The state replicas must share rather than keep per process: security limits (a sliding log per key)
 * and officers' dashboard sessions. Each backend, each test on a fresh database; "another replica" is
 * a second store opened on the same database.
 */

const t0 = Date.parse('2025-03-01T10:00:00.000Z');
const minuteMs = 60_000;
const hourMs = 60 * minuteMs;
const limits = { idleMs: 30 * minuteMs, absoluteMs: 8 * hourMs, max: 1_000 };

describe.each(['sqlite', 'postgres'] as const)('%s shared state for replicas', (kind: BackendKind) => {
  let backend: Backend;
  let store: Store;
  let clock: ReturnType<typeof fixedClock>;

  beforeEach(async () => {
    clock = fixedClock(new Date(t0));
    backend = await openBackend(kind, clock);
    store = backend.store;
  });

  afterEach(async () => {
    await backend.cleanup();
  });

  // ---- rate limits -------------------------------------------------------------------------

  it('allows at most `limit` events per key in the window, and keeps keys apart', async () => {
    const taken = [];
    for (let i = 0; i < 5; i++) taken.push(await store.takeRate('verify:r1:v1.s1', 3, hourMs, t0 + i));
    expect(taken).toEqual([true, true, true, false, false]);
    expect(await store.takeRate('verify:r1:v1.s2', 3, hourMs, t0 + 5)).toBe(true);
    expect(await store.takeRate('verify:r2:v1.s1', 3, hourMs, t0 + 5)).toBe(true);
  });

  it('slides: an event counts for exactly windowMs after it, never across a fixed boundary', async () => {
    const key = 'reveal:r1';
    expect(await store.takeRate(key, 2, 1_000, t0)).toBe(true);
    expect(await store.takeRate(key, 2, 1_000, t0 + 600)).toBe(true);
    expect(await store.takeRate(key, 2, 1_000, t0 + 999)).toBe(false);
    // The first event leaves the window at t0 + 1000 (the window is (now - 1000, now]).
    expect(await store.takeRate(key, 2, 1_000, t0 + 1_000)).toBe(true);
    expect(await store.takeRate(key, 2, 1_000, t0 + 1_599)).toBe(false);
    expect(await store.takeRate(key, 2, 1_000, t0 + 1_600)).toBe(true);
  });

  it('takes n events at once or none, and records nothing when it refuses', async () => {
    const key = 'reveal:r1';
    expect(await store.takeRate(key, 5, 1_000, t0, 3)).toBe(true);
    // Refused takes, however many, leave the log as it was: the two events left still fit.
    for (let i = 0; i < 10; i++) expect(await store.takeRate(key, 5, 1_000, t0 + 1 + i, 3)).toBe(false);
    expect(await store.takeRate(key, 5, 1_000, t0 + 20, 2)).toBe(true);
    expect(await store.takeRate(key, 5, 1_000, t0 + 21)).toBe(false);
    // More than the limit in one take is never allowed.
    expect(await store.takeRate('reveal:r2', 5, 1_000, t0, 6)).toBe(false);
    expect(await store.takeRate('reveal:r2', 5, 1_000, t0, 5)).toBe(true);
  });

  it('never allows more than the limit to takers racing on two replicas', async () => {
    const other = await backend.openAnother();
    const key = 'verify:r1:v1.race';
    const attempts = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? store : other).takeRate(key, 7, hourMs, t0 + (i % 3)));
    const outcomes = await Promise.all(attempts);
    expect(outcomes.filter(Boolean)).toHaveLength(7);
    // Both replicas see the same, full log.
    expect(await store.takeRate(key, 7, hourMs, t0 + 10)).toBe(false);
    expect(await other.takeRate(key, 7, hourMs, t0 + 10)).toBe(false);
    expect(await other.takeRate(key, 7, hourMs, t0 + hourMs + 10)).toBe(true);
  });

  // ---- officer sessions --------------------------------------------------------------------

  it('honours on one replica a session created on another, with its CSRF token, until it is deleted', async () => {
    const onA = new OfficerSessions(store, clock, limits);
    const onB = new OfficerSessions(await backend.openAnother(), clock, limits);
    const session = await onA.create('officer-1');
    expect(session.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    clock.advance(minuteMs);
    const seen = await onB.get(session.id);
    expect(seen).toEqual({ ...session, lastSeenMs: t0 + minuteMs });
    expect(OfficerSessions.csrfMatches(seen!, session.csrf)).toBe(true);
    expect(OfficerSessions.csrfMatches(seen!, randomBytes(32).toString('base64url'))).toBe(false);
    expect(await onB.get(undefined)).toBeNull();
    expect(await onB.get(randomBytes(32).toString('base64url'))).toBeNull();

    await onB.destroy(session.id);
    expect(await onA.get(session.id)).toBeNull();
  });

  it('expires a session after the idle timeout, sliding with use on any replica, and after the absolute one', async () => {
    const onA = new OfficerSessions(store, clock, limits);
    const onB = new OfficerSessions(await backend.openAnother(), clock, limits);
    const idle = await onA.create('officer-1');
    clock.advance(limits.idleMs);
    expect(await onB.get(idle.id)).not.toBeNull(); // exactly the idle timeout: still live, and refreshed
    clock.advance(limits.idleMs + 1);
    expect(await onA.get(idle.id)).toBeNull();
    // Expired is gone for good, not revived by a later touch.
    clock.advance(-limits.idleMs);
    expect(await onA.get(idle.id)).toBeNull();

    const busy = await onA.create('officer-2');
    for (let used = 0; used < limits.absoluteMs; used += 20 * minuteMs) {
      expect(await (used % (40 * minuteMs) === 0 ? onA : onB).get(busy.id)).not.toBeNull();
      clock.advance(20 * minuteMs);
    }
    expect(await onA.get(busy.id)).not.toBeNull(); // exactly the absolute timeout: still live
    clock.advance(1);
    expect(await onB.get(busy.id)).toBeNull();
  });

  it('keeps at most `max` live sessions: the oldest goes first, and expired ones do not count', async () => {
    const small = { ...limits, max: 2 };
    const sessions = new OfficerSessions(store, clock, small);
    const first = await sessions.create('officer-1');
    clock.advance(1);
    const second = await sessions.create('officer-2');
    clock.advance(1);
    const third = await sessions.create('officer-3');
    expect(await sessions.get(first.id)).toBeNull();
    expect(await sessions.get(second.id)).not.toBeNull();
    expect(await sessions.get(third.id)).not.toBeNull();
    clock.advance(limits.idleMs + 1);
    const fourth = await sessions.create('officer-4');
    const fifth = await sessions.create('officer-5');
    expect((await sessions.get(fourth.id))?.officer).toBe('officer-4');
    expect((await sessions.get(fifth.id))?.officer).toBe('officer-5');
  });
});

describe.each(['sqlite', 'postgres'] as const)('%s shared state, as written to the database', (kind: BackendKind) => {
  let db: Backend;
  let clock: ReturnType<typeof fixedClock>;

  beforeEach(async () => {
    clock = fixedClock(new Date(t0));
    db = await openBackend(kind, clock);
  });

  afterEach(async () => {
    await db.cleanup();
  });

  it('stores a SHA-256 of the session id, never the id: a database reader cannot present it', async () => {
    const sessions = new OfficerSessions(db.store, clock, limits);
    const session = await sessions.create('officer-1');
    const rows = await db.rows('SELECT * FROM officer_sessions');
    expect(rows).toEqual([expect.objectContaining({ id_sha256: createHash('sha256').update(session.id).digest('hex'), officer: 'officer-1' })]);
    expect(JSON.stringify(rows)).not.toContain(session.id);
    expect((await db.bytes('officer_sessions')).includes(session.id)).toBe(false);
    // The stored hash, presented as a cookie's id, names no session.
    expect(await sessions.get(rows[0]!.id_sha256 as string)).toBeNull();
    await sessions.destroy(session.id);
    expect(await db.rows('SELECT * FROM officer_sessions')).toEqual([]);
  });

  it('prunes expired rate events as new ones are taken, so the table stays bounded', async () => {
    for (let i = 0; i < 300; i++) expect(await db.store.takeRate(`verify:r1:v1.subject${i}`, 5, minuteMs, t0 + i)).toBe(true);
    const count = async () => Number((await db.rows('SELECT COUNT(*) AS n FROM rate_events'))[0]!.n);
    expect(await count()).toBe(300);
    // An hour on, each take removes up to 100 expired events: three takes empty the table of the old ones.
    for (let i = 0; i < 3; i++) expect(await db.store.takeRate('verify:r1:v1.later', 5, minuteMs, t0 + hourMs + i)).toBe(true);
    expect(await count()).toBe(3);
    // Keys hold the names given (ids and tokens), nothing else.
    expect((await db.rows('SELECT DISTINCT key FROM rate_events')).map((r) => r.key)).toEqual(['verify:r1:v1.later']);
  });
});

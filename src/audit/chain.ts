import { createHash } from 'node:crypto';

/**
 * The tamper-evident audit log (DESIGN §4): each entry carries the hash of the one before, so an
 * edited, deleted, inserted or reordered entry breaks every hash after it. Entries hold ids, tokens,
 * field names and counts, never personal values.
 */
export interface AuditDraft {
  /** Who acted: `source:<id>`, `recipient:<id>`, `officer:<id>`, `operator`, `gateway`. */
  actor: string;
  /** What happened, e.g. `file.received`, `file.committed`, `account.recalled`. */
  action: string;
  /** What it happened to: a receipt id, an account or subject token. */
  target: string;
  details: Readonly<Record<string, unknown>>;
}

export interface AuditEntry extends AuditDraft {
  seq: number;
  /** ISO 8601 time of the append. */
  at: string;
  prevHash: string;
  hash: string;
}

export const genesisHash = '0'.repeat(64);

/** The exact bytes that are hashed: fixed key order, so any verifier can recompute them. */
export function canonicalEntry(e: Omit<AuditEntry, 'hash'>): string {
  return JSON.stringify([e.seq, e.at, e.actor, e.action, e.target, canonicalJson(e.details), e.prevHash]);
}

export function entryHash(e: Omit<AuditEntry, 'hash'>): string {
  return createHash('sha256').update(canonicalEntry(e)).digest('hex');
}

/** JSON with object keys sorted at every depth. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** Seals drafts onto a chain head; the caller stores the entries in the same transaction. */
export function chainEntries(head: { seq: number; hash: string }, drafts: readonly AuditDraft[], at: string): AuditEntry[] {
  const out: AuditEntry[] = [];
  let { seq, hash } = head;
  for (const d of drafts) {
    const base = { seq: seq + 1, at, actor: d.actor, action: d.action, target: d.target, details: d.details, prevHash: hash };
    const entry = { ...base, hash: entryHash(base) };
    out.push(entry);
    ({ seq, hash } = entry);
  }
  return out;
}

export type ChainCheck = { ok: true; entries: number; head: { seq: number; hash: string } } | { ok: false; firstBadSeq: number; reason: string };

/** Recomputes a chain from its first entry; reports the first entry that does not verify. */
export function verifyChain(entries: Iterable<AuditEntry>, start: { seq: number; hash: string } = { seq: 0, hash: genesisHash }): ChainCheck {
  let { seq, hash } = start;
  let count = 0;
  for (const e of entries) {
    if (e.seq !== seq + 1) return { ok: false, firstBadSeq: seq + 1, reason: e.seq > seq + 1 ? 'entry missing' : 'entry out of order or repeated' };
    if (e.prevHash !== hash) return { ok: false, firstBadSeq: e.seq, reason: 'previous hash does not match' };
    const { hash: stored, ...rest } = e;
    if (entryHash(rest) !== stored) return { ok: false, firstBadSeq: e.seq, reason: 'entry hash does not match its content' };
    ({ seq, hash } = e);
    count++;
  }
  return { ok: true, entries: count, head: { seq, hash } };
}

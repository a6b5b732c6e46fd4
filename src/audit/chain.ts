import { hash } from 'node:crypto';

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
export function canonicalEntry(e: Omit<AuditEntry, 'hash'>, detailsJson = canonicalJson(e.details)): string {
  return JSON.stringify([e.seq, e.at, e.actor, e.action, e.target, detailsJson, e.prevHash]);
}

/** @param detailsJson the canonical JSON of the details, when the caller has it already. */
export function entryHash(e: Omit<AuditEntry, 'hash'>, detailsJson?: string): string {
  // crypto.hash: one call, no Hash object (1.7 µs against 2.9 µs per entry here).
  return hash('sha256', canonicalEntry(e, detailsJson), 'hex');
}

/** JSON with object keys sorted at every depth. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

/**
 * Seals drafts onto a chain head; the caller stores the entries in the same transaction. Each entry
 * carries its details' canonical JSON, which is what is stored (and hashed): serialised once.
 */
export function chainEntries(head: { seq: number; hash: string }, drafts: readonly AuditDraft[], at: string): Array<AuditEntry & { detailsJson: string }> {
  const out: Array<AuditEntry & { detailsJson: string }> = [];
  let { seq, hash } = head;
  for (const d of drafts) {
    const base = { seq: seq + 1, at, actor: d.actor, action: d.action, target: d.target, details: d.details, prevHash: hash };
    const detailsJson = canonicalJson(d.details);
    const entry = { ...base, hash: entryHash(base, detailsJson), detailsJson };
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

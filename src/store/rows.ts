import type { AuditDraft, AuditEntry } from '../audit/chain.js';
import type { RecordKind } from '../config/types.js';
import { isFinal, type FileState } from '../pipeline/file-states.js';
import type { AccountFacts, Decided, FeedEvent, FeedEventType, FileRow, SftpDelivery, SourceLease, StoredOfficerSession } from './store.js';

/**
 * Row shapes and their mapping to the store's types, shared by the SQLite and PostgreSQL backends:
 * both name their columns alike, so one mapping serves both (and cannot drift between them).
 */
export interface FileDbRow {
  receipt_id: string; source: string; kind: RecordKind; channel: FileRow['channel']; envelope: FileRow['envelope']; file_name: string; sha256: string;
  size_bytes: number; spool_path: string; received_at: string; state: FileState; duplicate_of: string | null;
  lease_owner: string | null; lease_token: number; lease_until_ms: number | null; attempts: number;
  commit_seq: number | null; finished_at: string | null; ack: string | null;
}

export function toFileRow(r: FileDbRow): FileRow {
  return {
    receiptId: r.receipt_id, source: r.source, kind: r.kind, channel: r.channel, envelope: r.envelope, fileName: r.file_name, sha256: r.sha256,
    sizeBytes: r.size_bytes, spoolPath: r.spool_path, receivedAt: r.received_at, state: r.state, duplicateOf: r.duplicate_of,
    leaseOwner: r.lease_owner, leaseToken: r.lease_token, leaseUntilMs: r.lease_until_ms, attempts: r.attempts,
    commitSeq: r.commit_seq, finishedAt: r.finished_at, ack: r.ack,
  };
}

/**
 * Whether `owner` may claim a file now: `received`, or `processing` under its own lease, under one
 * that expired, or under one whose owner is known dead. The one rule both stores apply.
 */
export function isClaimable(r: FileDbRow, owner: string, nowMs: number, ownerIsDead: (owner: string) => boolean): boolean {
  if (isFinal(r.state)) return false;
  if (r.state !== 'processing' || r.lease_owner === null || r.lease_owner === owner) return true;
  return (r.lease_until_ms ?? 0) <= nowMs || ownerIsDead(r.lease_owner);
}

export interface SourceLeaseDbRow { source: string; owner: string; token: number; until_ms: number }

/** Whether `fence` is the source's polling lease, live at `nowMs`. */
export function holdsSourceLease(row: SourceLeaseDbRow | undefined, fence: SourceLease, nowMs: number): boolean {
  return row !== undefined && row.owner === fence.owner && row.token === fence.token && row.until_ms > nowMs;
}

export interface AuditDbRow { seq: number; at: string; actor: string; action: string; target: string; details: string; prev_hash: string; hash: string }

export function toAuditEntry(r: AuditDbRow): AuditEntry {
  return { seq: r.seq, at: r.at, actor: r.actor, action: r.action, target: r.target, details: JSON.parse(r.details) as Record<string, unknown>, prevHash: r.prev_hash, hash: r.hash };
}

/**
 * Which of the commit's bulk statements a file of a kind needs. Every record of a file is of the
 * file's kind, and each statement scans all of the file's staged records whether or not any match:
 * on a 100,000-record placement file the three that could match nothing took a seventh of the commit.
 */
export function commitStepsFor(kind: RecordKind): { placeAccounts: boolean; recallAccounts: boolean; accountUpdates: boolean; subjectEvents: boolean; subjectFeedEvents: boolean } {
  return {
    placeAccounts: kind === 'placement',
    recallAccounts: kind === 'recall',
    accountUpdates: kind === 'update',
    // A recall sets nothing of its subject's state (pipeline/record-facts.ts).
    subjectEvents: kind !== 'recall',
    // Only updates change a subject's restrictions or consents for its other accounts to hear of.
    subjectFeedEvents: kind === 'update',
  };
}

/** Audit actions that are reads of subject data by a recipient (the officer's access figures). */
export const releaseActions: readonly string[] = ['release.account', 'release.feed', 'verify', 'reveal'];

/** The subjects an entry concerns: release items' subjects, and the target of subject actions. */
export function subjectsOf(e: AuditDraft): Set<string> {
  const out = new Set<string>();
  if (e.action.startsWith('subject.')) out.add(e.target);
  const items = (e.details as { items?: unknown }).items;
  if (Array.isArray(items)) for (const i of items as Array<{ subject?: unknown }>) if (typeof i.subject === 'string') out.add(i.subject);
  return out;
}

/** A read (or a plain audit append) waiting for the next group commit. */
export interface PendingRelease {
  accountTokens: readonly string[];
  /** A plain audit append (no read to decide). */
  appendOnly?: readonly AuditDraft[];
  decide: (facts: ReadonlyMap<string, AccountFacts>) => Decided<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export interface AccountFactsDbRow {
  account_token: string; subject_token: string | null; source: string; status: AccountFacts['status'];
  placement: string; placement_vault: Buffer | null; recall: string | null; wrapped_key: Buffer | null; erased_at: string | null;
}

export interface FeedDbRow { seq: number; type: FeedEventType; source: string; account_token: string; at: string; changes: string | null }

export function toFeedEvent(r: FeedDbRow): FeedEvent {
  return { seq: r.seq, type: r.type, source: r.source, accountToken: r.account_token, at: r.at, changes: r.changes === null ? null : JSON.parse(r.changes) as Record<string, string> };
}

export interface DeliveryDbRow {
  id: number; source: string; remote_path: string; kind: RecordKind; size_bytes: number; mtime_ms: number;
  /** SQLite stores 0/1, PostgreSQL a boolean. */
  receipt_id: string | null; ack_written: number | boolean; finished_at: string | null;
}

export function toDelivery(r: DeliveryDbRow): SftpDelivery {
  return {
    id: r.id, source: r.source, remotePath: r.remote_path, kind: r.kind, sizeBytes: r.size_bytes, mtimeMs: r.mtime_ms,
    receiptId: r.receipt_id, ackWritten: r.ack_written === true || r.ack_written === 1, finishedAt: r.finished_at,
  };
}

/** Expired rate events deleted per recorded take: more than one, so that the table shrinks after a burst. */
export const rateEventsPrunedPerTake = 100;

export interface OfficerSessionDbRow {
  id_sha256: string;
  officer: string;
  csrf: string;
  created_ms: number;
  last_seen_ms: number;
}

export function toOfficerSession(r: OfficerSessionDbRow): StoredOfficerSession {
  return { idSha256: r.id_sha256, officer: r.officer, csrf: r.csrf, createdMs: r.created_ms, lastSeenMs: r.last_seen_ms };
}

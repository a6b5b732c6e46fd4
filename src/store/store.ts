import type { RecordKind } from '../config/types.js';
import type { AuditDraft, AuditEntry } from '../audit/chain.js';
import type { Checkpoint } from '../audit/checkpoint.js';
import type { Rejection } from '../errors/gateway-error.js';
import type { SubjectKeyStore } from '../tokenise/vault.js';
import type { FileState } from '../pipeline/file-states.js';

/**
 * The narrow interfaces the pipeline and the CLI need from storage. Every backend (SQLite now,
 * PostgreSQL later) implements them and passes the same contract tests. Methods are async so that
 * a networked backend fits; each one is one transaction, and every audit draft passed in is
 * appended to the chain inside that same transaction.
 */
export interface Store extends FileStore, StagingStore, AccountStore, SubjectKeyStore, AuditStore, SourceLeaseStore, SftpDeliveryStore, IdempotencyStore, ReleaseStore, OfficerStore, RateLimitStore, OfficerSessionStore {
  /** A cheap round trip, for readiness. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface FileRow {
  receiptId: string;
  source: string;
  kind: RecordKind;
  channel: 'cli' | 'sftp' | 'api';
  /** How the body is opened: an OpenPGP message, or a compact JWE of records (API). */
  envelope: 'pgp' | 'jose';
  fileName: string;
  sha256: string;
  sizeBytes: number;
  spoolPath: string;
  receivedAt: string;
  state: FileState;
  duplicateOf: string | null;
  leaseOwner: string | null;
  leaseToken: number;
  leaseUntilMs: number | null;
  attempts: number;
  commitSeq: number | null;
  finishedAt: string | null;
  /** The acknowledgement JSON, once the file reached a final state. */
  ack: string | null;
}

export type NewFile = Pick<FileRow, 'receiptId' | 'source' | 'kind' | 'channel' | 'envelope' | 'fileName' | 'sha256' | 'sizeBytes' | 'spoolPath' | 'receivedAt'>;

export type ReceiveResult =
  | { outcome: 'new'; file: FileRow }
  /** The same bytes from the same source were already taken: committed (→ duplicate) or still in progress (→ resume). */
  | { outcome: 'existing'; file: FileRow };

export interface Lease {
  receiptId: string;
  owner: string;
  /** Fencing token: a commit or staging write under an older token is refused. */
  token: number;
}

export interface FileStore {
  /** Records a received file, unless the same source already has the same bytes live; one transaction with its audit entry. */
  receiveFile(file: NewFile, audit: AuditDraft): Promise<ReceiveResult>;
  /** Records a duplicate delivery with its acknowledgement (a final state from the start). */
  recordDuplicate(file: NewFile & { duplicateOf: string; ack: string }, audit: AuditDraft): Promise<void>;
  getFile(receiptId: string): Promise<FileRow | null>;
  /**
   * Claims a file for processing: succeeds when it is `received`, or `processing` under a lease that
   * expired or whose owner is known dead. Bumps the fencing token and clears any half-staged work.
   * Returns null when another live worker holds it or the file is final.
   */
  claimFile(receiptId: string, owner: string, nowMs: number, ttlMs: number, ownerIsDead: (owner: string) => boolean): Promise<Lease | null>;
  /**
   * Claims the oldest unfinished file that is claimable as in `claimFile`, skipping `exclude` and,
   * on PostgreSQL, rows another replica is claiming at this moment (`FOR UPDATE SKIP LOCKED`), so
   * that replicas divide a backlog instead of queueing on the same row. Null when there is none.
   */
  claimNextFile(owner: string, nowMs: number, ttlMs: number, ownerIsDead: (owner: string) => boolean, exclude: readonly string[]): Promise<{ file: FileRow; lease: Lease } | null>;
  /** Extends a lease; false when it was lost. */
  renewLease(lease: Lease, nowMs: number, ttlMs: number): Promise<boolean>;
  /**
   * Makes a file's staged records visible, atomically, with its ack and audit entry, and makes its new
   * subject keys everyone's. `subject-key-conflict`: another file committed a key for one of this
   * file's new subjects meanwhile; reconcile (`subjectKeyConflicts`, `settleSubjectKeys`) and commit again.
   */
  commitFile(lease: Lease, ack: string, finishedAt: string, audit: AuditDraft): Promise<'committed' | 'lease-lost' | 'subject-key-conflict'>;
  /** Ends a file `rejected`: staged rows are deleted, the ack stored. False when the lease was lost. */
  rejectFile(lease: Lease, ack: string, fileErrorCode: string, finishedAt: string, audit: AuditDraft): Promise<boolean>;
  /** Files not in a final state (for recovery on start). */
  listUnfinishedFiles(): Promise<FileRow[]>;
  /** Counts of files by source and state (for `veilgate status`). */
  fileCounts(): Promise<Array<{ source: string; state: FileState; count: number }>>;
}

/** A stored record: tokens, kept values and one vault ciphertext; no personal value in clear. */
export interface StoredRecord {
  recordNo: number;
  kind: RecordKind;
  accountToken: string;
  subjectToken: string | null;
  /** JSON of kept fields and tokens only. */
  data: string;
  vault: Buffer | null;
}

/** What the commit needs of a record, given by the pipeline (pipeline/record-facts.ts): the store never parses `data`. */
export interface RecordFacts {
  /** Placements: the date of first delinquency (the account's, which later placements may not move). */
  delinquencyDate: string | null;
  /** Updates: their update_type (the feed event's type). */
  updateType: string | null;
  /** JSON object of the restrictions and consents the record sets, in record order; null when none. */
  subjectState: string | null;
}

/** A record ready for storage, with its facts. */
export interface StagedRecord extends StoredRecord, RecordFacts {}

export interface StagedFinding extends Rejection {
  severity: 'error' | 'warning';
}

export interface StagingStore {
  /**
   * Appends records, findings and the data keys made for new subjects of a file, under its lease.
   * @throws GatewayError PIPELINE_LEASE_LOST
   */
  stage(lease: Lease, records: readonly StagedRecord[], findings: readonly StagedFinding[], newSubjectKeys?: ReadonlyMap<string, Buffer>): Promise<void>;
  /**
   * Subjects for which this file staged a key that is not the one to keep: a key committed meanwhile
   * by another file, or two keys staged by this file (a subject met again after its key left the cache).
   */
  subjectKeyConflicts(receiptId: string): Promise<SubjectKeyConflict[]>;
  /** This file's staged records of these subjects (to reseal). */
  recordsOfSubjects(receiptId: string, subjectTokens: readonly string[]): Promise<Array<{ recordNo: number; subjectToken: string; vault: Buffer | null }>>;
  /** Replaces resealed vaults and leaves one staged key per subject (none where a committed key is kept). */
  settleSubjectKeys(lease: Lease, resealed: ReadonlyArray<{ recordNo: number; vault: Buffer }>, keep: ReadonlyMap<string, Buffer | null>): Promise<void>;
  /**
   * At the end of a file: removes every placement or recall after the first for the same account
   * and returns their record numbers (to be rejected ACCOUNT_REF_DUPLICATE).
   */
  rejectDuplicateAccounts(lease: Lease): Promise<number[]>;
  /** Counts of a file's staged findings. */
  findingCounts(receiptId: string): Promise<{ rejectedRecords: number; errors: number; warnings: number }>;
  /** The first `limit` findings of a severity, by record number. */
  listFindings(receiptId: string, severity: 'error' | 'warning', limit: number): Promise<Rejection[]>;
  countStagedRecords(receiptId: string): Promise<number>;
  /** A file's stored records as stored (tokens, kept fields, vault ciphertext), by record number. */
  listRecords(receiptId: string, limit: number): Promise<StoredRecord[]>;
}

export interface SubjectKeyConflict {
  subjectToken: string;
  /** The committed key, which wins, or null when only this file's staged keys disagree. */
  committed: Buffer | null;
  staged: Buffer[];
}

/** The committed history of an account that later records are checked against. */
export interface AccountState {
  accountToken: string;
  subjectToken: string | null;
  /** 'recalled' once a recall was committed after the latest placement. */
  status: 'placed' | 'recalled';
  /** The date of first delinquency of the latest placement: later files must not change it. */
  delinquencyDate: string | null;
}

export interface AccountStore {
  /** The committed state of the accounts with these tokens (any may be absent). */
  findAccounts(accountTokens: readonly string[]): Promise<Map<string, AccountState>>;
}

export interface AuditStore {
  /** Appends entries outside any other change (e.g. a CLI read). */
  appendAudit(drafts: readonly AuditDraft[]): Promise<void>;
  /** Entries with seq in [fromSeq, toSeq], in order. */
  readAudit(fromSeq: number, toSeq: number): Promise<AuditEntry[]>;
  auditHead(): Promise<{ seq: number; hash: string }>;
  /** Stores a signed checkpoint of the head; ignored when one exists at that seq. */
  addCheckpoint(checkpoint: Checkpoint): Promise<void>;
  listCheckpoints(fromSeq: number, toSeq: number): Promise<Checkpoint[]>;
  latestCheckpoint(): Promise<Checkpoint | null>;
  /** Entries matching an officer's filter, newest first, at most `limit`, before `beforeSeq` when given. */
  queryAudit(filter: AuditFilter): Promise<AuditEntry[]>;
}

export interface AuditFilter {
  subjectToken?: string;
  /** `recipient:<id>`, `officer:<id>`, `source:<id>`, `gateway` … */
  actor?: string;
  purpose?: string;
  action?: string;
  /** ISO times, inclusive from, exclusive to. */
  from?: string;
  to?: string;
  beforeSeq?: number;
  limit: number;
}

/** A remote file the SFTP poller took or is taking. */
export interface SftpDelivery {
  id: number;
  source: string;
  remotePath: string;
  kind: RecordKind;
  sizeBytes: number;
  mtimeMs: number;
  /** Set once the bytes are spooled and the receipt recorded. */
  receiptId: string | null;
  ackWritten: boolean;
  finishedAt: string | null;
}

/** The right to poll one SFTP source, held by one replica at a time (DESIGN §8). */
export interface SourceLease {
  source: string;
  owner: string;
  /** Fencing token: grows with every change of holder; SFTP delivery steps under an older one are refused. */
  token: number;
}

export interface SourceLeaseStore {
  /**
   * Records that replica `owner` is alive until `nowMs + ttlMs` (a ttl of 0: it is leaving) and
   * returns how many replicas are alive, itself included: each takes its share of the sources.
   */
  heartbeat(owner: string, nowMs: number, ttlMs: number): Promise<number>;
  /**
   * Takes the polling lease of a source when nobody holds it or its holder's lease expired (a new
   * token), or extends it when `owner` holds it still (the same token). Null while another owner's
   * lease is live, or when `owner` holds `maxHeld` other sources already: then a lease it holds
   * beyond its share is given up, so that a replica that started later gets work.
   */
  acquireSourceLease(source: string, owner: string, nowMs: number, ttlMs: number, maxHeld?: number): Promise<SourceLease | null>;
  /** Gives the lease up (on a clean stop), so that another replica polls the source at once. */
  releaseSourceLease(lease: SourceLease): Promise<void>;
  /** The live polling leases: which replica polls which source (for `veilgate status`). */
  listSourceLeases(nowMs: number): Promise<Array<SourceLease & { untilMs: number }>>;
}

/**
 * Delivery bookkeeping for SFTP: the intent to take a remote file is recorded before the download,
 * and each later step (receipt, ack written, remote move) is marked, so that a restart resumes
 * exactly where a crash left off. Each step is recorded only under the source's live polling lease
 * (`fence`), in the same transaction as the check: a replica that lost the lease, however slow,
 * cannot record anything, and the new holder resumes the delivery.
 * @throws GatewayError SFTP_LEASE_LOST
 */
export interface SftpDeliveryStore {
  /** Records the intent to take a remote file; returns the open delivery for the same (path, size, mtime) if there is one. */
  beginSftpDelivery(d: { source: string; remotePath: string; kind: RecordKind; sizeBytes: number; mtimeMs: number }, fence: SourceLease): Promise<SftpDelivery>;
  linkSftpDelivery(id: number, receiptId: string, fence: SourceLease): Promise<void>;
  markSftpAckWritten(id: number, fence: SourceLease): Promise<void>;
  /** The remote file was moved away: the delivery is complete. */
  finishSftpDelivery(id: number, fence: SourceLease): Promise<void>;
  unfinishedSftpDeliveries(source: string): Promise<SftpDelivery[]>;
  /** The live (received, processing or committed) file of a source with these bytes, if any. */
  findLiveFile(source: string, sha256: string): Promise<FileRow | null>;
}

export interface IdempotencyStore {
  /**
   * Binds (caller, key) to a body hash and receipt, unless it is bound already: then returns the
   * earlier binding (same hash: replay it; other hash: a conflict).
   */
  claimIdempotencyKey(caller: string, key: string, bodySha256: string, receiptId: string): Promise<{ bodySha256: string; receiptId: string } | null>;
  findIdempotencyKey(caller: string, key: string): Promise<{ bodySha256: string; receiptId: string } | null>;
}

/** An account as the ReleaseView sees it: tokens, kept fields and vault ciphertexts; nothing in clear. */
export interface AccountFacts {
  accountToken: string;
  subjectToken: string | null;
  source: string;
  status: 'placed' | 'recalled';
  /** JSON of the latest placement record (kept fields and tokens), and its vault. */
  placement: string;
  placementVault: Buffer | null;
  /** JSON of the recall record (reason, effective date), once recalled. */
  recall: string | null;
  /** Updates committed after the latest placement, oldest first. */
  updates: Array<{ data: string; vault: Buffer | null }>;
  /** The subject's wrapped data key; null when the subject has none or was erased. */
  wrappedKey: Buffer | null;
  /** The subject was erased (its data key destroyed): the account releases nothing. */
  erased: boolean;
  /** The subject's restriction and consent changes, oldest first (the last id is its consent-state version). */
  subjectEvents: Array<{ id: number; field: string; value: string }>;
}

export type FeedEventType = 'account.placed' | 'account.updated' | 'account.recalled' | 'subject.restricted' | 'subject.consent_changed';

export interface FeedEvent {
  seq: number;
  type: FeedEventType;
  source: string;
  accountToken: string;
  at: string;
  /** The non-personal fields of the change: an update record's kept fields, or a reported change. */
  changes: Record<string, string> | null;
}

/** A release decision's result and the audit entries that must be written with it. */
export interface Decided<T> {
  result: T;
  audit: readonly AuditDraft[];
}

export interface ReleaseStore {
  /**
   * Reads the facts of accounts, lets `decide` build the answer and its audit entries, and appends
   * them, in one transaction: nothing is released without its audit entry, and the entry records the
   * state the decision saw.
   */
  release<T>(accountTokens: readonly string[], decide: (facts: ReadonlyMap<string, AccountFacts>) => Decided<T>): Promise<T>;
  /** The same for a page of feed events after `afterSeq`, of these sources (null: all). */
  releaseFeed<T>(
    page: { sources: readonly string[] | null; afterSeq: number; limit: number },
    decide: (events: readonly FeedEvent[], facts: ReadonlyMap<string, AccountFacts>) => Decided<T>,
  ): Promise<T>;
  /**
   * Records restriction or consent changes reported for a subject (from now on, for every recipient), a
   * feed event for each of its accounts, and the audit entry. Null when the subject has no account.
   */
  recordSubjectChange(change: { subjectToken: string; changes: Readonly<Record<string, string>>; origin: string; at: string }, audit: AuditDraft): Promise<{ consentVersion: number; accounts: number } | null>;
  /** Moves a recipient's acknowledged feed position forward (never back); returns the position now. */
  acknowledgeFeed(recipient: string, seq: number): Promise<number>;
  feedPosition(recipient: string): Promise<number>;
  /** The newest feed sequence number (0 when empty). */
  feedHead(): Promise<number>;
  /** Per recipient, recall events it has not acknowledged that happened before `before` (ISO time). */
  overdueRecalls(recipients: ReadonlyArray<{ id: string; sources: readonly string[] | null }>, before: string): Promise<Array<{ recipient: string; count: number; oldestAt: string | null }>>;
  /**
   * Stores a release policy under its version, once, so that decisions can be replayed; a version not
   * seen before is a configuration change, audited with it. True when it was new.
   */
  savePolicy(version: string, body: string, audit: AuditDraft): Promise<boolean>;
  getPolicy(version: string): Promise<string | null>;
}

/** What a privacy officer's dashboard shows, for a time range. */
export interface OfficerStats {
  accessesByDay: Array<{ day: string; recipient: string; purpose: string; count: number }>;
  fieldsByRecipient: Array<{ recipient: string; released: number; withheld: number }>;
  topSubjects: Array<{ subjectToken: string; accesses: number }>;
}

/** Everything held about one subject, by reference: tokens, field names, files; never a value. */
export interface SubjectHoldings {
  subjectToken: string;
  erasedAt: string | null;
  accounts: Array<{
    accountToken: string; source: string; status: 'placed' | 'recalled'; purgedAt: string | null;
    placement: { receiptId: string; fileName: string; receivedAt: string; recordNo: number; data: string; vault: Buffer | null };
    updates: number;
  }>;
  wrappedKey: Buffer | null;
  subjectEvents: Array<{ id: number; field: string; value: string; origin: string; at: string }>;
  /** Files whose records hold the subject: their spooled copies hold its values (still encrypted to the gateway). */
  files: Array<{ receiptId: string; source: string; state: string; spoolPath: string; spoolPurgedAt: string | null }>;
}

export interface OfficerStore {
  officerStats(range: { from: string; to: string }): Promise<OfficerStats>;
  subjectHoldings(subjectToken: string): Promise<SubjectHoldings | null>;
  /**
   * Crypto-shredding: deletes the subject's data key (overwritten, not just unlinked, in the database
   * file) and records the erasure, with its audit entry, in one transaction. Returns the subject's files.
   */
  eraseSubject(subjectToken: string, by: string, at: string, audit: AuditDraft): Promise<SubjectHoldings['files'] | null>;
  /** Marks spooled copies as deleted (after the caller removed the files). */
  markSpoolPurged(receiptIds: readonly string[], at: string): Promise<void>;
  /** Finished files whose spooled copy is older than `before` and still there. */
  spoolsToPurge(before: string, limit: number): Promise<Array<{ receiptId: string; spoolPath: string }>>;
  /** Deletes findings of files finished before `before`; returns how many. */
  purgeFindings(before: string): Promise<number>;
  /** Clears the vaulted values of accounts recalled before `before`; returns how many accounts. */
  purgeRecalledAccounts(before: string, at: string): Promise<number>;
}

/**
 * Security limits shared by every replica: a count kept per process would give an attacker N times the
 * attempts behind a load balancer of N replicas.
 */
export interface RateLimitStore {
  /**
   * A sliding log (exact, unlike a fixed window that allows twice the limit across a boundary): records
   * `n` events (default 1) for `key` at `nowMs` when, with them, the key has at most `limit` events in
   * the window (nowMs - windowMs, nowMs]; otherwise returns false and records nothing. Atomic across
   * replicas. Keys are built from ids and tokens only, never a personal value. Expired events are pruned
   * as events are recorded, so the table holds about the events of the current windows.
   */
  takeRate(key: string, limit: number, windowMs: number, nowMs: number, n?: number): Promise<boolean>;
}

/**
 * An officer's dashboard session as stored: the SHA-256 (hex) of its id, never the id, so that a reader
 * of the database or of a backup cannot present it as a cookie. The CSRF token is stored as issued: it
 * is rendered into every form, and without the session cookie it authorises nothing.
 */
export interface StoredOfficerSession {
  idSha256: string;
  officer: string;
  csrf: string;
  createdMs: number;
  lastSeenMs: number;
}

export interface OfficerSessionLimits {
  /** A session unused for longer than this has expired (ms). */
  idleMs: number;
  /** A session older than this has expired, however busy (ms). */
  absoluteMs: number;
  /** Live sessions at most: beyond it, creating one removes the oldest. */
  max: number;
}

/** Dashboard sessions, shared by every replica: a session made on one is honoured by all. */
export interface OfficerSessionStore {
  /** Stores a new session, after deleting expired ones and, when `limits.max` are live, the oldest. */
  createOfficerSession(session: StoredOfficerSession, limits: OfficerSessionLimits): Promise<void>;
  /**
   * The live session with this id hash, its `lastSeenMs` moved to `nowMs` (the idle timeout slides);
   * null when unknown or expired, and an expired one is deleted.
   */
  touchOfficerSession(idSha256: string, nowMs: number, limits: Pick<OfficerSessionLimits, 'idleMs' | 'absoluteMs'>): Promise<StoredOfficerSession | null>;
  deleteOfficerSession(idSha256: string): Promise<void>;
}

import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { RecordKind } from '../../config/types.js';
import { chainEntries, genesisHash, type AuditDraft, type AuditEntry } from '../../audit/chain.js';
import type { Checkpoint } from '../../audit/checkpoint.js';
import { GatewayError, type Rejection } from '../../errors/gateway-error.js';
import type { RecordCode } from '../../errors/codes.js';
import { recordCodes } from '../../errors/codes.js';
import type { Clock } from '../../lib/clock.js';
import type { FileState } from '../../pipeline/file-states.js';
import { sqliteMigrations } from '../migrations/sqlite.js';
import { CommitThread, type ClosingCall, type ClosingCalls } from './commit-thread.js';
import { commitStepsFor, holdsSourceLease, isClaimable, rateEventsPrunedPerTake, toOfficerSession, type OfficerSessionDbRow, releaseActions, subjectsOf, toAuditEntry, toDelivery, toFeedEvent, toFileRow, type AccountFactsDbRow, type AuditDbRow, type DeliveryDbRow, type FeedDbRow, type FileDbRow, type PendingRelease, type SourceLeaseDbRow } from '../rows.js';
import type { AccountFacts, AccountState, AuditFilter, Decided, OfficerStats, SubjectHoldings, FeedEvent, FileRow, Lease, NewFile, ReceiveResult, SftpDelivery, SourceLease, StagedFinding, StagedRecord, Store, StoredRecord, SubjectKeyConflict } from '../store.js';
import type { OfficerSessionLimits, StoredOfficerSession } from '../store.js';

/**
 * The embedded store: one SQLite file in WAL mode through better-sqlite3. Calls are synchronous
 * underneath; the async interface is what a networked backend needs too. Writers serialise on
 * SQLite's write lock (BEGIN IMMEDIATE), which also serialises the audit chain head.
 */
export class SqliteStore implements Store {
  readonly #db: Database.Database;
  readonly #clock: Clock;
  readonly #st: ReturnType<typeof prepare>;
  readonly #releases: PendingRelease[] = [];
  /** Appends since this process last moved the audit subject tail into its index (see #indexAuditSubjects). */
  #appendsSinceIndexed = 0;
  readonly #commits: CommitSettings;
  #commitThread: CommitThread | null = null;
  /** Rows this store staged per file not yet committed or rejected: which files' closing calls go to the thread. */
  readonly #stagedRows = new Map<string, number>();
  /** A closing call running on the commit thread: this connection's writes wait for it (see #writable). */
  #onThreadNow: Promise<unknown> | null = null;

  private constructor(db: Database.Database, clock: Clock, commits: CommitSettings) {
    this.#db = db;
    this.#clock = clock;
    this.#st = prepare(db);
    this.#commits = commits;
  }

  /**
   * Opens (creating if needed) and migrates the database. Files with `commitOnThreadFromRows` staged
   * rows or more (default 20,000, a commit of about 0.3 s here) are settled, committed or rejected on
   * a thread of their own (commit-thread.ts). @throws GatewayError STORE_SCHEMA_TOO_NEW
   */
  static open(file: string, options: { clock: Clock; busyTimeoutMs: number; commitOnThreadFromRows?: number; pageCacheMiB?: number }): SqliteStore {
    mkdirSync(dirname(file), { recursive: true });
    const db = new Database(file, { timeout: options.busyTimeoutMs });
    // 16 KiB pages for a new database (an existing one keeps its own; WAL mode cannot change it): a
    // staging batch or a commit writes a quarter as many WAL frames, and a 1,000,000-record ingest
    // took 1.29x less time than on 4 KiB pages (docs/operators.md). 32 KiB was no faster.
    db.pragma(`page_size = ${pageSizeBytes}`);
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a commit survives a process crash; only an OS crash may lose the last commits,
    // and those files are replayed from the spool, whose bytes were fsynced before the receipt.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    // A page cache bounded whatever the file size, small because each connection (this one and the
    // commit thread's) has its own. A large commit's bulk inserts cost in their sorts, not in reads:
    // on the commit thread at 4,000,000 records, 8 MiB committed in 71.0 s and 16 MiB in 86.2 s (one
    // run each; peak RSS 189 and 197 MiB). The main connection stages, looks up and serves reads: with
    // 4 MiB a 1,000,000-record ingest staged as fast (34.2 s against 37.7) and peaked at 181 MiB RSS
    // instead of 212 with both at 16.
    db.pragma(`cache_size = -${(options.pageCacheMiB ?? 4) * 1024}`);
    // Deleted rows and freed pages are zeroed, not left in free space: a destroyed subject key, a
    // discarded staging run or purged findings must not be recoverable from the file.
    db.pragma('secure_delete = ON');
    migrate(db);
    return new SqliteStore(db, options.clock, { file, busyTimeoutMs: options.busyTimeoutMs, fromRows: options.commitOnThreadFromRows ?? 20_000 });
  }

  async close(): Promise<void> {
    await this.#commitThread?.close();
    this.#db.close();
  }

  /**
   * Resolves when no closing call runs on the commit thread. Every write on this connection awaits it first
   * and then runs without a further await: a write that met the thread's lock would wait on it with
   * the event loop blocked (better-sqlite3's busy wait is synchronous).
   */
  async #writable(): Promise<void> {
    while (this.#onThreadNow !== null) await this.#onThreadNow;
  }

  // ---- files -------------------------------------------------------------------------------

  async receiveFile(file: NewFile, audit: AuditDraft): Promise<ReceiveResult> {
    await this.#writable();
    return this.#db.transaction((): ReceiveResult => {
      const live = this.#st.liveFile.get(file.source, file.sha256) as FileDbRow | undefined;
      if (live !== undefined) return { outcome: 'existing', file: toFileRow(live) };
      this.#st.insertFile.run({ ...toDbFile(file), state: 'received', duplicate_of: null, ack: null, finished_at: null });
      this.#appendInTx([audit]);
      return { outcome: 'new', file: toFileRow(this.#st.getFile.get(file.receiptId) as FileDbRow) };
    }).immediate();
  }

  async recordDuplicate(file: NewFile & { duplicateOf: string; ack: string }, audit: AuditDraft): Promise<void> {
    await this.#writable();
    this.#db.transaction(() => {
      this.#st.insertFile.run({ ...toDbFile(file), state: 'duplicate', duplicate_of: file.duplicateOf, ack: file.ack, finished_at: file.receivedAt });
      this.#appendInTx([audit]);
    }).immediate();
  }

  async getFile(receiptId: string): Promise<FileRow | null> {
    const row = this.#st.getFile.get(receiptId) as FileDbRow | undefined;
    return row === undefined ? null : toFileRow(row);
  }

  async claimFile(receiptId: string, owner: string, nowMs: number, ttlMs: number, ownerIsDead: (owner: string) => boolean): Promise<Lease | null> {
    await this.#writable();
    return this.#db.transaction((): Lease | null => {
      const row = this.#st.getFile.get(receiptId) as FileDbRow | undefined;
      if (row === undefined || !isClaimable(row, owner, nowMs, ownerIsDead)) return null;
      return this.#claimInTx(row, owner, nowMs + ttlMs);
    }).immediate();
  }

  async claimNextFile(owner: string, nowMs: number, ttlMs: number, ownerIsDead: (owner: string) => boolean, exclude: readonly string[]): Promise<{ file: FileRow; lease: Lease } | null> {
    await this.#writable();
    return this.#db.transaction((): { file: FileRow; lease: Lease } | null => {
      const skip = new Set(exclude);
      const row = (this.#st.unfinished.all() as FileDbRow[]).find((r) => !skip.has(r.receipt_id) && isClaimable(r, owner, nowMs, ownerIsDead));
      if (row === undefined) return null;
      const lease = this.#claimInTx(row, owner, nowMs + ttlMs);
      return { file: toFileRow(this.#st.getFile.get(row.receipt_id) as FileDbRow), lease };
    }).immediate();
  }

  #claimInTx(row: FileDbRow, owner: string, untilMs: number): Lease {
    const token = row.lease_token + 1;
    this.#st.claim.run({ receipt_id: row.receipt_id, owner, token, until: untilMs });
    // Whatever an earlier attempt staged is discarded: the file is replayed from the spool.
    this.#st.clearRecords.run(row.receipt_id);
    this.#st.clearFindings.run(row.receipt_id);
    this.#st.clearStagedKeys.run(row.receipt_id);
    return { receiptId: row.receipt_id, owner, token };
  }

  async renewLease(lease: Lease, nowMs: number, ttlMs: number): Promise<boolean> {
    await this.#writable();
    return this.#st.renew.run({ receipt_id: lease.receiptId, token: lease.token, until: nowMs + ttlMs }).changes === 1;
  }

  /** Whether a file's closing calls go to the commit thread: it staged enough rows here. */
  #large(receiptId: string): boolean {
    return (this.#stagedRows.get(receiptId) ?? 0) >= this.#commits.fromRows;
  }

  /** A closing call on the commit thread; this connection's writes wait until it ends. */
  #onThread<K extends ClosingCall>(call: K, args: Parameters<ClosingCalls[K]>): ReturnType<ClosingCalls[K]> {
    this.#commitThread ??= new CommitThread(this.#commits.file, this.#commits.busyTimeoutMs);
    const running = this.#commitThread.run(call, args, this.#clock.now().getTime());
    const ended = (running as Promise<unknown>).then(() => undefined, () => undefined);
    this.#onThreadNow = ended;
    void ended.then(() => {
      if (this.#onThreadNow === ended) this.#onThreadNow = null;
    });
    return running;
  }

  async commitFile(lease: Lease, ack: string, finishedAt: string, audit: AuditDraft): Promise<'committed' | 'lease-lost' | 'subject-key-conflict'> {
    await this.#writable();
    const outcome = await (this.#large(lease.receiptId) ? this.#onThread('commitFile', [lease, ack, finishedAt, audit]) : this.#commitHere(lease, ack, finishedAt, audit));
    if (outcome === 'committed') this.#stagedRows.delete(lease.receiptId);
    return outcome;
  }

  #commitHere(lease: Lease, ack: string, finishedAt: string, audit: AuditDraft): 'committed' | 'lease-lost' | 'subject-key-conflict' {
    return this.#db.transaction((): 'committed' | 'lease-lost' | 'subject-key-conflict' => {
      // Checked inside the write transaction: no other commit can slip in between check and insert.
      if (this.#st.committedKeyConflict.get(lease.receiptId) !== undefined) return 'subject-key-conflict';
      const committed = this.#st.commit.get({ receipt_id: lease.receiptId, token: lease.token, ack, finished_at: finishedAt }) as { commit_seq: number; kind: RecordKind } | undefined;
      if (committed === undefined) return 'lease-lost';
      const { commit_seq: seq, kind } = committed;
      const steps = commitStepsFor(kind);
      // In token order, so that each page of the accounts and subjects indexes is written once per commit.
      if (steps.placeAccounts) {
        this.#st.upsertPlacedAccounts.run({ receipt_id: lease.receiptId, seq });
        this.#st.insertSubjectAccounts.run(lease.receiptId);
      }
      if (steps.recallAccounts) this.#st.markRecalledAccounts.run({ receipt_id: lease.receiptId, seq });
      if (steps.accountUpdates) this.#st.insertAccountUpdates.run({ receipt_id: lease.receiptId, seq });
      if (steps.subjectEvents) this.#st.insertSubjectEventsFromFile.run({ receipt_id: lease.receiptId, at: finishedAt });
      this.#st.insertFeedEventsFromFile.run({ receipt_id: lease.receiptId, at: finishedAt });
      if (steps.subjectFeedEvents) this.#st.insertSubjectFeedEventsFromFile.run({ receipt_id: lease.receiptId, at: finishedAt });
      this.#st.publishSubjectKeys.run({ receipt_id: lease.receiptId, at: finishedAt });
      this.#st.clearStagedKeys.run(lease.receiptId);
      this.#appendInTx([audit]);
      return 'committed';
    }).immediate();
  }

  async subjectKeyConflicts(receiptId: string): Promise<SubjectKeyConflict[]> {
    if (this.#large(receiptId)) return this.#onThread('subjectKeyConflicts', [receiptId]);
    const rows = this.#st.stagedKeyConflicts.all({ receipt_id: receiptId }) as Array<{ subject_token: string; committed: Buffer | null; wrapped_key: Buffer }>;
    const out = new Map<string, SubjectKeyConflict>();
    for (const r of rows) {
      const c = out.get(r.subject_token) ?? { subjectToken: r.subject_token, committed: r.committed, staged: [] };
      c.staged.push(r.wrapped_key);
      out.set(r.subject_token, c);
    }
    return [...out.values()];
  }

  async recordsOfSubjects(receiptId: string, subjectTokens: readonly string[]): Promise<Array<{ recordNo: number; subjectToken: string; vault: Buffer | null }>> {
    if (this.#large(receiptId)) return this.#onThread('recordsOfSubjects', [receiptId, subjectTokens]);
    const rows = this.#st.recordsOfSubjects.all(receiptId, JSON.stringify(subjectTokens)) as Array<{ record_no: number; subject_token: string; vault: Buffer | null }>;
    return rows.map((r) => ({ recordNo: r.record_no, subjectToken: r.subject_token, vault: r.vault }));
  }

  async settleSubjectKeys(lease: Lease, resealed: ReadonlyArray<{ recordNo: number; vault: Buffer }>, keep: ReadonlyMap<string, Buffer | null>): Promise<void> {
    if (this.#large(lease.receiptId)) return this.#onThread('settleSubjectKeys', [lease, resealed, keep]);
    await this.#writable();
    this.#db.transaction(() => {
      this.#assertLease(lease);
      for (const r of resealed) this.#st.updateVault.run(r.vault, lease.receiptId, r.recordNo);
      // One pass over the file's staged keys for the whole slice: they are not indexed by subject.
      this.#st.dropStagedKeys.run(lease.receiptId, JSON.stringify([...keep.keys()]));
      for (const [token, wrapped] of keep) if (wrapped !== null) this.#st.insertStagedKey.run(lease.receiptId, token, wrapped);
    }).immediate();
  }

  async rejectDuplicateAccounts(lease: Lease): Promise<number[]> {
    if (this.#large(lease.receiptId)) return this.#onThread('rejectDuplicateAccounts', [lease]);
    await this.#writable();
    return this.#db.transaction((): number[] => {
      this.#assertLease(lease);
      const duplicates = (this.#st.duplicateAccounts.all(lease.receiptId) as Array<{ record_no: number }>).map((r) => r.record_no);
      for (const n of duplicates) this.#st.deleteRecord.run(lease.receiptId, n);
      return duplicates;
    }).immediate();
  }

  async rejectFile(lease: Lease, ack: string, fileErrorCode: string, finishedAt: string, audit: AuditDraft): Promise<boolean> {
    if (this.#large(lease.receiptId)) {
      const rejected = await this.#onThread('rejectFile', [lease, ack, fileErrorCode, finishedAt, audit]);
      if (rejected) this.#stagedRows.delete(lease.receiptId);
      return rejected;
    }
    await this.#writable();
    return this.#db.transaction((): boolean => {
      const changed = this.#st.reject.run({ receipt_id: lease.receiptId, token: lease.token, ack, finished_at: finishedAt, file_error: fileErrorCode }).changes;
      if (changed !== 1) return false;
      this.#stagedRows.delete(lease.receiptId);
      this.#st.clearRecords.run(lease.receiptId);
      this.#st.clearFindings.run(lease.receiptId);
      this.#st.clearStagedKeys.run(lease.receiptId);
      this.#appendInTx([audit]);
      return true;
    }).immediate();
  }

  async listUnfinishedFiles(): Promise<FileRow[]> {
    return (this.#st.unfinished.all() as FileDbRow[]).map(toFileRow);
  }

  async fileCounts(): Promise<Array<{ source: string; state: FileState; count: number }>> {
    return this.#st.fileCounts.all() as Array<{ source: string; state: FileState; count: number }>;
  }

  // ---- staging -----------------------------------------------------------------------------

  async stage(lease: Lease, records: readonly StagedRecord[], findings: readonly StagedFinding[], newSubjectKeys?: ReadonlyMap<string, Buffer>): Promise<void> {
    await this.#writable();
    this.#db.transaction(() => {
      this.#assertLease(lease);
      for (const [token, wrapped] of newSubjectKeys ?? []) this.#st.insertStagedKey.run(lease.receiptId, token, wrapped);
      for (const r of records) this.#st.insertRecord.run(lease.receiptId, r.recordNo, r.kind, r.accountToken, r.subjectToken, r.data, r.vault, r.delinquencyDate, r.updateType, r.subjectState);
      let previous = -1;
      let seq = 0;
      for (const f of findings) {
        seq = f.record === previous ? seq + 1 : 0;
        previous = f.record;
        this.#st.insertFinding.run(lease.receiptId, f.record, seq, f.severity, f.field ?? null, f.code);
      }
    }).immediate();
    this.#stagedRows.set(lease.receiptId, (this.#stagedRows.get(lease.receiptId) ?? 0) + records.length);
  }

  /** Inside a transaction: the caller still holds the file's lease (fencing). */
  #assertLease(lease: Lease): void {
    const current = this.#st.leaseOf.get(lease.receiptId) as { lease_token: number; state: FileState } | undefined;
    if (current === undefined || current.state !== 'processing' || current.lease_token !== lease.token) {
      throw new GatewayError('PIPELINE_LEASE_LOST', { receiptId: lease.receiptId });
    }
  }

  async findingCounts(receiptId: string): Promise<{ rejectedRecords: number; errors: number; warnings: number }> {
    const row = this.#st.findingCounts.get(receiptId) as { rejected: number | null; errors: number | null; warnings: number | null };
    return { rejectedRecords: row.rejected ?? 0, errors: row.errors ?? 0, warnings: row.warnings ?? 0 };
  }

  async listFindings(receiptId: string, severity: 'error' | 'warning', limit: number): Promise<Rejection[]> {
    const rows = this.#st.listFindings.all(receiptId, severity, limit) as Array<{ record_no: number; field: string | null; code: RecordCode }>;
    return rows.map((r) => (r.field === null
      ? { record: r.record_no, code: r.code, message: recordCodes[r.code] }
      : { record: r.record_no, field: r.field, code: r.code, message: recordCodes[r.code] }));
  }

  async countStagedRecords(receiptId: string): Promise<number> {
    return (this.#st.countRecords.get(receiptId) as { n: number }).n;
  }

  async listRecords(receiptId: string, limit: number): Promise<StoredRecord[]> {
    const rows = this.#st.listRecords.all(receiptId, limit) as Array<{ record_no: number; kind: RecordKind; account_token: string; subject_token: string | null; data: string; vault: Buffer | null }>;
    return rows.map((r) => ({ recordNo: r.record_no, kind: r.kind, accountToken: r.account_token, subjectToken: r.subject_token, data: r.data, vault: r.vault }));
  }

  // ---- accounts ----------------------------------------------------------------------------

  async findAccounts(accountTokens: readonly string[]): Promise<Map<string, AccountState>> {
    const out = new Map<string, AccountState>();
    if (accountTokens.length === 0) return out;
    const rows = this.#st.findAccounts.all(JSON.stringify(accountTokens)) as Array<{ account_token: string; subject_token: string | null; status: AccountState['status']; delinquency_date: string | null }>;
    for (const r of rows) {
      out.set(r.account_token, { accountToken: r.account_token, subjectToken: r.subject_token, status: r.status, delinquencyDate: r.delinquency_date });
    }
    return out;
  }

  // ---- subjects ----------------------------------------------------------------------------

  async getSubjectKeys(subjectTokens: readonly string[]): Promise<Map<string, Buffer>> {
    const rows = this.#st.subjectKeys.all(JSON.stringify(subjectTokens)) as Array<{ subject_token: string; wrapped_key: Buffer }>;
    return new Map(rows.map((r) => [r.subject_token, r.wrapped_key]));
  }

  // ---- SFTP deliveries ---------------------------------------------------------------------

  // ---- SFTP source leases and deliveries ----------------------------------------------------

  async heartbeat(owner: string, nowMs: number, ttlMs: number): Promise<number> {
    await this.#writable();
    return this.#db.transaction((): number => {
      this.#st.upsertReplica.run({ owner, until_ms: nowMs + ttlMs });
      // Replicas gone for an hour are forgotten; the rest count while their heartbeat is live.
      this.#st.forgetReplicas.run(nowMs - 3_600_000);
      return (this.#st.liveReplicas.get(nowMs) as { n: number }).n;
    }).immediate();
  }

  async acquireSourceLease(source: string, owner: string, nowMs: number, ttlMs: number, maxHeld = Infinity): Promise<SourceLease | null> {
    await this.#writable();
    return this.#db.transaction((): SourceLease | null => {
      const row = this.#st.sourceLease.get(source) as SourceLeaseDbRow | undefined;
      const live = row !== undefined && row.until_ms > nowMs;
      if (live && row.owner !== owner) return null;
      const heldElsewhere = (this.#st.leasesHeld.get(owner, nowMs, source) as { n: number }).n;
      if (heldElsewhere >= maxHeld) {
        if (live) this.#st.releaseSourceLease.run({ source, owner, token: row.token });
        return null;
      }
      // Kept while live; taken anew (a new fence) when free or expired, even by its last holder.
      const token = live ? row.token : (row?.token ?? 0) + 1;
      this.#st.upsertSourceLease.run({ source, owner, token, until_ms: nowMs + ttlMs });
      return { source, owner, token };
    }).immediate();
  }

  async releaseSourceLease(lease: SourceLease): Promise<void> {
    await this.#writable();
    // Expired rather than deleted: the token only ever grows.
    this.#st.releaseSourceLease.run({ source: lease.source, owner: lease.owner, token: lease.token });
  }

  async listSourceLeases(nowMs: number): Promise<Array<SourceLease & { untilMs: number }>> {
    return (this.#st.liveSourceLeases.all(nowMs) as SourceLeaseDbRow[]).map((r) => ({ source: r.source, owner: r.owner, token: r.token, untilMs: r.until_ms }));
  }

  /** `fence` is the source's live polling lease; the step that follows is in the same transaction. */
  #assertSourceLease(fence: SourceLease): void {
    if (!holdsSourceLease(this.#st.sourceLease.get(fence.source) as SourceLeaseDbRow | undefined, fence, this.#clock.now().getTime())) {
      throw new GatewayError('SFTP_LEASE_LOST', { source: fence.source });
    }
  }

  async beginSftpDelivery(d: { source: string; remotePath: string; kind: RecordKind; sizeBytes: number; mtimeMs: number }, fence: SourceLease): Promise<SftpDelivery> {
    await this.#writable();
    return this.#db.transaction((): SftpDelivery => {
      this.#assertSourceLease(fence);
      this.#st.insertDelivery.run({ source: d.source, remote_path: d.remotePath, kind: d.kind, size_bytes: d.sizeBytes, mtime_ms: d.mtimeMs, created_at: this.#clock.now().toISOString() });
      return toDelivery(this.#st.openDelivery.get(d.source, d.remotePath, d.sizeBytes, d.mtimeMs) as DeliveryDbRow);
    }).immediate();
  }

  async linkSftpDelivery(id: number, receiptId: string, fence: SourceLease): Promise<void> {
    await this.#writable();
    this.#fenced(fence, () => this.#st.linkDelivery.run(receiptId, id));
  }

  async markSftpAckWritten(id: number, fence: SourceLease): Promise<void> {
    await this.#writable();
    this.#fenced(fence, () => this.#st.ackDelivery.run(id));
  }

  async finishSftpDelivery(id: number, fence: SourceLease): Promise<void> {
    await this.#writable();
    this.#fenced(fence, () => this.#st.finishDelivery.run(this.#clock.now().toISOString(), id));
  }

  #fenced(fence: SourceLease, step: () => unknown): void {
    this.#db.transaction(() => {
      this.#assertSourceLease(fence);
      step();
    }).immediate();
  }

  async unfinishedSftpDeliveries(source: string): Promise<SftpDelivery[]> {
    return (this.#st.unfinishedDeliveries.all(source) as DeliveryDbRow[]).map(toDelivery);
  }

  async findLiveFile(source: string, sha256: string): Promise<FileRow | null> {
    const row = this.#st.liveFile.get(source, sha256) as FileDbRow | undefined;
    return row === undefined ? null : toFileRow(row);
  }

  // ---- API idempotency --------------------------------------------------------------------

  async claimIdempotencyKey(caller: string, key: string, bodySha256: string, receiptId: string): Promise<{ bodySha256: string; receiptId: string } | null> {
    await this.#writable();
    return this.#db.transaction(() => {
      const existing = this.#st.findIdempotency.get(caller, key) as { body_sha256: string; receipt_id: string } | undefined;
      if (existing !== undefined) return { bodySha256: existing.body_sha256, receiptId: existing.receipt_id };
      this.#st.insertIdempotency.run(caller, key, bodySha256, receiptId, this.#clock.now().toISOString());
      return null;
    }).immediate();
  }

  async findIdempotencyKey(caller: string, key: string): Promise<{ bodySha256: string; receiptId: string } | null> {
    const row = this.#st.findIdempotency.get(caller, key) as { body_sha256: string; receipt_id: string } | undefined;
    return row === undefined ? null : { bodySha256: row.body_sha256, receiptId: row.receipt_id };
  }

  async ping(): Promise<void> {
    this.#st.ping.get();
  }

  // ---- release -----------------------------------------------------------------------------

  /**
   * Group commit: the reads that arrive in one turn of the event loop are decided and audited in one
   * write transaction (each in its own savepoint), so a burst of reads pays for one WAL commit rather
   * than one each. The audit entry still commits with the read it records, or neither does.
   */
  async release<T>(accountTokens: readonly string[], decide: (facts: ReadonlyMap<string, AccountFacts>) => Decided<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#releases.push({ accountTokens, decide, resolve: resolve as (v: unknown) => void, reject });
      if (this.#releases.length === 1) setImmediate(() => void this.#writable().then(() => this.#flushReleases()));
    });
  }

  #flushReleases(): void {
    const batch = this.#releases.splice(0);
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    const one = this.#db.transaction((job: PendingRelease) => {
      const { result, audit } = job.decide(this.#accountFacts(job.accountTokens));
      this.#appendInTx(audit);
      return result;
    });
    try {
      this.#db.transaction(() => {
        // Plain appends cannot fail one by one: they go in together, with no savepoint each (a
        // savepoint per entry halved the append rate); if they fail, the whole batch fails.
        this.#appendInTx(batch.flatMap((job) => job.appendOnly ?? []));
        for (const job of batch) {
          if (job.appendOnly !== undefined) {
            outcomes.push({ ok: true, value: undefined });
            continue;
          }
          try {
            outcomes.push({ ok: true, value: one(job) });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      }).immediate();
    } catch (error) {
      for (const job of batch) job.reject(error);
      return;
    }
    batch.forEach((job, i) => {
      const o = outcomes[i]!;
      if (o.ok) job.resolve(o.value);
      else job.reject(o.error);
    });
  }

  async releaseFeed<T>(
    page: { sources: readonly string[] | null; afterSeq: number; limit: number },
    decide: (events: readonly FeedEvent[], facts: ReadonlyMap<string, AccountFacts>) => Decided<T>,
  ): Promise<T> {
    await this.#writable();
    return this.#db.transaction((): T => {
      const rows = this.#st.feedPage.all({ after: page.afterSeq, limit: page.limit, sources: page.sources === null ? null : JSON.stringify(page.sources) }) as FeedDbRow[];
      const events = rows.map(toFeedEvent);
      const { result, audit } = decide(events, this.#accountFacts([...new Set(events.map((e) => e.accountToken))]));
      this.#appendInTx(audit);
      return result;
    }).immediate();
  }

  #accountFacts(accountTokens: readonly string[]): Map<string, AccountFacts> {
    const out = new Map<string, AccountFacts>();
    if (accountTokens.length === 0) return out;
    const tokens = JSON.stringify(accountTokens);
    for (const r of this.#st.accountFacts.all(tokens) as AccountFactsDbRow[]) {
      out.set(r.account_token, {
        accountToken: r.account_token, subjectToken: r.subject_token, source: r.source, status: r.status,
        placement: r.placement, placementVault: r.placement_vault, recall: r.recall, updates: [], wrappedKey: r.wrapped_key, subjectEvents: [],
        erased: r.erased_at !== null,
      });
    }
    for (const u of this.#st.accountUpdates.all(tokens) as Array<{ account_token: string; data: string; vault: Buffer | null }>) {
      out.get(u.account_token)?.updates.push({ data: u.data, vault: u.vault });
    }
    const bySubject = new Map<string, AccountFacts[]>();
    for (const f of out.values()) if (f.subjectToken !== null) bySubject.set(f.subjectToken, [...(bySubject.get(f.subjectToken) ?? []), f]);
    if (bySubject.size > 0) {
      for (const e of this.#st.subjectEvents.all(JSON.stringify([...bySubject.keys()])) as Array<{ subject_token: string; id: number; field: string; value: string }>) {
        for (const f of bySubject.get(e.subject_token)!) f.subjectEvents.push({ id: e.id, field: e.field, value: e.value });
      }
    }
    return out;
  }

  async recordSubjectChange(change: { subjectToken: string; changes: Readonly<Record<string, string>>; origin: string; at: string }, audit: AuditDraft): Promise<{ consentVersion: number; accounts: number } | null> {
    await this.#writable();
    return this.#db.transaction(() => {
      const accounts = this.#st.accountsOfSubject.all(change.subjectToken) as Array<{ account_token: string; source: string }>;
      if (accounts.length === 0) return null;
      let consentVersion = 0;
      for (const [field, value] of Object.entries(change.changes)) {
        consentVersion = Number(this.#st.insertSubjectEvent.run(change.subjectToken, field, value, change.origin, change.at).lastInsertRowid);
      }
      const kinds = new Set(Object.keys(change.changes).map((f) => (f.startsWith('consent_') ? 'subject.consent_changed' : 'subject.restricted')));
      for (const type of kinds) {
        const details = JSON.stringify(Object.fromEntries(Object.entries(change.changes).filter(([f]) => f.startsWith('consent_') === (type === 'subject.consent_changed'))));
        for (const a of accounts) this.#st.insertFeedEvent.run(type, a.source, a.account_token, change.subjectToken, details, change.at);
      }
      this.#appendInTx([audit]);
      return { consentVersion, accounts: accounts.length };
    }).immediate();
  }

  async acknowledgeFeed(recipient: string, seq: number): Promise<number> {
    await this.#writable();
    this.#st.ackFeed.run(recipient, seq, this.#clock.now().toISOString());
    return this.feedPosition(recipient);
  }

  async feedPosition(recipient: string): Promise<number> {
    return (this.#st.feedPosition.get(recipient) as { acked_seq: number } | undefined)?.acked_seq ?? 0;
  }

  async feedHead(): Promise<number> {
    return (this.#st.feedHead.get() as { seq: number | null }).seq ?? 0;
  }

  async overdueRecalls(recipients: ReadonlyArray<{ id: string; sources: readonly string[] | null }>, before: string): Promise<Array<{ recipient: string; count: number; oldestAt: string | null }>> {
    return recipients.map((r) => {
      const row = this.#st.overdueRecalls.get({ recipient: r.id, before, sources: r.sources === null ? null : JSON.stringify(r.sources) }) as { n: number; oldest: string | null };
      return { recipient: r.id, count: row.n, oldestAt: row.oldest };
    });
  }

  async savePolicy(version: string, body: string, audit: AuditDraft): Promise<boolean> {
    await this.#writable();
    return this.#db.transaction((): boolean => {
      if (this.#st.savePolicy.run(version, body, this.#clock.now().toISOString()).changes === 0) return false;
      this.#appendInTx([audit]);
      return true;
    }).immediate();
  }

  async getPolicy(version: string): Promise<string | null> {
    return (this.#st.getPolicy.get(version) as { body: string } | undefined)?.body ?? null;
  }

  // ---- officers ----------------------------------------------------------------------------

  async officerStats(range: { from: string; to: string }): Promise<OfficerStats> {
    const p = { from: range.from, to: range.to };
    return {
      accessesByDay: this.#st.accessesByDay.all(p) as OfficerStats['accessesByDay'],
      fieldsByRecipient: (this.#st.fieldsByRecipient.all(p) as Array<{ recipient: string; released: number | null; withheld: number | null }>)
        .map((r) => ({ recipient: r.recipient, released: r.released ?? 0, withheld: r.withheld ?? 0 })),
      topSubjects: (this.#st.topSubjects.all(p) as Array<{ subject_token: string; accesses: number }>).map((r) => ({ subjectToken: r.subject_token, accesses: r.accesses })),
    };
  }

  async subjectHoldings(subjectToken: string): Promise<SubjectHoldings | null> {
    return this.#holdings(subjectToken);
  }

  #holdings(subjectToken: string): SubjectHoldings | null {
    const accounts = this.#st.holdingsAccounts.all(subjectToken) as Array<{
      account_token: string; source: string; status: 'placed' | 'recalled'; purged_at: string | null; receipt_id: string; file_name: string;
      received_at: string; record_no: number; data: string; vault: Buffer | null; updates: number;
    }>;
    const erased = this.#st.erasedSubject.get(subjectToken) as { erased_at: string } | undefined;
    if (accounts.length === 0 && erased === undefined) return null;
    return {
      subjectToken,
      erasedAt: erased?.erased_at ?? null,
      accounts: accounts.map((a) => ({
        accountToken: a.account_token, source: a.source, status: a.status, purgedAt: a.purged_at, updates: a.updates,
        placement: { receiptId: a.receipt_id, fileName: a.file_name, receivedAt: a.received_at, recordNo: a.record_no, data: a.data, vault: a.vault },
      })),
      wrappedKey: (this.#st.subjectKeys.get(JSON.stringify([subjectToken])) as { wrapped_key: Buffer } | undefined)?.wrapped_key ?? null,
      subjectEvents: this.#st.subjectEventsFull.all(subjectToken) as SubjectHoldings['subjectEvents'],
      files: (this.#st.filesOfSubject.all(subjectToken) as Array<{ receipt_id: string; source: string; state: string; spool_path: string; spool_purged_at: string | null }>)
        .map((f) => ({ receiptId: f.receipt_id, source: f.source, state: f.state, spoolPath: f.spool_path, spoolPurgedAt: f.spool_purged_at })),
    };
  }

  async eraseSubject(subjectToken: string, by: string, at: string, audit: AuditDraft): Promise<SubjectHoldings['files'] | null> {
    await this.#writable();
    const files = this.#db.transaction((): SubjectHoldings['files'] | null => {
      const holdings = this.#holdings(subjectToken);
      if (holdings === null) return null;
      // secure_delete (set on open) zeroes the key's bytes rather than leaving them in free space.
      this.#st.deleteSubjectKey.run(subjectToken);
      this.#st.deleteStagedSubjectKey.run(subjectToken);
      this.#st.insertErased.run(subjectToken, at, by);
      this.#appendInTx([audit]);
      return holdings.files;
    }).immediate();
    // Move the zeroed pages from the WAL into the database and empty the WAL, so no old copy of the
    // page that held the key survives in it.
    if (files !== null) this.#db.pragma('wal_checkpoint(TRUNCATE)');
    return files;
  }

  async markSpoolPurged(receiptIds: readonly string[], at: string): Promise<void> {
    await this.#writable();
    this.#db.transaction(() => {
      for (const id of receiptIds) this.#st.markSpoolPurged.run(at, id);
    }).immediate();
  }

  async spoolsToPurge(before: string, limit: number): Promise<Array<{ receiptId: string; spoolPath: string }>> {
    return (this.#st.spoolsToPurge.all(before, limit) as Array<{ receipt_id: string; spool_path: string }>).map((r) => ({ receiptId: r.receipt_id, spoolPath: r.spool_path }));
  }

  async purgeFindings(before: string): Promise<number> {
    await this.#writable();
    return this.#st.purgeFindings.run(before).changes;
  }

  async purgeRecalledAccounts(before: string, at: string): Promise<number> {
    await this.#writable();
    return this.#db.transaction((): number => {
      const accounts = this.#st.recalledToPurge.all(before) as Array<{ account_token: string }>;
      for (const a of accounts) {
        this.#st.clearAccountVaults.run(a.account_token);
        this.#st.clearAccountUpdateVaults.run(a.account_token);
        this.#st.markAccountPurged.run(at, a.account_token);
      }
      return accounts.length;
    }).immediate();
  }

  // ---- audit -------------------------------------------------------------------------------

  /** Appends that arrive in one turn of the event loop share one write transaction (group commit). */
  async appendAudit(drafts: readonly AuditDraft[]): Promise<void> {
    await new Promise<unknown>((resolve, reject) => {
      this.#releases.push({ accountTokens: [], appendOnly: drafts, decide: () => ({ result: undefined, audit: [] }), resolve, reject });
      if (this.#releases.length === 1) setImmediate(() => void this.#writable().then(() => this.#flushReleases()));
    });
  }

  async addCheckpoint(c: Checkpoint): Promise<void> {
    await this.#writable();
    // Not itself audited: an entry per checkpoint would move the head it attests, forever.
    this.#st.insertCheckpoint.run(c.seq, c.hash, c.at, c.jws);
  }

  async listCheckpoints(fromSeq: number, toSeq: number): Promise<Checkpoint[]> {
    return this.#st.listCheckpoints.all(fromSeq, toSeq) as Checkpoint[];
  }

  async latestCheckpoint(): Promise<Checkpoint | null> {
    return (this.#st.latestCheckpoint.get() as Checkpoint | undefined) ?? null;
  }

  async queryAudit(f: AuditFilter): Promise<AuditEntry[]> {
    // Fixed fragments and bound parameters only: the filter's values never become SQL text.
    const where: string[] = [];
    const params: Record<string, string | number> = { limit: f.limit };
    const add = (clause: string, name: string, value: string | number | undefined) => {
      if (value === undefined) return;
      where.push(clause);
      params[name] = value;
    };
    add(`a.seq IN (SELECT seq FROM audit_subjects WHERE subject_token = @subject
      UNION ALL SELECT seq FROM audit_subject_tail WHERE subject_token = @subject)`, 'subject', f.subjectToken);
    add('a.actor = @actor', 'actor', f.actor);
    add('a.action = @action', 'action', f.action);
    add("json_extract(a.details, '$.purpose') = @purpose", 'purpose', f.purpose);
    add('a.at >= @from', 'from', f.from);
    add('a.at < @to', 'to', f.to);
    add('a.seq < @before', 'before', f.beforeSeq);
    const sql = `SELECT * FROM audit_log a ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`} ORDER BY a.seq DESC LIMIT @limit`;
    return (this.#db.prepare(sql).all(params) as AuditDbRow[]).map(toAuditEntry);
  }

  async readAudit(fromSeq: number, toSeq: number): Promise<AuditEntry[]> {
    return (this.#st.readAudit.all(fromSeq, toSeq) as AuditDbRow[]).map(toAuditEntry);
  }

  async auditHead(): Promise<{ seq: number; hash: string }> {
    return this.#head();
  }

  #head(): { seq: number; hash: string } {
    const row = this.#st.auditHead.get() as { seq: number; hash: string } | undefined;
    return row ?? { seq: 0, hash: genesisHash };
  }

  /**
   * Moves the recent (entry, subject) pairs from the append-only tail into the subject index, sorted:
   * one pass over the index's pages per few thousand entries, where inserting each pair as it came
   * rewrote a random index page per read (1,213 → 1,843 reads/s measured).
   */
  #indexAuditSubjects(): void {
    this.#st.indexAuditSubjects.run();
    this.#st.clearAuditSubjectTail.run();
    this.#appendsSinceIndexed = 0;
  }

  /** Must run inside a write transaction: the head read and the inserts are then serialised. */
  #appendInTx(drafts: readonly AuditDraft[]): void {
    if (drafts.length === 0) return;
    for (const e of chainEntries(this.#head(), drafts, this.#clock.now().toISOString())) {
      this.#st.insertAudit.run(e.seq, e.at, e.actor, e.action, e.target, e.detailsJson, e.prevHash, e.hash);
      for (const subject of subjectsOf(e)) this.#st.insertAuditSubjectTail.run(e.seq, subject);
    }
    this.#appendsSinceIndexed += drafts.length;
    if (this.#appendsSinceIndexed >= subjectIndexEvery) this.#indexAuditSubjects();
  }

  // ---- shared security limits and officer sessions -------------------------------------------

  async takeRate(key: string, limit: number, windowMs: number, nowMs: number, n = 1): Promise<boolean> {
    await this.#writable();
    // BEGIN IMMEDIATE: the count and the insert are one step for every process on the file.
    return this.#db.transaction((): boolean => {
      const { used } = this.#st.rateUsed.get(key, nowMs - windowMs) as { used: number };
      if (used + n > limit) return false;
      if (n > 0) this.#st.insertRateEvent.run(key, nowMs, n, nowMs + windowMs);
      this.#st.pruneRateEvents.run(nowMs, rateEventsPrunedPerTake);
      return true;
    }).immediate();
  }

  async createOfficerSession(session: StoredOfficerSession, limits: OfficerSessionLimits): Promise<void> {
    await this.#writable();
    this.#db.transaction(() => {
      this.#st.sweepOfficerSessions.run({ now: session.createdMs, idle: limits.idleMs, absolute: limits.absoluteMs });
      const { n } = this.#st.countOfficerSessions.get() as { n: number };
      if (n >= limits.max) this.#st.evictOldestOfficerSessions.run(n - limits.max + 1);
      this.#st.insertOfficerSession.run({ id: session.idSha256, officer: session.officer, csrf: session.csrf, created: session.createdMs, last_seen: session.lastSeenMs });
    }).immediate();
  }

  async touchOfficerSession(idSha256: string, nowMs: number, limits: Pick<OfficerSessionLimits, 'idleMs' | 'absoluteMs'>): Promise<StoredOfficerSession | null> {
    await this.#writable();
    return this.#db.transaction((): StoredOfficerSession | null => {
      const row = this.#st.touchOfficerSession.get({ id: idSha256, now: nowMs, idle: limits.idleMs, absolute: limits.absoluteMs }) as OfficerSessionDbRow | undefined;
      if (row !== undefined) return toOfficerSession(row);
      // Unknown, or expired (a live one would have been touched): an expired row goes at once.
      this.#st.deleteOfficerSession.run(idSha256);
      return null;
    }).immediate();
  }

  async deleteOfficerSession(idSha256: string): Promise<void> {
    await this.#writable();
    this.#st.deleteOfficerSession.run(idSha256);
  }
}

/** Where the commit thread opens its connection, and which files' commits go to it. */
interface CommitSettings {
  readonly file: string;
  readonly busyTimeoutMs: number;
  readonly fromRows: number;
}

function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const latestKnown = sqliteMigrations[sqliteMigrations.length - 1]!.version;
  db.transaction(() => {
    const applied = (db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
    if (applied > latestKnown) throw new GatewayError('STORE_SCHEMA_TOO_NEW', { databaseVersion: applied, codeVersion: latestKnown });
    for (const m of sqliteMigrations) {
      if (m.version <= applied) continue;
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
    }
  }).immediate();
}

/** The page size of databases this code creates. */
export const pageSizeBytes = 16_384;

/** How many appends go to the audit subject tail before it is moved into the index. */
const subjectIndexEvery = 2_000;

const releaseActionList = releaseActions.map((a) => `'${a}'`).join(',');

function prepare(db: Database.Database) {
  return {
    liveFile: db.prepare(`SELECT * FROM files WHERE source = ? AND sha256 = ? AND state NOT IN ('rejected','duplicate')`),
    getFile: db.prepare('SELECT * FROM files WHERE receipt_id = ?'),
    insertFile: db.prepare(`INSERT INTO files (receipt_id, source, kind, channel, envelope, file_name, sha256, size_bytes, spool_path, received_at, state, duplicate_of, ack, finished_at)
      VALUES (@receipt_id, @source, @kind, @channel, @envelope, @file_name, @sha256, @size_bytes, @spool_path, @received_at, @state, @duplicate_of, @ack, @finished_at)`),
    claim: db.prepare(`UPDATE files SET state = 'processing', lease_owner = @owner, lease_token = @token, lease_until_ms = @until, attempts = attempts + 1 WHERE receipt_id = @receipt_id`),
    renew: db.prepare(`UPDATE files SET lease_until_ms = @until WHERE receipt_id = @receipt_id AND lease_token = @token AND state = 'processing'`),
    commit: db.prepare(`UPDATE files SET state = 'committed', ack = @ack, finished_at = @finished_at, lease_owner = NULL, lease_until_ms = NULL,
      commit_seq = (SELECT COALESCE(MAX(commit_seq), 0) + 1 FROM files) WHERE receipt_id = @receipt_id AND lease_token = @token AND state = 'processing'
      RETURNING commit_seq, kind`),
    reject: db.prepare(`UPDATE files SET state = 'rejected', ack = @ack, finished_at = @finished_at, file_error = @file_error, lease_owner = NULL, lease_until_ms = NULL
      WHERE receipt_id = @receipt_id AND lease_token = @token AND state = 'processing'`),
    unfinished: db.prepare(`SELECT * FROM files WHERE state IN ('received','processing') ORDER BY received_at`),
    fileCounts: db.prepare('SELECT source, state, COUNT(*) AS count FROM files GROUP BY source, state ORDER BY source, state'),
    leaseOf: db.prepare('SELECT lease_token, state FROM files WHERE receipt_id = ?'),
    clearRecords: db.prepare('DELETE FROM records WHERE receipt_id = ?'),
    clearFindings: db.prepare('DELETE FROM findings WHERE receipt_id = ?'),
    insertRecord: db.prepare(`INSERT INTO records (receipt_id, record_no, kind, account_token, subject_token, data, vault, delinquency_date, update_type, subject_state)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    deleteRecord: db.prepare('DELETE FROM records WHERE receipt_id = ? AND record_no = ?'),
    duplicateAccounts: db.prepare(`SELECT record_no FROM (SELECT record_no, ROW_NUMBER() OVER (PARTITION BY account_token ORDER BY record_no) AS nth
      FROM records WHERE receipt_id = ? AND kind IN ('placement','recall')) WHERE nth > 1 ORDER BY record_no`),
    upsertPlacedAccounts: db.prepare(`INSERT INTO accounts (account_token, subject_token, status, delinquency_date, placement_receipt, placement_record, commit_seq, source)
      SELECT account_token, subject_token, 'placed', delinquency_date, receipt_id, record_no, @seq,
        (SELECT source FROM files WHERE receipt_id = @receipt_id)
      FROM records WHERE receipt_id = @receipt_id AND kind = 'placement' ORDER BY account_token
      ON CONFLICT (account_token) DO UPDATE SET subject_token = excluded.subject_token, status = 'placed', delinquency_date = excluded.delinquency_date,
        placement_receipt = excluded.placement_receipt, placement_record = excluded.placement_record, commit_seq = excluded.commit_seq,
        source = excluded.source, recall_receipt = NULL, recall_record = NULL`),
    // In subject order, so that each page of subject_accounts is written once per commit.
    insertSubjectAccounts: db.prepare(`INSERT OR IGNORE INTO subject_accounts (subject_token, account_token)
      SELECT subject_token, account_token FROM records WHERE receipt_id = ? AND kind = 'placement' AND subject_token IS NOT NULL
      ORDER BY subject_token, account_token`),
    markRecalledAccounts: db.prepare(`UPDATE accounts SET status = 'recalled', commit_seq = @seq, recall_receipt = r.receipt_id, recall_record = r.record_no
      FROM (SELECT account_token, receipt_id, record_no FROM records WHERE receipt_id = @receipt_id AND kind = 'recall') AS r
      WHERE accounts.account_token = r.account_token`),
    insertAccountUpdates: db.prepare(`INSERT INTO account_updates (account_token, commit_seq, record_no, receipt_id)
      SELECT account_token, @seq, record_no, receipt_id FROM records WHERE receipt_id = @receipt_id AND kind = 'update' ORDER BY account_token, record_no`),
    // What each record sets of its subject's state (pipeline/record-facts.ts says which values count).
    insertSubjectEventsFromFile: db.prepare(`INSERT INTO subject_events (subject_token, field, value, origin, at)
      SELECT r.subject_token, j.key, j.value, 'file:' || r.receipt_id || '#' || r.record_no, @at
      FROM records r, json_each(r.subject_state) j
      WHERE r.receipt_id = @receipt_id AND r.subject_state IS NOT NULL AND r.subject_token IS NOT NULL
      ORDER BY r.subject_token, r.record_no, j.id`),
    insertFeedEventsFromFile: db.prepare(`INSERT INTO feed_events (type, source, account_token, subject_token, receipt_id, record_no, at)
      SELECT CASE r.kind WHEN 'placement' THEN 'account.placed' WHEN 'recall' THEN 'account.recalled'
          ELSE CASE r.update_type WHEN 'restriction' THEN 'subject.restricted' WHEN 'consent' THEN 'subject.consent_changed' ELSE 'account.updated' END END,
        f.source, r.account_token, r.subject_token, r.receipt_id, r.record_no, @at
      FROM records r JOIN files f ON f.receipt_id = r.receipt_id WHERE r.receipt_id = @receipt_id ORDER BY r.record_no`),
    // A restriction or consent is the subject's: every other account of the subject hears of it too.
    insertSubjectFeedEventsFromFile: db.prepare(`INSERT INTO feed_events (type, source, account_token, subject_token, receipt_id, record_no, at)
      SELECT CASE r.update_type WHEN 'restriction' THEN 'subject.restricted' ELSE 'subject.consent_changed' END,
        a.source, a.account_token, a.subject_token, r.receipt_id, r.record_no, @at
      FROM records r JOIN subject_accounts sa ON sa.subject_token = r.subject_token
        JOIN accounts a ON a.account_token = sa.account_token AND a.subject_token = sa.subject_token AND a.account_token <> r.account_token
      WHERE r.receipt_id = @receipt_id AND r.kind = 'update' AND r.update_type IN ('restriction','consent')
      ORDER BY r.record_no, a.account_token`),
    findAccounts: db.prepare('SELECT account_token, subject_token, status, delinquency_date FROM accounts WHERE account_token IN (SELECT value FROM json_each(?))'),
    insertFinding: db.prepare('INSERT INTO findings (receipt_id, record_no, seq, severity, field, code) VALUES (?, ?, ?, ?, ?, ?)'),
    findingCounts: db.prepare(`SELECT COUNT(DISTINCT CASE WHEN severity = 'error' THEN record_no END) AS rejected,
      SUM(severity = 'error') AS errors, SUM(severity = 'warning') AS warnings FROM findings WHERE receipt_id = ?`),
    listFindings: db.prepare('SELECT record_no, field, code FROM findings WHERE receipt_id = ? AND severity = ? ORDER BY record_no, seq LIMIT ?'),
    listRecords: db.prepare('SELECT record_no, kind, account_token, subject_token, data, vault FROM records WHERE receipt_id = ? ORDER BY record_no LIMIT ?'),
    countRecords: db.prepare('SELECT COUNT(*) AS n FROM records WHERE receipt_id = ?'),
    subjectKeys: db.prepare('SELECT subject_token, wrapped_key FROM subjects WHERE subject_token IN (SELECT value FROM json_each(?))'),
    insertStagedKey: db.prepare('INSERT INTO staged_subject_keys (receipt_id, subject_token, wrapped_key) VALUES (?, ?, ?)'),
    dropStagedKeys: db.prepare('DELETE FROM staged_subject_keys WHERE receipt_id = ? AND subject_token IN (SELECT value FROM json_each(?))'),
    clearStagedKeys: db.prepare('DELETE FROM staged_subject_keys WHERE receipt_id = ?'),
    committedKeyConflict: db.prepare(`SELECT 1 FROM staged_subject_keys s JOIN subjects t ON t.subject_token = s.subject_token
      WHERE s.receipt_id = ? AND t.wrapped_key <> s.wrapped_key LIMIT 1`),
    stagedKeyConflicts: db.prepare(`SELECT s.subject_token, t.wrapped_key AS committed, s.wrapped_key FROM staged_subject_keys s
      LEFT JOIN subjects t ON t.subject_token = s.subject_token
      WHERE s.receipt_id = @receipt_id AND (t.wrapped_key <> s.wrapped_key OR s.subject_token IN (
        SELECT subject_token FROM staged_subject_keys WHERE receipt_id = @receipt_id GROUP BY subject_token HAVING COUNT(*) > 1))
      ORDER BY s.subject_token, s.id`),
    publishSubjectKeys: db.prepare(`INSERT INTO subjects (subject_token, wrapped_key, created_at)
      SELECT subject_token, wrapped_key, @at FROM staged_subject_keys WHERE receipt_id = @receipt_id ORDER BY subject_token
      ON CONFLICT (subject_token) DO NOTHING`),
    recordsOfSubjects: db.prepare('SELECT record_no, subject_token, vault FROM records WHERE receipt_id = ? AND subject_token IN (SELECT value FROM json_each(?))'),
    updateVault: db.prepare('UPDATE records SET vault = ? WHERE receipt_id = ? AND record_no = ?'),
    insertDelivery: db.prepare(`INSERT INTO sftp_deliveries (source, remote_path, kind, size_bytes, mtime_ms, created_at)
      VALUES (@source, @remote_path, @kind, @size_bytes, @mtime_ms, @created_at) ON CONFLICT DO NOTHING`),
    openDelivery: db.prepare('SELECT * FROM sftp_deliveries WHERE source = ? AND remote_path = ? AND size_bytes = ? AND mtime_ms = ? AND finished_at IS NULL'),
    linkDelivery: db.prepare('UPDATE sftp_deliveries SET receipt_id = ? WHERE id = ?'),
    ackDelivery: db.prepare('UPDATE sftp_deliveries SET ack_written = 1 WHERE id = ?'),
    finishDelivery: db.prepare('UPDATE sftp_deliveries SET finished_at = ? WHERE id = ? AND finished_at IS NULL'),
    unfinishedDeliveries: db.prepare('SELECT * FROM sftp_deliveries WHERE source = ? AND finished_at IS NULL ORDER BY id'),
    sourceLease: db.prepare('SELECT * FROM source_leases WHERE source = ?'),
    upsertSourceLease: db.prepare(`INSERT INTO source_leases (source, owner, token, until_ms) VALUES (@source, @owner, @token, @until_ms)
      ON CONFLICT (source) DO UPDATE SET owner = excluded.owner, token = excluded.token, until_ms = excluded.until_ms`),
    releaseSourceLease: db.prepare('UPDATE source_leases SET until_ms = 0 WHERE source = @source AND owner = @owner AND token = @token'),
    liveSourceLeases: db.prepare('SELECT * FROM source_leases WHERE until_ms > ? ORDER BY source'),
    leasesHeld: db.prepare('SELECT COUNT(*) AS n FROM source_leases WHERE owner = ? AND until_ms > ? AND source <> ?'),
    upsertReplica: db.prepare('INSERT INTO replicas (owner, until_ms) VALUES (@owner, @until_ms) ON CONFLICT (owner) DO UPDATE SET until_ms = excluded.until_ms'),
    forgetReplicas: db.prepare('DELETE FROM replicas WHERE until_ms < ?'),
    liveReplicas: db.prepare('SELECT COUNT(*) AS n FROM replicas WHERE until_ms > ?'),
    findIdempotency: db.prepare('SELECT body_sha256, receipt_id FROM idempotency_keys WHERE caller = ? AND key = ?'),
    insertIdempotency: db.prepare('INSERT INTO idempotency_keys (caller, key, body_sha256, receipt_id, created_at) VALUES (?, ?, ?, ?, ?)'),
    accountFacts: db.prepare(`SELECT a.account_token, a.subject_token, a.source, a.status, p.data AS placement, p.vault AS placement_vault,
        rc.data AS recall, s.wrapped_key, e.erased_at
      FROM accounts a JOIN records p ON p.receipt_id = a.placement_receipt AND p.record_no = a.placement_record
      LEFT JOIN records rc ON rc.receipt_id = a.recall_receipt AND rc.record_no = a.recall_record
      LEFT JOIN subjects s ON s.subject_token = a.subject_token
      LEFT JOIN erased_subjects e ON e.subject_token = a.subject_token
      WHERE a.account_token IN (SELECT value FROM json_each(?))`),
    // Updates made before the account's latest placement belong to an earlier placement.
    accountUpdates: db.prepare(`SELECT u.account_token, r.data, r.vault FROM account_updates u
      JOIN accounts a ON a.account_token = u.account_token JOIN files pf ON pf.receipt_id = a.placement_receipt
      JOIN records r ON r.receipt_id = u.receipt_id AND r.record_no = u.record_no
      WHERE u.account_token IN (SELECT value FROM json_each(?)) AND u.commit_seq > pf.commit_seq
      ORDER BY u.account_token, u.commit_seq, u.record_no`),
    subjectEvents: db.prepare(`SELECT subject_token, id, field, value FROM subject_events
      WHERE subject_token IN (SELECT value FROM json_each(?)) ORDER BY subject_token, id`),
    // Through subject_accounts (migration 13); a stale row (the account moved to another subject) joins nothing.
    accountsOfSubject: db.prepare(`SELECT a.account_token, a.source FROM subject_accounts sa
      JOIN accounts a ON a.account_token = sa.account_token AND a.subject_token = sa.subject_token
      WHERE sa.subject_token = ? ORDER BY a.account_token`),
    insertSubjectEvent: db.prepare('INSERT INTO subject_events (subject_token, field, value, origin, at) VALUES (?, ?, ?, ?, ?)'),
    insertFeedEvent: db.prepare('INSERT INTO feed_events (type, source, account_token, subject_token, details, at) VALUES (?, ?, ?, ?, ?, ?)'),
    feedPage: db.prepare(`SELECT e.seq, e.type, e.source, e.account_token, e.at, COALESCE(e.details, r.data) AS changes, e.receipt_id
      FROM feed_events e LEFT JOIN records r ON r.receipt_id = e.receipt_id AND r.record_no = e.record_no AND r.kind = 'update'
      WHERE e.seq > @after AND (@sources IS NULL OR e.source IN (SELECT value FROM json_each(@sources)))
      ORDER BY e.seq LIMIT @limit`),
    ackFeed: db.prepare(`INSERT INTO recipient_positions (recipient, acked_seq, updated_at) VALUES (?, ?, ?)
      ON CONFLICT (recipient) DO UPDATE SET acked_seq = MAX(acked_seq, excluded.acked_seq), updated_at = excluded.updated_at`),
    feedPosition: db.prepare('SELECT acked_seq FROM recipient_positions WHERE recipient = ?'),
    feedHead: db.prepare('SELECT MAX(seq) AS seq FROM feed_events'),
    overdueRecalls: db.prepare(`SELECT COUNT(*) AS n, MIN(e.at) AS oldest FROM feed_events e
      WHERE e.type = 'account.recalled' AND e.at < @before
        AND e.seq > COALESCE((SELECT acked_seq FROM recipient_positions WHERE recipient = @recipient), 0)
        AND (@sources IS NULL OR e.source IN (SELECT value FROM json_each(@sources)))`),
    savePolicy: db.prepare('INSERT INTO policies (version, body, created_at) VALUES (?, ?, ?) ON CONFLICT (version) DO NOTHING'),
    getPolicy: db.prepare('SELECT body FROM policies WHERE version = ?'),
    accessesByDay: db.prepare(`SELECT substr(at, 1, 10) AS day, substr(actor, 11) AS recipient, COALESCE(json_extract(details, '$.purpose'), '') AS purpose, COUNT(*) AS count
      FROM audit_log WHERE at >= @from AND at < @to AND action IN (${releaseActionList}) AND actor LIKE 'recipient:%'
      GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`),
    fieldsByRecipient: db.prepare(`SELECT substr(a.actor, 11) AS recipient, SUM(json_array_length(i.value, '$.released')) AS released,
        SUM((SELECT COUNT(*) FROM json_each(i.value, '$.withheld'))) AS withheld
      FROM audit_log a, json_each(a.details, '$.items') i
      WHERE a.at >= @from AND a.at < @to AND a.action IN (${releaseActionList}) AND a.actor LIKE 'recipient:%' GROUP BY 1 ORDER BY 1`),
    topSubjects: db.prepare(`SELECT s.subject_token, COUNT(*) AS accesses
      FROM (SELECT subject_token, seq FROM audit_subjects UNION ALL SELECT subject_token, seq FROM audit_subject_tail) s JOIN audit_log a ON a.seq = s.seq
      WHERE a.at >= @from AND a.at < @to AND a.action IN (${releaseActionList}) GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10`),
    holdingsAccounts: db.prepare(`SELECT a.account_token, a.source, a.status, a.purged_at, f.receipt_id, f.file_name, f.received_at, r.record_no, r.data, r.vault,
        (SELECT COUNT(*) FROM account_updates u WHERE u.account_token = a.account_token) AS updates
      FROM subject_accounts sa JOIN accounts a ON a.account_token = sa.account_token AND a.subject_token = sa.subject_token
      JOIN records r ON r.receipt_id = a.placement_receipt AND r.record_no = a.placement_record
      JOIN files f ON f.receipt_id = a.placement_receipt WHERE sa.subject_token = ? ORDER BY f.received_at, a.account_token`),
    erasedSubject: db.prepare('SELECT erased_at FROM erased_subjects WHERE subject_token = ?'),
    subjectEventsFull: db.prepare('SELECT id, field, value, origin, at FROM subject_events WHERE subject_token = ? ORDER BY id'),
    // records has no subject index (staging speed); a full scan is acceptable for an officer's request.
    filesOfSubject: db.prepare(`SELECT f.receipt_id, f.source, f.state, f.spool_path, f.spool_purged_at FROM files f
      WHERE f.receipt_id IN (SELECT DISTINCT receipt_id FROM records WHERE subject_token = ?) ORDER BY f.received_at`),
    deleteSubjectKey: db.prepare('DELETE FROM subjects WHERE subject_token = ?'),
    deleteStagedSubjectKey: db.prepare('DELETE FROM staged_subject_keys WHERE subject_token = ?'),
    insertErased: db.prepare('INSERT OR IGNORE INTO erased_subjects (subject_token, erased_at, erased_by) VALUES (?, ?, ?)'),
    markSpoolPurged: db.prepare('UPDATE files SET spool_purged_at = ? WHERE receipt_id = ? AND spool_purged_at IS NULL'),
    spoolsToPurge: db.prepare(`SELECT receipt_id, spool_path FROM files WHERE state IN ('committed','rejected','duplicate')
      AND spool_purged_at IS NULL AND finished_at < ? ORDER BY finished_at LIMIT ?`),
    purgeFindings: db.prepare(`DELETE FROM findings WHERE receipt_id IN (SELECT receipt_id FROM files WHERE state IN ('committed','rejected') AND finished_at < ?)`),
    recalledToPurge: db.prepare(`SELECT a.account_token FROM accounts a JOIN files f ON f.receipt_id = a.recall_receipt
      WHERE a.status = 'recalled' AND a.purged_at IS NULL AND f.finished_at < ?`),
    clearAccountVaults: db.prepare(`UPDATE records SET vault = NULL WHERE vault IS NOT NULL AND (receipt_id, record_no) IN
      (SELECT placement_receipt, placement_record FROM accounts WHERE account_token = ?)`),
    clearAccountUpdateVaults: db.prepare(`UPDATE records SET vault = NULL WHERE vault IS NOT NULL AND (receipt_id, record_no) IN
      (SELECT receipt_id, record_no FROM account_updates WHERE account_token = ?)`),
    markAccountPurged: db.prepare('UPDATE accounts SET purged_at = ? WHERE account_token = ?'),
    ping: db.prepare('SELECT 1'),
    auditHead: db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1'),
    insertAudit: db.prepare('INSERT INTO audit_log (seq, at, actor, action, target, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    readAudit: db.prepare('SELECT * FROM audit_log WHERE seq BETWEEN ? AND ? ORDER BY seq'),
    insertAuditSubjectTail: db.prepare('INSERT INTO audit_subject_tail (seq, subject_token) VALUES (?, ?)'),
    indexAuditSubjects: db.prepare('INSERT OR IGNORE INTO audit_subjects (subject_token, seq) SELECT subject_token, seq FROM audit_subject_tail ORDER BY subject_token, seq'),
    clearAuditSubjectTail: db.prepare('DELETE FROM audit_subject_tail'),
    insertCheckpoint: db.prepare('INSERT OR IGNORE INTO audit_checkpoints (seq, hash, at, jws) VALUES (?, ?, ?, ?)'),
    listCheckpoints: db.prepare('SELECT seq, hash, at, jws FROM audit_checkpoints WHERE seq BETWEEN ? AND ? ORDER BY seq'),
    latestCheckpoint: db.prepare('SELECT seq, hash, at, jws FROM audit_checkpoints ORDER BY seq DESC LIMIT 1'),
    rateUsed: db.prepare('SELECT COALESCE(SUM(n), 0) AS used FROM rate_events WHERE key = ? AND at_ms > ?'),
    insertRateEvent: db.prepare('INSERT INTO rate_events (key, at_ms, n, until_ms) VALUES (?, ?, ?, ?)'),
    pruneRateEvents: db.prepare('DELETE FROM rate_events WHERE id IN (SELECT id FROM rate_events WHERE until_ms <= ? ORDER BY until_ms LIMIT ?)'),
    sweepOfficerSessions: db.prepare('DELETE FROM officer_sessions WHERE last_seen_ms < @now - @idle OR created_ms < @now - @absolute'),
    countOfficerSessions: db.prepare('SELECT COUNT(*) AS n FROM officer_sessions'),
    evictOldestOfficerSessions: db.prepare('DELETE FROM officer_sessions WHERE id_sha256 IN (SELECT id_sha256 FROM officer_sessions ORDER BY created_ms, id_sha256 LIMIT ?)'),
    insertOfficerSession: db.prepare(`INSERT INTO officer_sessions (id_sha256, officer, csrf, created_ms, last_seen_ms)
      VALUES (@id, @officer, @csrf, @created, @last_seen)`),
    // Live: seen within the idle timeout and younger than the absolute one (sessions.ts's rule, inclusive).
    touchOfficerSession: db.prepare(`UPDATE officer_sessions SET last_seen_ms = MAX(last_seen_ms, @now)
      WHERE id_sha256 = @id AND last_seen_ms >= @now - @idle AND created_ms >= @now - @absolute
      RETURNING id_sha256, officer, csrf, created_ms, last_seen_ms`),
    deleteOfficerSession: db.prepare('DELETE FROM officer_sessions WHERE id_sha256 = ?'),
  };
}



function toDbFile(f: NewFile) {
  return { receipt_id: f.receiptId, source: f.source, kind: f.kind, channel: f.channel, envelope: f.envelope, file_name: f.fileName, sha256: f.sha256, size_bytes: f.sizeBytes, spool_path: f.spoolPath, received_at: f.receivedAt };
}

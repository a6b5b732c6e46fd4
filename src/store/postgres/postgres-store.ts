import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { PoolClient, QueryResultRow } from 'pg';
import type { Config, RecordKind } from '../../config/types.js';
import { chainEntries, genesisHash, type AuditDraft, type AuditEntry } from '../../audit/chain.js';
import type { Checkpoint } from '../../audit/checkpoint.js';
import { GatewayError, type Rejection } from '../../errors/gateway-error.js';
import type { RecordCode } from '../../errors/codes.js';
import { recordCodes } from '../../errors/codes.js';
import type { Clock } from '../../lib/clock.js';
import type { FileState } from '../../pipeline/file-states.js';
import { postgresMigrations } from '../migrations/postgres.js';
import { copyRows, type CopyTarget } from './copy.js';
import { commitStepsFor, holdsSourceLease, isClaimable, rateEventsPrunedPerTake, toOfficerSession, type OfficerSessionDbRow, releaseActions, subjectsOf, toAuditEntry, toDelivery, toFeedEvent, toFileRow, type AccountFactsDbRow, type AuditDbRow, type DeliveryDbRow, type FeedDbRow, type FileDbRow, type PendingRelease, type SourceLeaseDbRow } from '../rows.js';
import type { AccountFacts, AccountState, AuditFilter, Decided, OfficerStats, SubjectHoldings, FeedEvent, FileRow, Lease, NewFile, ReceiveResult, SftpDelivery, SourceLease, StagedFinding, StagedRecord, Store, StoredRecord, SubjectKeyConflict } from '../store.js';
import type { OfficerSessionLimits, StoredOfficerSession } from '../store.js';

/** Runs one statement, in a transaction or on the pool, and returns its rows. */
type Query = <R extends QueryResultRow>(sql: string, params?: readonly unknown[]) => Promise<R[]>;

/** `{ schema }` becomes a search_path: an identifier, which SQL cannot bind as a parameter, so it is checked instead. */
const schemaName = /^[a-z_][a-z0-9_]{0,62}$/;

/** Actions that release data to a reader (for the officer's statistics). */

/**
 * BIGINT (int8) columns hold sequence numbers, counts and epoch milliseconds, all far below 2^53:
 * parsed as numbers, like better-sqlite3 returns them, instead of pg's default strings. Per pool,
 * never on the global `pg.types`.
 */
function numericTypes(): pg.CustomTypesConfig {
  const types = new pg.TypeOverrides();
  types.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));
  return types;
}

/**
 * How long getting a connection may take, in ms: opening one to a server that does not answer (a
 * partition drops packets rather than refusing them), or waiting for a free one in a full pool. Past
 * it the caller gets STORE_UNAVAILABLE (503, retry later) instead of a request that never ends.
 */
const connectTimeoutMs = 10_000;

/**
 * A transaction whose connection was lost before COMMIT was sent is run again on a fresh connection,
 * once after each of these pauses (ms): that absorbs a pooled connection that died with a server
 * restart. While the server is down, the fresh connect fails at once and the caller gets
 * STORE_UNAVAILABLE.
 */
const txRetryDelaysMs = [100, 400] as const;

/**
 * SQLSTATEs that mean the server or the connection went away, not that the statement was wrong:
 * class 08 (connection exception), 57P01 admin_shutdown (pg_ctl stop -m fast or immediate,
 * pg_terminate_backend), 57P02 crash_shutdown (another backend crashed), 57P03 cannot_connect_now
 * (starting up or shutting down). PostgreSQL docs, Appendix A.
 */
const connectionLossStates = /^(08...|57P0[123])$/;

/** 57014 query_canceled: statement_timeout (or an operator's pg_cancel_backend). Retried later, like a lost connection. */
const timedOutState = '57014';

/** Socket errors of a connection the server or the network dropped. */
const connectionLossErrnos = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Whether a statement failed because its connection was lost. `lost`: the client emitted 'error'
 * while checked out, which pg does when its socket ends (its own "Connection terminated
 * unexpectedly" carries no code).
 */
function isConnectionLoss(error: unknown, lost: boolean): boolean {
  if (lost) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (connectionLossStates.test(code) || connectionLossErrnos.has(code));
}

function isTimeout(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === timedOutState;
}

/** The server-side bounds of every connection, in ms: storage.statementTimeoutMs and storage.idleInTransactionTimeoutMs. */
export type ServerTimeouts = Pick<Config['storage'], 'statementTimeoutMs' | 'idleInTransactionTimeoutMs'>;

/**
 * The connection string and server settings of every connection: its schema on the search path
 * (unqualified table names resolve there only), and no statement running, nor transaction staying
 * idle, without bound (storage.statementTimeoutMs and storage.idleInTransactionTimeoutMs). Settings
 * the URL gives in `?options=` are kept, joined with ours (ours last: a later `-c` wins); left in the
 * URL, pg would let them replace ours and silently drop the search path, so the gateway's tables
 * would land in another schema.
 */
function connectionSettings(url: string, schema: string, o: ServerTimeouts): { connectionString: string; options: string } {
  const ours = `-c search_path=${schema} -c statement_timeout=${o.statementTimeoutMs} -c idle_in_transaction_session_timeout=${o.idleInTransactionTimeoutMs}`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { connectionString: url, options: ours }; // not a URL: pg reads it as it is
  }
  const fromUrl = parsed.searchParams.get('options');
  if (fromUrl === null) return { connectionString: url, options: ours };
  parsed.searchParams.delete('options');
  return { connectionString: parsed.toString(), options: `${fromUrl} ${ours}` };
}

/** A pooled connection checked out by this store. */
interface Connection {
  readonly client: PoolClient;
  /** True once the connection failed while checked out: it is destroyed on release, never reused. */
  readonly lost: boolean;
  /** Back to the pool; with an error (or once lost), destroyed instead. */
  release(broken?: Error): void;
}

/**
 * The networked store: PostgreSQL through a `pg` pool, for several gateway replicas on one database.
 * Same semantics as SqliteStore, method for method; where SQLite serialises writers on its one write
 * lock (BEGIN IMMEDIATE), here every transaction that appends to the audit chain locks the one-row
 * `audit_head` first (`SELECT … FOR UPDATE`). That lock also orders commit sequence numbers, feed
 * sequence numbers and the subject-key publication across processes, and because it is always taken
 * first (before any row lock) transactions cannot deadlock on it. Transactions that do not audit
 * (claim, stage, renew) lock only their file's row.
 */
export class PostgresStore implements Store {
  readonly #pool: pg.Pool;
  readonly #clock: Clock;
  readonly #releases: PendingRelease[] = [];
  #flushScheduled = false;
  #flushing: Promise<void> | null = null;

  private constructor(pool: pg.Pool, clock: Clock) {
    this.#pool = pool;
    this.#clock = clock;
  }

  /**
   * Connects, creates the schema if needed and migrates it (one replica at a time).
   * @param url a libpq connection URL (`postgres://user@host:5432/db`)
   * @param options.schema the schema holding the tables (default `public`), e.g. one per test
   * @param options.poolSize connections kept at most (default 10)
   * @throws GatewayError STORE_SCHEMA_TOO_NEW, STORE_UNAVAILABLE
   */
  static async open(url: string, options: ServerTimeouts & { clock: Clock; schema?: string; poolSize?: number }): Promise<PostgresStore> {
    const schema = options.schema ?? 'public';
    if (!schemaName.test(schema)) throw new Error(`Invalid PostgreSQL schema name ${JSON.stringify(schema)}: lower-case letters, digits and _ only`);
    const pool = new pg.Pool({
      ...connectionSettings(url, schema, options),
      max: options.poolSize ?? 10,
      types: numericTypes(),
      connectionTimeoutMillis: connectTimeoutMs,
      // TCP keepalive: an idle connection to a server that vanished without a FIN is found dead.
      keepAlive: true,
    });
    // An idle connection that the server drops emits 'error' on the pool, which would otherwise crash
    // the process; the pool discards that client and the next query opens a new one. (A checked-out
    // connection is guarded by #connect.)
    pool.on('error', () => undefined);
    const store = new PostgresStore(pool, options.clock);
    try {
      await store.#migrate(schema);
    } catch (error) {
      await pool.end();
      throw error;
    }
    return store;
  }

  async close(): Promise<void> {
    while (this.#flushing !== null || this.#flushScheduled) await (this.#flushing ?? new Promise((r) => setImmediate(r)));
    await this.#pool.end();
  }

  async #migrate(schema: string): Promise<void> {
    const latestKnown = postgresMigrations[postgresMigrations.length - 1]!.version;
    await this.#tx(async (tx) => {
      // Replicas starting together: one migrates, the others wait and then find nothing to do.
      // A migration may rewrite a large table: it is not bound by statement_timeout.
      await tx.q('SET LOCAL statement_timeout = 0');
      await tx.q('SELECT pg_advisory_xact_lock(hashtext($1))', [`veilgate:migrate:${schema}`]);
      await tx.q(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await tx.q('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
      const [{ v: applied }] = await tx.q<{ v: number }>('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations') as [{ v: number }];
      if (applied > latestKnown) throw new GatewayError('STORE_SCHEMA_TOO_NEW', { databaseVersion: applied, codeVersion: latestKnown });
      for (const m of postgresMigrations) {
        if (m.version <= applied) continue;
        // No parameters: the simple query protocol, which runs a migration's several statements.
        await tx.client.query(m.sql);
        await tx.q('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, this.#clock.now().toISOString()]);
      }
    });
  }

  // ---- plumbing ----------------------------------------------------------------------------

  /** @throws GatewayError STORE_UNAVAILABLE when no connection can be had (server down, pool exhausted for connectTimeoutMs) */
  async #connect(): Promise<Connection> {
    let client: PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      // pg's own message names the host and user: kept as the cause, never shown to a client.
      throw new GatewayError('STORE_UNAVAILABLE', undefined, { cause: error });
    }
    // The pool listens for 'error' only on idle clients. A checked-out one whose server goes away
    // (restart, failover, pg_terminate_backend) emits 'error' with no listener, and that kills the
    // process: recorded here instead, while the statement in flight fails on its own.
    let lostWith: Error | undefined;
    const onError = (error: Error) => {
      lostWith ??= error;
    };
    client.on('error', onError);
    return {
      client,
      get lost() {
        return lostWith !== undefined;
      },
      release(broken) {
        client.removeListener('error', onError);
        client.release(broken ?? lostWith);
      },
    };
  }

  /**
   * One statement on its own (autocommit), never retried: it may be a write that the server applied
   * before the connection dropped.
   * @throws GatewayError STORE_UNAVAILABLE when the connection is lost
   */
  async #statement<T>(run: (client: PoolClient) => Promise<T>): Promise<T> {
    const connection = await this.#connect();
    try {
      return await run(connection.client);
    } catch (error) {
      if (isConnectionLoss(error, connection.lost) || isTimeout(error)) throw new GatewayError('STORE_UNAVAILABLE', undefined, { cause: error });
      throw error;
    } finally {
      connection.release();
    }
  }

  /** One statement, on its own (autocommit). */
  readonly #q: Query = async <R extends QueryResultRow>(text: string, params?: readonly unknown[]): Promise<R[]> =>
    this.#statement(async (client) => (await client.query<R>(text, params as unknown[] | undefined)).rows);

  async #run(sql: string, params: readonly unknown[]): Promise<number> {
    return this.#statement(async (client) => (await client.query(sql, params as unknown[])).rowCount ?? 0);
  }

  /**
   * One transaction (READ COMMITTED: each statement sees what committed before it, which after a lock
   * wait includes the lock holder's work). `audited`: takes the chain head lock first.
   *
   * A connection lost before COMMIT was sent leaves nothing behind (the server rolls back the
   * transaction of a connection that ends), so `fn` is run again on a fresh connection: it must work
   * only through `tx`, and keep no state of its own across runs. Lost during COMMIT, the transaction
   * may or may not have committed, so it is not run again: the caller gets STORE_UNAVAILABLE, as for a
   * request that timed out, and what it replays is fenced (file leases, idempotency keys, receipts).
   * @throws GatewayError STORE_UNAVAILABLE when the database cannot be reached, or the connection
   *   was lost during COMMIT or on every attempt
   */
  async #tx<T>(fn: (tx: PgTx) => Promise<T>, options: { audited?: boolean } = {}): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const connection = await this.#connect();
      const { client } = connection;
      let committing = false;
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const tx = new PgTx(client);
        if (options.audited === true) await tx.lockHead();
        const out = await fn(tx);
        await tx.saveHead();
        committing = true;
        await client.query('COMMIT');
        return out;
      } catch (error) {
        if (!isConnectionLoss(error, connection.lost)) {
          await client.query('ROLLBACK').catch((e: unknown) => {
            broken = e instanceof Error ? e : new Error('ROLLBACK failed');
          });
          if (isTimeout(error)) throw new GatewayError('STORE_UNAVAILABLE', undefined, { cause: error });
          throw error;
        }
        broken = error instanceof Error ? error : new Error('connection lost');
        if (committing || attempt >= txRetryDelaysMs.length) throw new GatewayError('STORE_UNAVAILABLE', undefined, { cause: error });
      } finally {
        // A lost connection, or one whose ROLLBACK failed, is in an unknown state: destroyed, not reused.
        connection.release(broken);
      }
      await sleep(txRetryDelaysMs[attempt]);
    }
  }

  /** Inside a transaction: the caller still holds the file's lease (fencing). FOR SHARE: a claim waits for this transaction. */
  async #assertLease(tx: PgTx, lease: Lease): Promise<void> {
    const [current] = await tx.q<{ lease_token: number; state: FileState }>('SELECT lease_token, state FROM files WHERE receipt_id = $1 FOR SHARE', [lease.receiptId]);
    if (current === undefined || current.state !== 'processing' || current.lease_token !== lease.token) {
      throw new GatewayError('PIPELINE_LEASE_LOST', { receiptId: lease.receiptId });
    }
  }

  // ---- files -------------------------------------------------------------------------------

  async receiveFile(file: NewFile, audit: AuditDraft): Promise<ReceiveResult> {
    // Under the head lock: two replicas receiving the same bytes are serialised, the second finds the first.
    return this.#tx(async (tx): Promise<ReceiveResult> => {
      const [live] = await tx.q<FileDbRow>(sql.liveFile, [file.source, file.sha256]);
      if (live !== undefined) return { outcome: 'existing', file: toFileRow(live) };
      const [row] = await tx.q<FileDbRow>(sql.insertFile, [...fileParams(file), 'received', null, null, null]);
      await this.#append(tx, [audit]);
      return { outcome: 'new', file: toFileRow(row!) };
    }, { audited: true });
  }

  async recordDuplicate(file: NewFile & { duplicateOf: string; ack: string }, audit: AuditDraft): Promise<void> {
    await this.#tx(async (tx) => {
      await tx.q(sql.insertFile, [...fileParams(file), 'duplicate', file.duplicateOf, file.ack, file.receivedAt]);
      await this.#append(tx, [audit]);
    }, { audited: true });
  }

  async getFile(receiptId: string): Promise<FileRow | null> {
    const [row] = await this.#q<FileDbRow>('SELECT * FROM files WHERE receipt_id = $1', [receiptId]);
    return row === undefined ? null : toFileRow(row);
  }

  async claimFile(receiptId: string, owner: string, nowMs: number, ttlMs: number, ownerIsDead: (owner: string) => boolean): Promise<Lease | null> {
    return this.#tx(async (tx): Promise<Lease | null> => {
      // The row lock serialises competing claims; a second claimer then sees the first one's lease.
      const [row] = await tx.q<FileDbRow>('SELECT * FROM files WHERE receipt_id = $1 FOR UPDATE', [receiptId]);
      if (row === undefined || !isClaimable(row, owner, nowMs, ownerIsDead)) return null;
      return claimInTx(tx, row, owner, nowMs + ttlMs);
    });
  }

  async claimNextFile(owner: string, nowMs: number, ttlMs: number, ownerIsDead: (owner: string) => boolean, exclude: readonly string[]): Promise<{ file: FileRow; lease: Lease } | null> {
    return this.#tx(async (tx) => {
      // SKIP LOCKED, one row: a file another replica is claiming right now is passed over, not waited for.
      const pick = (where: string, params: readonly unknown[]) => tx.q<FileDbRow>(`SELECT * FROM files WHERE ${where} AND NOT (receipt_id = ANY($1::text[]))
        ORDER BY received_at LIMIT 1 FOR UPDATE SKIP LOCKED`, [exclude, ...params]);
      let [row] = await pick(`(state = 'received' OR (state = 'processing' AND (lease_owner IS NULL OR lease_owner = $2 OR lease_until_ms <= $3)))`, [owner, nowMs]);
      if (row === undefined) {
        // Live leases whose owner is known dead (on this host) may be taken at once.
        const live = await tx.q<{ receipt_id: string; lease_owner: string }>(`SELECT receipt_id, lease_owner FROM files WHERE state = 'processing' AND lease_until_ms > $1`, [nowMs]);
        const dead = live.filter((r) => ownerIsDead(r.lease_owner)).map((r) => r.receipt_id);
        if (dead.length > 0) [row] = await pick('receipt_id = ANY($2::text[])', [dead]);
      }
      if (row === undefined || !isClaimable(row, owner, nowMs, ownerIsDead)) return null;
      const lease = await claimInTx(tx, row, owner, nowMs + ttlMs);
      const [claimed] = await tx.q<FileDbRow>('SELECT * FROM files WHERE receipt_id = $1', [row.receipt_id]);
      return { file: toFileRow(claimed!), lease };
    });
  }

  async renewLease(lease: Lease, nowMs: number, ttlMs: number): Promise<boolean> {
    return (await this.#run(`UPDATE files SET lease_until_ms = $3 WHERE receipt_id = $1 AND lease_token = $2 AND state = 'processing'`,
      [lease.receiptId, lease.token, nowMs + ttlMs])) === 1;
  }

  async commitFile(lease: Lease, ack: string, finishedAt: string, audit: AuditDraft): Promise<'committed' | 'lease-lost' | 'subject-key-conflict'> {
    return this.#tx(async (tx): Promise<'committed' | 'lease-lost' | 'subject-key-conflict'> => {
      const id = lease.receiptId;
      // Under the head lock, which every key publication holds: no other commit can slip in between check and insert.
      if ((await tx.q(sql.committedKeyConflict, [id])).length > 0) return 'subject-key-conflict';
      const [committed] = await tx.q<{ commit_seq: number; kind: RecordKind }>(sql.commit, [id, lease.token, ack, finishedAt]);
      if (committed === undefined) return 'lease-lost';
      const seq = committed.commit_seq;
      const steps = commitStepsFor(committed.kind);
      if (steps.placeAccounts) {
        await tx.q(sql.upsertPlacedAccounts, [id, seq]);
        await tx.q(sql.insertSubjectAccounts, [id]);
      }
      if (steps.recallAccounts) await tx.q(sql.markRecalledAccounts, [id, seq]);
      if (steps.accountUpdates) await tx.q(sql.insertAccountUpdates, [id, seq]);
      if (steps.subjectEvents) await tx.q(sql.insertSubjectEventsFromFile, [id, finishedAt]);
      await tx.q(sql.insertFeedEventsFromFile, [id, finishedAt]);
      if (steps.subjectFeedEvents) await tx.q(sql.insertSubjectFeedEventsFromFile, [id, finishedAt]);
      await tx.q(sql.publishSubjectKeys, [id, finishedAt]);
      await tx.q('DELETE FROM staged_subject_keys WHERE receipt_id = $1', [id]);
      await this.#append(tx, [audit]);
      return 'committed';
    }, { audited: true });
  }

  async subjectKeyConflicts(receiptId: string): Promise<SubjectKeyConflict[]> {
    const rows = await this.#q<{ subject_token: string; committed: Buffer | null; wrapped_key: Buffer }>(sql.stagedKeyConflicts, [receiptId]);
    const out = new Map<string, SubjectKeyConflict>();
    for (const r of rows) {
      const c = out.get(r.subject_token) ?? { subjectToken: r.subject_token, committed: r.committed, staged: [] };
      c.staged.push(r.wrapped_key);
      out.set(r.subject_token, c);
    }
    return [...out.values()];
  }

  async recordsOfSubjects(receiptId: string, subjectTokens: readonly string[]): Promise<Array<{ recordNo: number; subjectToken: string; vault: Buffer | null }>> {
    const rows = await this.#q<{ record_no: number; subject_token: string; vault: Buffer | null }>(
      'SELECT record_no, subject_token, vault FROM records WHERE receipt_id = $1 AND subject_token = ANY($2::text[]) ORDER BY record_no', [receiptId, subjectTokens]);
    return rows.map((r) => ({ recordNo: r.record_no, subjectToken: r.subject_token, vault: r.vault }));
  }

  async settleSubjectKeys(lease: Lease, resealed: ReadonlyArray<{ recordNo: number; vault: Buffer }>, keep: ReadonlyMap<string, Buffer | null>): Promise<void> {
    await this.#tx(async (tx) => {
      await this.#assertLease(tx, lease);
      if (resealed.length > 0) {
        await tx.q(`UPDATE records r SET vault = v.vault FROM unnest($2::int[], $3::bytea[]) AS v(record_no, vault)
          WHERE r.receipt_id = $1 AND r.record_no = v.record_no`, [lease.receiptId, resealed.map((r) => r.recordNo), resealed.map((r) => r.vault)]);
      }
      if (keep.size === 0) return;
      await tx.q('DELETE FROM staged_subject_keys WHERE receipt_id = $1 AND subject_token = ANY($2::text[])', [lease.receiptId, [...keep.keys()]]);
      const kept = [...keep].filter((e): e is [string, Buffer] => e[1] !== null);
      await insertStagedKeys(tx, lease.receiptId, kept);
    });
  }

  async rejectDuplicateAccounts(lease: Lease): Promise<number[]> {
    return this.#tx(async (tx) => {
      await this.#assertLease(tx, lease);
      const rows = await tx.q<{ record_no: number }>(sql.deleteDuplicateAccounts, [lease.receiptId]);
      return rows.map((r) => r.record_no).sort((a, b) => a - b);
    });
  }

  async rejectFile(lease: Lease, ack: string, fileErrorCode: string, finishedAt: string, audit: AuditDraft): Promise<boolean> {
    return this.#tx(async (tx) => {
      const changed = await tx.run(`UPDATE files SET state = 'rejected', ack = $3, finished_at = $4, file_error = $5, lease_owner = NULL, lease_until_ms = NULL
        WHERE receipt_id = $1 AND lease_token = $2 AND state = 'processing'`, [lease.receiptId, lease.token, ack, finishedAt, fileErrorCode]);
      if (changed !== 1) return false;
      await tx.q('DELETE FROM records WHERE receipt_id = $1', [lease.receiptId]);
      await tx.q('DELETE FROM findings WHERE receipt_id = $1', [lease.receiptId]);
      await tx.q('DELETE FROM staged_subject_keys WHERE receipt_id = $1', [lease.receiptId]);
      await this.#append(tx, [audit]);
      return true;
    }, { audited: true });
  }

  async listUnfinishedFiles(): Promise<FileRow[]> {
    return (await this.#q<FileDbRow>(`SELECT * FROM files WHERE state IN ('received','processing') ORDER BY received_at`)).map(toFileRow);
  }

  async fileCounts(): Promise<Array<{ source: string; state: FileState; count: number }>> {
    return this.#q<{ source: string; state: FileState; count: number }>('SELECT source, state, COUNT(*) AS count FROM files GROUP BY source, state ORDER BY source, state');
  }

  // ---- staging -----------------------------------------------------------------------------

  async stage(lease: Lease, records: readonly StagedRecord[], findings: readonly StagedFinding[], newSubjectKeys?: ReadonlyMap<string, Buffer>): Promise<void> {
    await this.#tx(async (tx) => {
      await this.#assertLease(tx, lease);
      await insertStagedKeys(tx, lease.receiptId, [...newSubjectKeys ?? []]);
      if (records.length > 0) {
        // COPY, not an INSERT: the server takes binary rows far faster than it parses a JSON parameter (copy.ts).
        const rows = records.map((r) => [lease.receiptId, r.recordNo, r.kind, r.accountToken, r.subjectToken, r.data, r.vault, r.delinquencyDate, r.updateType, r.subjectState]);
        await copyRows(tx.client, stagedRecords, rows);
      }
      if (findings.length > 0) {
        let previous = -1;
        let seq = 0;
        const seqs = findings.map((f) => {
          seq = f.record === previous ? seq + 1 : 0;
          previous = f.record;
          return seq;
        });
        await tx.q(`INSERT INTO findings (receipt_id, record_no, seq, severity, field, code)
          SELECT $1, f.* FROM unnest($2::int[], $3::int[], $4::text[], $5::text[], $6::text[]) AS f`, [
          lease.receiptId, findings.map((f) => f.record), seqs, findings.map((f) => f.severity), findings.map((f) => f.field ?? null), findings.map((f) => f.code),
        ]);
      }
    });
  }

  async findingCounts(receiptId: string): Promise<{ rejectedRecords: number; errors: number; warnings: number }> {
    const [row] = await this.#q<{ rejected: number; errors: number; warnings: number }>(`SELECT COUNT(DISTINCT CASE WHEN severity = 'error' THEN record_no END) AS rejected,
      COUNT(*) FILTER (WHERE severity = 'error') AS errors, COUNT(*) FILTER (WHERE severity = 'warning') AS warnings FROM findings WHERE receipt_id = $1`, [receiptId]);
    return { rejectedRecords: row?.rejected ?? 0, errors: row?.errors ?? 0, warnings: row?.warnings ?? 0 };
  }

  async listFindings(receiptId: string, severity: 'error' | 'warning', limit: number): Promise<Rejection[]> {
    const rows = await this.#q<{ record_no: number; field: string | null; code: RecordCode }>(
      'SELECT record_no, field, code FROM findings WHERE receipt_id = $1 AND severity = $2 ORDER BY record_no, seq LIMIT $3', [receiptId, severity, limit]);
    return rows.map((r) => (r.field === null
      ? { record: r.record_no, code: r.code, message: recordCodes[r.code] }
      : { record: r.record_no, field: r.field, code: r.code, message: recordCodes[r.code] }));
  }

  async countStagedRecords(receiptId: string): Promise<number> {
    const [row] = await this.#q<{ n: number }>('SELECT COUNT(*) AS n FROM records WHERE receipt_id = $1', [receiptId]);
    return row?.n ?? 0;
  }

  async listRecords(receiptId: string, limit: number): Promise<StoredRecord[]> {
    const rows = await this.#q<{ record_no: number; kind: RecordKind; account_token: string; subject_token: string | null; data: string; vault: Buffer | null }>(
      'SELECT record_no, kind, account_token, subject_token, data, vault FROM records WHERE receipt_id = $1 ORDER BY record_no LIMIT $2', [receiptId, limit]);
    return rows.map((r) => ({ recordNo: r.record_no, kind: r.kind, accountToken: r.account_token, subjectToken: r.subject_token, data: r.data, vault: r.vault }));
  }

  // ---- accounts ----------------------------------------------------------------------------

  async findAccounts(accountTokens: readonly string[]): Promise<Map<string, AccountState>> {
    const out = new Map<string, AccountState>();
    if (accountTokens.length === 0) return out;
    const rows = await this.#q<{ account_token: string; subject_token: string | null; status: AccountState['status']; delinquency_date: string | null }>(
      'SELECT account_token, subject_token, status, delinquency_date FROM accounts WHERE account_token = ANY($1::text[])', [accountTokens]);
    for (const r of rows) {
      out.set(r.account_token, { accountToken: r.account_token, subjectToken: r.subject_token, status: r.status, delinquencyDate: r.delinquency_date });
    }
    return out;
  }

  // ---- subjects ----------------------------------------------------------------------------

  async getSubjectKeys(subjectTokens: readonly string[]): Promise<Map<string, Buffer>> {
    const rows = await this.#q<{ subject_token: string; wrapped_key: Buffer }>('SELECT subject_token, wrapped_key FROM subjects WHERE subject_token = ANY($1::text[])', [subjectTokens]);
    return new Map(rows.map((r) => [r.subject_token, r.wrapped_key]));
  }

  // ---- SFTP deliveries ---------------------------------------------------------------------

  // ---- SFTP source leases and deliveries ----------------------------------------------------

  async heartbeat(owner: string, nowMs: number, ttlMs: number): Promise<number> {
    return this.#tx(async (tx) => {
      await tx.q('INSERT INTO replicas (owner, until_ms) VALUES ($1, $2) ON CONFLICT (owner) DO UPDATE SET until_ms = excluded.until_ms', [owner, nowMs + ttlMs]);
      // Replicas gone for an hour are forgotten; the rest count while their heartbeat is live.
      await tx.q('DELETE FROM replicas WHERE until_ms < $1', [nowMs - 3_600_000]);
      const [row] = await tx.q<{ n: number }>('SELECT COUNT(*)::int AS n FROM replicas WHERE until_ms > $1', [nowMs]);
      return row!.n;
    });
  }

  async acquireSourceLease(source: string, owner: string, nowMs: number, ttlMs: number, maxHeld = Infinity): Promise<SourceLease | null> {
    return this.#tx(async (tx) => {
      // The replica's own row serialises its acquisitions, so that two of its pollers cannot both take
      // a last free share (or both give one up); the source's row serialises competing replicas.
      await tx.q('INSERT INTO replicas (owner, until_ms) VALUES ($1, $2) ON CONFLICT (owner) DO UPDATE SET until_ms = GREATEST(replicas.until_ms, excluded.until_ms)', [owner, nowMs + ttlMs]);
      await tx.q('INSERT INTO source_leases (source, owner, token, until_ms) VALUES ($1, $2, 0, 0) ON CONFLICT DO NOTHING', [source, owner]);
      const [row] = await tx.q<SourceLeaseDbRow>('SELECT * FROM source_leases WHERE source = $1 FOR UPDATE', [source]);
      const live = row!.until_ms > nowMs;
      if (live && row!.owner !== owner) return null;
      const [held] = await tx.q<{ n: number }>('SELECT COUNT(*)::int AS n FROM source_leases WHERE owner = $1 AND until_ms > $2 AND source <> $3', [owner, nowMs, source]);
      if (held!.n >= maxHeld) {
        if (live) await tx.q('UPDATE source_leases SET until_ms = 0 WHERE source = $1', [source]);
        return null;
      }
      // Kept while live; taken anew (a new fence) when free or expired, even by its last holder.
      const token = live ? row!.token : row!.token + 1;
      await tx.q('UPDATE source_leases SET owner = $2, token = $3, until_ms = $4 WHERE source = $1', [source, owner, token, nowMs + ttlMs]);
      return { source, owner, token };
    });
  }

  async releaseSourceLease(lease: SourceLease): Promise<void> {
    // Expired rather than deleted: the token only ever grows.
    await this.#run('UPDATE source_leases SET until_ms = 0 WHERE source = $1 AND owner = $2 AND token = $3', [lease.source, lease.owner, lease.token]);
  }

  async listSourceLeases(nowMs: number): Promise<Array<SourceLease & { untilMs: number }>> {
    return (await this.#q<SourceLeaseDbRow>('SELECT * FROM source_leases WHERE until_ms > $1 ORDER BY source', [nowMs]))
      .map((r) => ({ source: r.source, owner: r.owner, token: r.token, untilMs: r.until_ms }));
  }

  /** `fence` is the source's live polling lease. FOR SHARE: a takeover waits until this step commits. */
  async #assertSourceLease(tx: PgTx, fence: SourceLease): Promise<void> {
    const [row] = await tx.q<SourceLeaseDbRow>('SELECT * FROM source_leases WHERE source = $1 FOR SHARE', [fence.source]);
    if (!holdsSourceLease(row, fence, this.#clock.now().getTime())) throw new GatewayError('SFTP_LEASE_LOST', { source: fence.source });
  }

  async beginSftpDelivery(d: { source: string; remotePath: string; kind: RecordKind; sizeBytes: number; mtimeMs: number }, fence: SourceLease): Promise<SftpDelivery> {
    return this.#tx(async (tx) => {
      await this.#assertSourceLease(tx, fence);
      // A concurrent insert of the same open delivery waits here, then does nothing; the select sees it.
      await tx.q(`INSERT INTO sftp_deliveries (source, remote_path, kind, size_bytes, mtime_ms, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
        [d.source, d.remotePath, d.kind, d.sizeBytes, d.mtimeMs, this.#clock.now().toISOString()]);
      const [row] = await tx.q<DeliveryDbRow>('SELECT * FROM sftp_deliveries WHERE source = $1 AND remote_path = $2 AND size_bytes = $3 AND mtime_ms = $4 AND finished_at IS NULL',
        [d.source, d.remotePath, d.sizeBytes, d.mtimeMs]);
      return toDelivery(row!);
    });
  }

  async linkSftpDelivery(id: number, receiptId: string, fence: SourceLease): Promise<void> {
    await this.#fenced(fence, 'UPDATE sftp_deliveries SET receipt_id = $1 WHERE id = $2', [receiptId, id]);
  }

  async markSftpAckWritten(id: number, fence: SourceLease): Promise<void> {
    await this.#fenced(fence, 'UPDATE sftp_deliveries SET ack_written = TRUE WHERE id = $1', [id]);
  }

  async finishSftpDelivery(id: number, fence: SourceLease): Promise<void> {
    await this.#fenced(fence, 'UPDATE sftp_deliveries SET finished_at = $1 WHERE id = $2 AND finished_at IS NULL', [this.#clock.now().toISOString(), id]);
  }

  async #fenced(fence: SourceLease, step: string, params: readonly unknown[]): Promise<void> {
    await this.#tx(async (tx) => {
      await this.#assertSourceLease(tx, fence);
      await tx.q(step, params);
    });
  }

  async unfinishedSftpDeliveries(source: string): Promise<SftpDelivery[]> {
    return (await this.#q<DeliveryDbRow>('SELECT * FROM sftp_deliveries WHERE source = $1 AND finished_at IS NULL ORDER BY id', [source])).map(toDelivery);
  }

  async findLiveFile(source: string, sha256: string): Promise<FileRow | null> {
    const [row] = await this.#q<FileDbRow>(sql.liveFile, [source, sha256]);
    return row === undefined ? null : toFileRow(row);
  }

  // ---- API idempotency --------------------------------------------------------------------

  async claimIdempotencyKey(caller: string, key: string, bodySha256: string, receiptId: string): Promise<{ bodySha256: string; receiptId: string } | null> {
    return this.#tx(async (tx) => {
      // ON CONFLICT: a concurrent claim of the same key waits for the first, then finds its binding.
      const inserted = await tx.run('INSERT INTO idempotency_keys (caller, key, body_sha256, receipt_id, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
        [caller, key, bodySha256, receiptId, this.#clock.now().toISOString()]);
      if (inserted === 1) return null;
      const [existing] = await tx.q<{ body_sha256: string; receipt_id: string }>('SELECT body_sha256, receipt_id FROM idempotency_keys WHERE caller = $1 AND key = $2', [caller, key]);
      return { bodySha256: existing!.body_sha256, receiptId: existing!.receipt_id };
    });
  }

  async findIdempotencyKey(caller: string, key: string): Promise<{ bodySha256: string; receiptId: string } | null> {
    const [row] = await this.#q<{ body_sha256: string; receipt_id: string }>('SELECT body_sha256, receipt_id FROM idempotency_keys WHERE caller = $1 AND key = $2', [caller, key]);
    return row === undefined ? null : { bodySha256: row.body_sha256, receiptId: row.receipt_id };
  }

  async ping(): Promise<void> {
    await this.#q('SELECT 1');
  }

  // ---- release -----------------------------------------------------------------------------

  /**
   * Group commit: the reads that arrive in one turn of the event loop, or while the previous group is
   * committing, are decided and audited in one transaction (each in its own savepoint), so a burst of
   * reads pays for one round of head lock and commit rather than one each. The audit entry still
   * commits with the read it records, or neither does.
   */
  async release<T>(accountTokens: readonly string[], decide: (facts: ReadonlyMap<string, AccountFacts>) => Decided<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#enqueue({ accountTokens, decide, resolve: resolve as (v: unknown) => void, reject });
    });
  }

  /** Appends that arrive together share one transaction (group commit). */
  async appendAudit(drafts: readonly AuditDraft[]): Promise<void> {
    await new Promise<unknown>((resolve, reject) => {
      this.#enqueue({ accountTokens: [], appendOnly: drafts, decide: () => ({ result: undefined, audit: [] }), resolve, reject });
    });
  }

  #enqueue(job: PendingRelease): void {
    this.#releases.push(job);
    this.#scheduleFlush();
  }

  /** One group in flight at a time: what arrives meanwhile waits and forms the next group. */
  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#flushing !== null) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      this.#flushing = this.#flushReleases().finally(() => {
        this.#flushing = null;
        if (this.#releases.length > 0) this.#scheduleFlush();
      });
    });
  }

  /** Never rejects: every job settles with its own outcome, or all with the transaction's error. */
  async #flushReleases(): Promise<void> {
    const batch = this.#releases.splice(0);
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      await this.#tx(async (tx) => {
        outcomes.length = 0;
        // Plain appends cannot fail one by one: they go in together, with no savepoint each; if they
        // fail, the whole batch fails.
        await this.#append(tx, batch.flatMap((job) => job.appendOnly ?? []));
        for (const job of batch) {
          if (job.appendOnly !== undefined) {
            outcomes.push({ ok: true, value: undefined });
            continue;
          }
          await tx.savepoint();
          try {
            const { result, audit } = job.decide(await accountFacts(tx.q, job.accountTokens));
            await this.#append(tx, audit);
            await tx.releaseSavepoint();
            outcomes.push({ ok: true, value: result });
          } catch (error) {
            await tx.rollbackToSavepoint();
            outcomes.push({ ok: false, error });
          }
        }
      }, { audited: true });
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
    return this.#tx(async (tx): Promise<T> => {
      const rows = await tx.q<FeedDbRow>(sql.feedPage, [page.afterSeq, page.sources, page.limit]);
      const events = rows.map(toFeedEvent);
      const { result, audit } = decide(events, await accountFacts(tx.q, [...new Set(events.map((e) => e.accountToken))]));
      await this.#append(tx, audit);
      return result;
    }, { audited: true });
  }

  async recordSubjectChange(change: { subjectToken: string; changes: Readonly<Record<string, string>>; origin: string; at: string }, audit: AuditDraft): Promise<{ consentVersion: number; accounts: number } | null> {
    return this.#tx(async (tx) => {
      const accounts = await tx.q<{ account_token: string; source: string }>(sql.accountsOfSubject, [change.subjectToken]);
      if (accounts.length === 0) return null;
      const fields = Object.entries(change.changes);
      let consentVersion = 0;
      if (fields.length > 0) {
        const ids = await tx.q<{ id: number }>(`INSERT INTO subject_events (subject_token, field, value, origin, at)
          SELECT $1, c.field, c.value, $4, $5 FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS c(field, value, n) ORDER BY c.n RETURNING id`,
        [change.subjectToken, fields.map(([f]) => f), fields.map(([, v]) => v), change.origin, change.at]);
        consentVersion = Math.max(...ids.map((r) => r.id));
      }
      const kinds = new Set(Object.keys(change.changes).map((f) => (f.startsWith('consent_') ? 'subject.consent_changed' : 'subject.restricted')));
      for (const type of kinds) {
        const details = JSON.stringify(Object.fromEntries(fields.filter(([f]) => f.startsWith('consent_') === (type === 'subject.consent_changed'))));
        await tx.q(`INSERT INTO feed_events (type, source, account_token, subject_token, details, at)
          SELECT $1, a.source, a.account_token, $4, $5, $6 FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS a(source, account_token, n) ORDER BY a.n`,
        [type, accounts.map((a) => a.source), accounts.map((a) => a.account_token), change.subjectToken, details, change.at]);
      }
      await this.#append(tx, [audit]);
      return { consentVersion, accounts: accounts.length };
    }, { audited: true });
  }

  async acknowledgeFeed(recipient: string, seq: number): Promise<number> {
    const [row] = await this.#q<{ acked_seq: number }>(`INSERT INTO recipient_positions (recipient, acked_seq, updated_at) VALUES ($1, $2, $3)
      ON CONFLICT (recipient) DO UPDATE SET acked_seq = GREATEST(recipient_positions.acked_seq, EXCLUDED.acked_seq), updated_at = EXCLUDED.updated_at
      RETURNING acked_seq`, [recipient, seq, this.#clock.now().toISOString()]);
    return row!.acked_seq;
  }

  async feedPosition(recipient: string): Promise<number> {
    const [row] = await this.#q<{ acked_seq: number }>('SELECT acked_seq FROM recipient_positions WHERE recipient = $1', [recipient]);
    return row?.acked_seq ?? 0;
  }

  async feedHead(): Promise<number> {
    const [row] = await this.#q<{ seq: number | null }>('SELECT MAX(seq) AS seq FROM feed_events');
    return row?.seq ?? 0;
  }

  async overdueRecalls(recipients: ReadonlyArray<{ id: string; sources: readonly string[] | null }>, before: string): Promise<Array<{ recipient: string; count: number; oldestAt: string | null }>> {
    const out: Array<{ recipient: string; count: number; oldestAt: string | null }> = [];
    for (const r of recipients) {
      const [row] = await this.#q<{ n: number; oldest: string | null }>(sql.overdueRecalls, [r.id, before, r.sources]);
      out.push({ recipient: r.id, count: row?.n ?? 0, oldestAt: row?.oldest ?? null });
    }
    return out;
  }

  async savePolicy(version: string, body: string, audit: AuditDraft): Promise<boolean> {
    return this.#tx(async (tx) => {
      const inserted = await tx.run('INSERT INTO policies (version, body, created_at) VALUES ($1, $2, $3) ON CONFLICT (version) DO NOTHING', [version, body, this.#clock.now().toISOString()]);
      if (inserted === 0) return false;
      await this.#append(tx, [audit]);
      return true;
    }, { audited: true });
  }

  async getPolicy(version: string): Promise<string | null> {
    const [row] = await this.#q<{ body: string }>('SELECT body FROM policies WHERE version = $1', [version]);
    return row?.body ?? null;
  }

  // ---- officers ----------------------------------------------------------------------------

  async officerStats(range: { from: string; to: string }): Promise<OfficerStats> {
    const p = [range.from, range.to, releaseActions];
    const [byDay, byRecipient, top] = await Promise.all([
      this.#q<OfficerStats['accessesByDay'][number]>(sql.accessesByDay, p),
      this.#q<{ recipient: string; released: number | null; withheld: number | null }>(sql.fieldsByRecipient, p),
      this.#q<{ subject_token: string; accesses: number }>(sql.topSubjects, p),
    ]);
    return {
      accessesByDay: byDay,
      fieldsByRecipient: byRecipient.map((r) => ({ recipient: r.recipient, released: r.released ?? 0, withheld: r.withheld ?? 0 })),
      topSubjects: top.map((r) => ({ subjectToken: r.subject_token, accesses: r.accesses })),
    };
  }

  async subjectHoldings(subjectToken: string): Promise<SubjectHoldings | null> {
    return this.#tx((tx) => holdings(tx.q, subjectToken));
  }

  /**
   * Crypto-shredding: the subject's wrapped data key is deleted with its erasure record and audit entry.
   * PostgreSQL has no secure_delete: the deleted tuple stays in the heap page until VACUUM reuses the
   * space, and in WAL, replicas and base backups until they age out. What remains there is the key
   * wrapped under the KEK, which never enters the database; it is recoverable only with the KEK, and
   * retiring a KEK version (re-wrapping the live keys) destroys those copies for good.
   */
  async eraseSubject(subjectToken: string, by: string, at: string, audit: AuditDraft): Promise<SubjectHoldings['files'] | null> {
    return this.#tx(async (tx) => {
      const held = await holdings(tx.q, subjectToken);
      if (held === null) return null;
      await tx.q('DELETE FROM subjects WHERE subject_token = $1', [subjectToken]);
      await tx.q('DELETE FROM staged_subject_keys WHERE subject_token = $1', [subjectToken]);
      await tx.q('INSERT INTO erased_subjects (subject_token, erased_at, erased_by) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [subjectToken, at, by]);
      await this.#append(tx, [audit]);
      return held.files;
    }, { audited: true });
  }

  async markSpoolPurged(receiptIds: readonly string[], at: string): Promise<void> {
    if (receiptIds.length === 0) return;
    await this.#run('UPDATE files SET spool_purged_at = $1 WHERE receipt_id = ANY($2::text[]) AND spool_purged_at IS NULL', [at, receiptIds]);
  }

  async spoolsToPurge(before: string, limit: number): Promise<Array<{ receiptId: string; spoolPath: string }>> {
    const rows = await this.#q<{ receipt_id: string; spool_path: string }>(`SELECT receipt_id, spool_path FROM files WHERE state IN ('committed','rejected','duplicate')
      AND spool_purged_at IS NULL AND finished_at < $1 ORDER BY finished_at LIMIT $2`, [before, limit]);
    return rows.map((r) => ({ receiptId: r.receipt_id, spoolPath: r.spool_path }));
  }

  async purgeFindings(before: string): Promise<number> {
    return this.#run(`DELETE FROM findings WHERE receipt_id IN (SELECT receipt_id FROM files WHERE state IN ('committed','rejected') AND finished_at < $1)`, [before]);
  }

  async purgeRecalledAccounts(before: string, at: string): Promise<number> {
    return this.#tx(async (tx) => {
      // FOR UPDATE: two replicas running retention at once purge each account once.
      const accounts = (await tx.q<{ account_token: string }>(`SELECT a.account_token FROM accounts a JOIN files f ON f.receipt_id = a.recall_receipt
        WHERE a.status = 'recalled' AND a.purged_at IS NULL AND f.finished_at < $1 FOR UPDATE OF a SKIP LOCKED`, [before])).map((a) => a.account_token);
      if (accounts.length === 0) return 0;
      await tx.q(`UPDATE records SET vault = NULL WHERE vault IS NOT NULL AND (receipt_id, record_no) IN
        (SELECT placement_receipt, placement_record FROM accounts WHERE account_token = ANY($1::text[]))`, [accounts]);
      await tx.q(`UPDATE records SET vault = NULL WHERE vault IS NOT NULL AND (receipt_id, record_no) IN
        (SELECT receipt_id, record_no FROM account_updates WHERE account_token = ANY($1::text[]))`, [accounts]);
      await tx.q('UPDATE accounts SET purged_at = $2 WHERE account_token = ANY($1::text[])', [accounts, at]);
      return accounts.length;
    });
  }

  // ---- audit -------------------------------------------------------------------------------

  async addCheckpoint(c: Checkpoint): Promise<void> {
    // Not itself audited: an entry per checkpoint would move the head it attests, forever.
    await this.#run('INSERT INTO audit_checkpoints (seq, hash, at, jws) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [c.seq, c.hash, c.at, c.jws]);
  }

  async listCheckpoints(fromSeq: number, toSeq: number): Promise<Checkpoint[]> {
    return this.#q<Checkpoint>('SELECT seq, hash, at, jws FROM audit_checkpoints WHERE seq BETWEEN $1 AND $2 ORDER BY seq', [fromSeq, toSeq]);
  }

  async latestCheckpoint(): Promise<Checkpoint | null> {
    const [row] = await this.#q<Checkpoint>('SELECT seq, hash, at, jws FROM audit_checkpoints ORDER BY seq DESC LIMIT 1');
    return row ?? null;
  }

  async queryAudit(f: AuditFilter): Promise<AuditEntry[]> {
    // Fixed fragments and bound parameters only: the filter's values never become SQL text.
    const where: string[] = [];
    const params: Array<string | number> = [];
    const add = (clause: (p: string) => string, value: string | number | undefined) => {
      if (value === undefined) return;
      params.push(value);
      where.push(clause(`$${params.length}`));
    };
    add((p) => `a.seq IN (SELECT seq FROM audit_subjects WHERE subject_token = ${p})`, f.subjectToken);
    add((p) => `a.actor = ${p}`, f.actor);
    add((p) => `a.action = ${p}`, f.action);
    add((p) => `(a.details::jsonb ->> 'purpose') = ${p}`, f.purpose);
    add((p) => `a.at >= ${p}`, f.from);
    add((p) => `a.at < ${p}`, f.to);
    add((p) => `a.seq < ${p}`, f.beforeSeq);
    params.push(f.limit);
    const text = `SELECT * FROM audit_log a ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`} ORDER BY a.seq DESC LIMIT $${params.length}`;
    return (await this.#q<AuditDbRow>(text, params)).map(toAuditEntry);
  }

  async readAudit(fromSeq: number, toSeq: number): Promise<AuditEntry[]> {
    return (await this.#q<AuditDbRow>('SELECT * FROM audit_log WHERE seq BETWEEN $1 AND $2 ORDER BY seq', [fromSeq, toSeq])).map(toAuditEntry);
  }

  async auditHead(): Promise<{ seq: number; hash: string }> {
    const [row] = await this.#q<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_head');
    return row ?? { seq: 0, hash: genesisHash };
  }

  /** Seals drafts onto the head this transaction holds locked, and stores them with their subject index. */
  async #append(tx: PgTx, drafts: readonly AuditDraft[]): Promise<void> {
    if (drafts.length === 0) return;
    const head = tx.head ?? await tx.lockHead();
    const entries = chainEntries(head, drafts, this.#clock.now().toISOString());
    await tx.q(`INSERT INTO audit_log (seq, at, actor, action, target, details, prev_hash, hash)
      SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])`, [
      entries.map((e) => e.seq), entries.map((e) => e.at), entries.map((e) => e.actor), entries.map((e) => e.action),
      entries.map((e) => e.target), entries.map((e) => e.detailsJson), entries.map((e) => e.prevHash), entries.map((e) => e.hash),
    ]);
    const subjects = entries.flatMap((e) => [...subjectsOf(e)].map((s) => [s, e.seq] as const));
    if (subjects.length > 0) {
      await tx.q('INSERT INTO audit_subjects (subject_token, seq) SELECT * FROM unnest($1::text[], $2::bigint[]) ON CONFLICT DO NOTHING',
        [subjects.map(([s]) => s), subjects.map(([, seq]) => seq)]);
    }
    const last = entries[entries.length - 1]!;
    tx.moveHead({ seq: last.seq, hash: last.hash });
  }

  // ---- shared security limits and officer sessions -------------------------------------------

  async takeRate(key: string, limit: number, windowMs: number, nowMs: number, n = 1): Promise<boolean> {
    return this.#tx(async (tx) => {
      // Takers of one key, in every replica, count and insert one at a time; a row lock cannot do this
      // for a key that has no row yet. The two-int form keeps these locks apart from the migration's,
      // and the schema in the class keeps two gateways on one database (or tests) apart; a hashtext
      // collision only makes two keys wait for each other.
      await tx.q('SELECT pg_advisory_xact_lock(hashtext(current_schema() || $1), hashtext($2))', [':veilgate:rate', key]);
      const [row] = await tx.q<{ used: number }>('SELECT COALESCE(SUM(n), 0)::bigint AS used FROM rate_events WHERE key = $1 AND at_ms > $2', [key, nowMs - windowMs]);
      if (row!.used + n > limit) return false;
      if (n > 0) await tx.q('INSERT INTO rate_events (key, at_ms, n, until_ms) VALUES ($1, $2, $3, $4)', [key, nowMs, n, nowMs + windowMs]);
      // SKIP LOCKED: replicas pruning at once take different rows instead of waiting on each other.
      await tx.q(`DELETE FROM rate_events WHERE id IN (
        SELECT id FROM rate_events WHERE until_ms <= $1 ORDER BY until_ms LIMIT $2 FOR UPDATE SKIP LOCKED)`, [nowMs, rateEventsPrunedPerTake]);
      return true;
    });
  }

  async createOfficerSession(session: StoredOfficerSession, limits: OfficerSessionLimits): Promise<void> {
    await this.#tx(async (tx) => {
      // Sign-ins on several replicas at once: one at a time, so that the cap holds.
      await tx.q('SELECT pg_advisory_xact_lock(hashtext(current_schema() || $1), 0)', [':veilgate:officer-sessions']);
      await tx.q('DELETE FROM officer_sessions WHERE last_seen_ms < $1::bigint - $2 OR created_ms < $1::bigint - $3', [session.createdMs, limits.idleMs, limits.absoluteMs]);
      const [count] = await tx.q<{ n: number }>('SELECT COUNT(*)::int AS n FROM officer_sessions');
      if (count!.n >= limits.max) {
        await tx.q('DELETE FROM officer_sessions WHERE id_sha256 IN (SELECT id_sha256 FROM officer_sessions ORDER BY created_ms, id_sha256 LIMIT $1)', [count!.n - limits.max + 1]);
      }
      await tx.q('INSERT INTO officer_sessions (id_sha256, officer, csrf, created_ms, last_seen_ms) VALUES ($1, $2, $3, $4, $5)',
        [session.idSha256, session.officer, session.csrf, session.createdMs, session.lastSeenMs]);
    });
  }

  async touchOfficerSession(idSha256: string, nowMs: number, limits: Pick<OfficerSessionLimits, 'idleMs' | 'absoluteMs'>): Promise<StoredOfficerSession | null> {
    return this.#tx(async (tx) => {
      // Live: seen within the idle timeout and younger than the absolute one (sessions.ts's rule, inclusive).
      const [row] = await tx.q<OfficerSessionDbRow>(`UPDATE officer_sessions SET last_seen_ms = GREATEST(last_seen_ms, $2)
        WHERE id_sha256 = $1 AND last_seen_ms >= $2::bigint - $3 AND created_ms >= $2::bigint - $4
        RETURNING id_sha256, officer, csrf, created_ms, last_seen_ms`, [idSha256, nowMs, limits.idleMs, limits.absoluteMs]);
      if (row !== undefined) return toOfficerSession(row);
      // Unknown, or expired (a live one would have been touched): an expired row goes at once.
      await tx.q('DELETE FROM officer_sessions WHERE id_sha256 = $1', [idSha256]);
      return null;
    });
  }

  async deleteOfficerSession(idSha256: string): Promise<void> {
    await this.#run('DELETE FROM officer_sessions WHERE id_sha256 = $1', [idSha256]);
  }
}

/**
 * A transaction on one pooled connection. It carries the chain head once locked: appends move it in
 * memory, a savepoint rollback restores it, and `saveHead` writes it back once before COMMIT.
 */
class PgTx {
  head: { seq: number; hash: string } | null = null;
  #headDirty = false;
  #savedHead: { head: { seq: number; hash: string } | null; dirty: boolean } | null = null;

  constructor(readonly client: PoolClient) {}

  readonly q: Query = async <R extends QueryResultRow>(text: string, params?: readonly unknown[]): Promise<R[]> =>
    (await this.client.query<R>(text, params as unknown[] | undefined)).rows;

  async run(text: string, params: readonly unknown[]): Promise<number> {
    return (await this.client.query(text, params as unknown[])).rowCount ?? 0;
  }

  /** Serialises every audited writer of every process on the one-row head, until COMMIT or ROLLBACK. */
  async lockHead(): Promise<{ seq: number; hash: string }> {
    if (this.head !== null) return this.head;
    const [row] = await this.q<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_head FOR UPDATE');
    if (row === undefined) throw new Error('audit_head has no row: the schema was not migrated by this code');
    this.head = { seq: row.seq, hash: row.hash };
    return this.head;
  }

  moveHead(head: { seq: number; hash: string }): void {
    this.head = head;
    this.#headDirty = true;
  }

  async saveHead(): Promise<void> {
    if (!this.#headDirty || this.head === null) return;
    await this.q('UPDATE audit_head SET seq = $1, hash = $2', [this.head.seq, this.head.hash]);
    this.#headDirty = false;
  }

  async savepoint(): Promise<void> {
    await this.client.query('SAVEPOINT release_job');
    this.#savedHead = { head: this.head, dirty: this.#headDirty };
  }

  async releaseSavepoint(): Promise<void> {
    await this.client.query('RELEASE SAVEPOINT release_job');
    this.#savedHead = null;
  }

  async rollbackToSavepoint(): Promise<void> {
    await this.client.query('ROLLBACK TO SAVEPOINT release_job');
    await this.client.query('RELEASE SAVEPOINT release_job');
    if (this.#savedHead !== null) {
      this.head = this.#savedHead.head;
      this.#headDirty = this.#savedHead.dirty;
      this.#savedHead = null;
    }
  }
}

async function claimInTx(tx: PgTx, row: FileDbRow, owner: string, untilMs: number): Promise<Lease> {
  const token = row.lease_token + 1;
  await tx.q(`UPDATE files SET state = 'processing', lease_owner = $2, lease_token = $3, lease_until_ms = $4, attempts = attempts + 1 WHERE receipt_id = $1`,
    [row.receipt_id, owner, token, untilMs]);
  // Whatever an earlier attempt staged is discarded: the file is replayed from the spool.
  await tx.q('DELETE FROM records WHERE receipt_id = $1', [row.receipt_id]);
  await tx.q('DELETE FROM findings WHERE receipt_id = $1', [row.receipt_id]);
  await tx.q('DELETE FROM staged_subject_keys WHERE receipt_id = $1', [row.receipt_id]);
  return { receiptId: row.receipt_id, owner, token };
}

const stagedRecords: CopyTarget = {
  table: 'records',
  columns: [
    ['receipt_id', 'text'], ['record_no', 'int4'], ['kind', 'text'], ['account_token', 'text'], ['subject_token', 'text'], ['data', 'text'],
    ['vault', 'bytea'], ['delinquency_date', 'text'], ['update_type', 'text'], ['subject_state', 'text'],
  ],
};
const stagedKeys: CopyTarget = { table: 'staged_subject_keys', columns: [['receipt_id', 'text'], ['subject_token', 'text'], ['wrapped_key', 'bytea']] };

/** In the given order: ids tell which of a subject's staged keys came first. */
async function insertStagedKeys(tx: PgTx, receiptId: string, keys: ReadonlyArray<readonly [string, Buffer]>): Promise<void> {
  if (keys.length === 0) return;
  await copyRows(tx.client, stagedKeys, keys.map(([token, wrapped]) => [receiptId, token, wrapped]));
}

async function accountFacts(q: Query, accountTokens: readonly string[]): Promise<Map<string, AccountFacts>> {
  const out = new Map<string, AccountFacts>();
  if (accountTokens.length === 0) return out;
  for (const r of await q<AccountFactsDbRow>(sql.accountFacts, [accountTokens])) {
    out.set(r.account_token, {
      accountToken: r.account_token, subjectToken: r.subject_token, source: r.source, status: r.status,
      placement: r.placement, placementVault: r.placement_vault, recall: r.recall, updates: [], wrappedKey: r.wrapped_key, subjectEvents: [],
      erased: r.erased_at !== null,
    });
  }
  for (const u of await q<{ account_token: string; data: string; vault: Buffer | null }>(sql.accountUpdates, [accountTokens])) {
    out.get(u.account_token)?.updates.push({ data: u.data, vault: u.vault });
  }
  const bySubject = new Map<string, AccountFacts[]>();
  for (const f of out.values()) if (f.subjectToken !== null) bySubject.set(f.subjectToken, [...(bySubject.get(f.subjectToken) ?? []), f]);
  if (bySubject.size > 0) {
    const events = await q<{ subject_token: string; id: number; field: string; value: string }>(
      'SELECT subject_token, id, field, value FROM subject_events WHERE subject_token = ANY($1::text[]) ORDER BY subject_token, id', [[...bySubject.keys()]]);
    for (const e of events) {
      for (const f of bySubject.get(e.subject_token)!) f.subjectEvents.push({ id: e.id, field: e.field, value: e.value });
    }
  }
  return out;
}

async function holdings(q: Query, subjectToken: string): Promise<SubjectHoldings | null> {
  const accounts = await q<{
    account_token: string; source: string; status: 'placed' | 'recalled'; purged_at: string | null; receipt_id: string; file_name: string;
    received_at: string; record_no: number; data: string; vault: Buffer | null; updates: number;
  }>(sql.holdingsAccounts, [subjectToken]);
  const [erased] = await q<{ erased_at: string }>('SELECT erased_at FROM erased_subjects WHERE subject_token = $1', [subjectToken]);
  if (accounts.length === 0 && erased === undefined) return null;
  const [key] = await q<{ wrapped_key: Buffer }>('SELECT wrapped_key FROM subjects WHERE subject_token = $1', [subjectToken]);
  const events = await q<SubjectHoldings['subjectEvents'][number]>('SELECT id, field, value, origin, at FROM subject_events WHERE subject_token = $1 ORDER BY id', [subjectToken]);
  // records has no subject index (staging speed); a full scan is acceptable for an officer's request.
  const files = await q<{ receipt_id: string; source: string; state: string; spool_path: string; spool_purged_at: string | null }>(
    `SELECT f.receipt_id, f.source, f.state, f.spool_path, f.spool_purged_at FROM files f
      WHERE f.receipt_id IN (SELECT DISTINCT receipt_id FROM records WHERE subject_token = $1) ORDER BY f.received_at`, [subjectToken]);
  return {
    subjectToken,
    erasedAt: erased?.erased_at ?? null,
    accounts: accounts.map((a) => ({
      accountToken: a.account_token, source: a.source, status: a.status, purgedAt: a.purged_at, updates: a.updates,
      placement: { receiptId: a.receipt_id, fileName: a.file_name, receivedAt: a.received_at, recordNo: a.record_no, data: a.data, vault: a.vault },
    })),
    wrappedKey: key?.wrapped_key ?? null,
    subjectEvents: events,
    files: files.map((f) => ({ receiptId: f.receipt_id, source: f.source, state: f.state, spoolPath: f.spool_path, spoolPurgedAt: f.spool_purged_at })),
  };
}

/** The statements used in more than one place or too long to read inline; all with bound parameters. */
const sql = {
  liveFile: `SELECT * FROM files WHERE source = $1 AND sha256 = $2 AND state NOT IN ('rejected','duplicate')`,
  insertFile: `INSERT INTO files (receipt_id, source, kind, channel, envelope, file_name, sha256, size_bytes, spool_path, received_at, state, duplicate_of, ack, finished_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING *`,
  // Serialised by the head lock, which commitFile holds: MAX + 1 cannot be taken twice.
  commit: `UPDATE files SET state = 'committed', ack = $3, finished_at = $4, lease_owner = NULL, lease_until_ms = NULL,
    commit_seq = (SELECT COALESCE(MAX(commit_seq), 0) + 1 FROM files) WHERE receipt_id = $1 AND lease_token = $2 AND state = 'processing'
    RETURNING commit_seq, kind`,
  deleteDuplicateAccounts: `DELETE FROM records WHERE receipt_id = $1 AND record_no IN (
    SELECT record_no FROM (SELECT record_no, ROW_NUMBER() OVER (PARTITION BY account_token ORDER BY record_no) AS nth
      FROM records WHERE receipt_id = $1 AND kind IN ('placement','recall')) AS d WHERE nth > 1)
    RETURNING record_no`,
  // In token order, as in SQLite. DISTINCT ON: PostgreSQL refuses an upsert that touches one row twice,
  // where SQLite lets the later record win; the later record wins here too (rejectDuplicateAccounts
  // normally leaves one placement per account anyway).
  upsertPlacedAccounts: `INSERT INTO accounts (account_token, subject_token, status, delinquency_date, placement_receipt, placement_record, commit_seq, source)
    SELECT DISTINCT ON (r.account_token) r.account_token, r.subject_token, 'placed', r.delinquency_date, r.receipt_id, r.record_no, $2, f.source
    FROM records r JOIN files f ON f.receipt_id = r.receipt_id WHERE r.receipt_id = $1 AND r.kind = 'placement' ORDER BY r.account_token, r.record_no DESC
    ON CONFLICT (account_token) DO UPDATE SET subject_token = EXCLUDED.subject_token, status = 'placed', delinquency_date = EXCLUDED.delinquency_date,
      placement_receipt = EXCLUDED.placement_receipt, placement_record = EXCLUDED.placement_record, commit_seq = EXCLUDED.commit_seq,
      source = EXCLUDED.source, recall_receipt = NULL, recall_record = NULL`,
  // In subject order, so that each page of subject_accounts is written once per commit.
  insertSubjectAccounts: `INSERT INTO subject_accounts (subject_token, account_token)
    SELECT subject_token, account_token FROM records WHERE receipt_id = $1 AND kind = 'placement' AND subject_token IS NOT NULL
    ORDER BY subject_token, account_token
    ON CONFLICT DO NOTHING`,
  markRecalledAccounts: `UPDATE accounts SET status = 'recalled', commit_seq = $2, recall_receipt = r.receipt_id, recall_record = r.record_no
    FROM (SELECT account_token, receipt_id, record_no FROM records WHERE receipt_id = $1 AND kind = 'recall') AS r
    WHERE accounts.account_token = r.account_token`,
  insertAccountUpdates: `INSERT INTO account_updates (account_token, commit_seq, record_no, receipt_id)
    SELECT account_token, $2, record_no, receipt_id FROM records WHERE receipt_id = $1 AND kind = 'update' ORDER BY account_token, record_no`,
  // What each record sets of its subject's state (pipeline/record-facts.ts says which values count).
  insertSubjectEventsFromFile: `INSERT INTO subject_events (subject_token, field, value, origin, at)
    SELECT r.subject_token, j.key, j.value, 'file:' || r.receipt_id || '#' || r.record_no, $2
    FROM records r CROSS JOIN LATERAL json_each_text(r.subject_state::json) WITH ORDINALITY AS j(key, value, n)
    WHERE r.receipt_id = $1 AND r.subject_state IS NOT NULL AND r.subject_token IS NOT NULL
    ORDER BY r.subject_token, r.record_no, j.n`,
  insertFeedEventsFromFile: `INSERT INTO feed_events (type, source, account_token, subject_token, receipt_id, record_no, at)
    SELECT CASE r.kind WHEN 'placement' THEN 'account.placed' WHEN 'recall' THEN 'account.recalled'
        ELSE CASE r.update_type WHEN 'restriction' THEN 'subject.restricted' WHEN 'consent' THEN 'subject.consent_changed' ELSE 'account.updated' END END,
      f.source, r.account_token, r.subject_token, r.receipt_id, r.record_no, $2
    FROM records r JOIN files f ON f.receipt_id = r.receipt_id WHERE r.receipt_id = $1 ORDER BY r.record_no`,
  // A restriction or consent is the subject's: every other account of the subject hears of it too.
  insertSubjectFeedEventsFromFile: `INSERT INTO feed_events (type, source, account_token, subject_token, receipt_id, record_no, at)
    SELECT CASE r.update_type WHEN 'restriction' THEN 'subject.restricted' ELSE 'subject.consent_changed' END,
      a.source, a.account_token, a.subject_token, r.receipt_id, r.record_no, $2
    FROM records r JOIN subject_accounts sa ON sa.subject_token = r.subject_token
      JOIN accounts a ON a.account_token = sa.account_token AND a.subject_token = sa.subject_token AND a.account_token <> r.account_token
    WHERE r.receipt_id = $1 AND r.kind = 'update' AND r.update_type IN ('restriction','consent')
    ORDER BY r.record_no, a.account_token`,
  committedKeyConflict: `SELECT 1 FROM staged_subject_keys s JOIN subjects t ON t.subject_token = s.subject_token
    WHERE s.receipt_id = $1 AND t.wrapped_key <> s.wrapped_key LIMIT 1`,
  stagedKeyConflicts: `SELECT s.subject_token, t.wrapped_key AS committed, s.wrapped_key FROM staged_subject_keys s
    LEFT JOIN subjects t ON t.subject_token = s.subject_token
    WHERE s.receipt_id = $1 AND (t.wrapped_key <> s.wrapped_key OR s.subject_token IN (
      SELECT subject_token FROM staged_subject_keys WHERE receipt_id = $1 GROUP BY subject_token HAVING COUNT(*) > 1))
    ORDER BY s.subject_token, s.id`,
  // ", id": of two keys staged for one subject, the first is kept (SQLite's scan order; PostgreSQL needs it said).
  publishSubjectKeys: `INSERT INTO subjects (subject_token, wrapped_key, created_at)
    SELECT subject_token, wrapped_key, $2 FROM staged_subject_keys WHERE receipt_id = $1 ORDER BY subject_token, id
    ON CONFLICT (subject_token) DO NOTHING`,
  accountFacts: `SELECT a.account_token, a.subject_token, a.source, a.status, p.data AS placement, p.vault AS placement_vault,
      rc.data AS recall, s.wrapped_key, e.erased_at
    FROM accounts a JOIN records p ON p.receipt_id = a.placement_receipt AND p.record_no = a.placement_record
    LEFT JOIN records rc ON rc.receipt_id = a.recall_receipt AND rc.record_no = a.recall_record
    LEFT JOIN subjects s ON s.subject_token = a.subject_token
    LEFT JOIN erased_subjects e ON e.subject_token = a.subject_token
    WHERE a.account_token = ANY($1::text[])`,
  // Updates made before the account's latest placement belong to an earlier placement.
  accountUpdates: `SELECT u.account_token, r.data, r.vault FROM account_updates u
    JOIN accounts a ON a.account_token = u.account_token JOIN files pf ON pf.receipt_id = a.placement_receipt
    JOIN records r ON r.receipt_id = u.receipt_id AND r.record_no = u.record_no
    WHERE u.account_token = ANY($1::text[]) AND u.commit_seq > pf.commit_seq
    ORDER BY u.account_token, u.commit_seq, u.record_no`,
  feedPage: `SELECT e.seq, e.type, e.source, e.account_token, e.at, COALESCE(e.details, r.data) AS changes, e.receipt_id
    FROM feed_events e LEFT JOIN records r ON r.receipt_id = e.receipt_id AND r.record_no = e.record_no AND r.kind = 'update'
    WHERE e.seq > $1 AND ($2::text[] IS NULL OR e.source = ANY($2::text[]))
    ORDER BY e.seq LIMIT $3`,
  overdueRecalls: `SELECT COUNT(*) AS n, MIN(e.at) AS oldest FROM feed_events e
    WHERE e.type = 'account.recalled' AND e.at < $2
      AND e.seq > COALESCE((SELECT acked_seq FROM recipient_positions WHERE recipient = $1), 0)
      AND ($3::text[] IS NULL OR e.source = ANY($3::text[]))`,
  accessesByDay: `SELECT substr(at, 1, 10) AS day, substr(actor, 11) AS recipient, COALESCE(details::jsonb ->> 'purpose', '') AS purpose, COUNT(*) AS count
    FROM audit_log WHERE at >= $1 AND at < $2 AND action = ANY($3::text[]) AND actor LIKE 'recipient:%'
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
  // SQLite's json_each over `withheld` counts an object's keys or an array's elements: both here.
  fieldsByRecipient: `SELECT substr(a.actor, 11) AS recipient,
      SUM(CASE WHEN jsonb_typeof(i.value -> 'released') = 'array' THEN jsonb_array_length(i.value -> 'released') END)::bigint AS released,
      SUM(CASE jsonb_typeof(i.value -> 'withheld') WHEN 'array' THEN jsonb_array_length(i.value -> 'withheld')
        WHEN 'object' THEN (SELECT COUNT(*) FROM jsonb_object_keys(i.value -> 'withheld')) ELSE 0 END)::bigint AS withheld
    FROM audit_log a CROSS JOIN LATERAL jsonb_array_elements(
      CASE WHEN jsonb_typeof(a.details::jsonb -> 'items') = 'array' THEN a.details::jsonb -> 'items' ELSE '[]'::jsonb END) AS i(value)
    WHERE a.at >= $1 AND a.at < $2 AND a.action = ANY($3::text[]) AND a.actor LIKE 'recipient:%' GROUP BY 1 ORDER BY 1`,
  topSubjects: `SELECT s.subject_token, COUNT(*) AS accesses FROM audit_subjects s JOIN audit_log a ON a.seq = s.seq
    WHERE a.at >= $1 AND a.at < $2 AND a.action = ANY($3::text[]) GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10`,
  holdingsAccounts: `SELECT a.account_token, a.source, a.status, a.purged_at, f.receipt_id, f.file_name, f.received_at, r.record_no, r.data, r.vault,
      (SELECT COUNT(*) FROM account_updates u WHERE u.account_token = a.account_token) AS updates
    FROM subject_accounts sa JOIN accounts a ON a.account_token = sa.account_token AND a.subject_token = sa.subject_token
    JOIN records r ON r.receipt_id = a.placement_receipt AND r.record_no = a.placement_record
    JOIN files f ON f.receipt_id = a.placement_receipt WHERE sa.subject_token = $1 ORDER BY f.received_at, a.account_token`,
  // Through subject_accounts (migration 15); a stale row (the account moved to another subject) joins nothing.
  accountsOfSubject: `SELECT a.account_token, a.source FROM subject_accounts sa
    JOIN accounts a ON a.account_token = sa.account_token AND a.subject_token = sa.subject_token
    WHERE sa.subject_token = $1 ORDER BY a.account_token`,
} as const;

function fileParams(f: NewFile): unknown[] {
  return [f.receiptId, f.source, f.kind, f.channel, f.envelope, f.fileName, f.sha256, f.sizeBytes, f.spoolPath, f.receivedAt];
}



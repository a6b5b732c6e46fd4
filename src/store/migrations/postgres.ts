/**
 * Numbered PostgreSQL migrations. Append only: a shipped migration is never edited. Version numbers
 * match `sqlite.ts` step for step (the same tables at the same version), so both backends report the
 * same schema version; a database whose schema is newer than the last one here is refused
 * (STORE_SCHEMA_TOO_NEW) rather than misread.
 *
 * Dialect choices, against the SQLite schema:
 * - every text column is `COLLATE "C"`: SQLite compares TEXT bytewise, and tokens and ISO times are
 *   ordered and range-compared; a database created with a linguistic collation would order them
 *   differently (and its indexes would be slower);
 * - `INTEGER PRIMARY KEY` row ids become identity columns, BLOB becomes BYTEA, 0/1 flags BOOLEAN;
 * - record data and audit details stay TEXT, not JSONB: the stored JSON must come back byte for
 *   byte (audit details are hashed; records are returned as stored). Queries cast to jsonb.
 * - `audit_head` (version 1): the one-row chain head every appender locks (`SELECT … FOR UPDATE`), so
 *   that writers in several processes serialise on it as SQLite writers do on BEGIN IMMEDIATE.
 */
export const postgresMigrations: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'files, records, findings, subjects, audit',
    sql: `
      CREATE TABLE files (
        receipt_id     TEXT COLLATE "C" PRIMARY KEY,
        source         TEXT COLLATE "C" NOT NULL,
        kind           TEXT COLLATE "C" NOT NULL CHECK (kind IN ('placement','recall','update')),
        channel        TEXT COLLATE "C" NOT NULL,
        file_name      TEXT COLLATE "C" NOT NULL,
        sha256         TEXT COLLATE "C" NOT NULL,
        size_bytes     BIGINT NOT NULL,
        spool_path     TEXT COLLATE "C" NOT NULL,
        received_at    TEXT COLLATE "C" NOT NULL,
        state          TEXT COLLATE "C" NOT NULL CHECK (state IN ('received','processing','committed','rejected','duplicate')),
        duplicate_of   TEXT COLLATE "C" REFERENCES files(receipt_id),
        lease_owner    TEXT COLLATE "C",
        lease_token    BIGINT NOT NULL DEFAULT 0,
        lease_until_ms BIGINT,
        attempts       INTEGER NOT NULL DEFAULT 0,
        commit_seq     BIGINT UNIQUE,
        finished_at    TEXT COLLATE "C",
        file_error     TEXT COLLATE "C",
        ack            TEXT
      );
      -- One live copy of the same bytes per source: the exactly-once key (source, sha256).
      CREATE UNIQUE INDEX files_live_bytes ON files(source, sha256) WHERE state NOT IN ('rejected','duplicate');
      CREATE INDEX files_unfinished ON files(state) WHERE state IN ('received','processing');

      -- Records of every file, visible to readers only once their file is committed. No index on a
      -- random token (staging appends in record order); the accounts table is maintained at commit.
      CREATE TABLE records (
        id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        receipt_id    TEXT COLLATE "C" NOT NULL REFERENCES files(receipt_id),
        record_no     INTEGER NOT NULL,
        kind          TEXT COLLATE "C" NOT NULL,
        account_token TEXT COLLATE "C" NOT NULL,
        subject_token TEXT COLLATE "C",
        data          TEXT NOT NULL,
        vault         BYTEA,
        UNIQUE (receipt_id, record_no)
      );

      -- The committed state of each account, maintained by the commit transaction.
      CREATE TABLE accounts (
        account_token      TEXT COLLATE "C" PRIMARY KEY,
        subject_token      TEXT COLLATE "C",
        status             TEXT COLLATE "C" NOT NULL CHECK (status IN ('placed','recalled')),
        delinquency_date   TEXT COLLATE "C",
        placement_receipt  TEXT COLLATE "C" NOT NULL,
        placement_record   INTEGER NOT NULL,
        commit_seq         BIGINT NOT NULL
      );

      CREATE TABLE findings (
        receipt_id TEXT COLLATE "C" NOT NULL,
        record_no  INTEGER NOT NULL,
        seq        INTEGER NOT NULL,
        severity   TEXT COLLATE "C" NOT NULL CHECK (severity IN ('error','warning')),
        field      TEXT COLLATE "C",
        code       TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (receipt_id, severity, record_no, seq)
      );

      CREATE TABLE subjects (
        subject_token TEXT COLLATE "C" PRIMARY KEY,
        wrapped_key   BYTEA NOT NULL,
        created_at    TEXT COLLATE "C" NOT NULL
      );

      CREATE TABLE audit_log (
        seq       BIGINT PRIMARY KEY,
        at        TEXT COLLATE "C" NOT NULL,
        actor     TEXT COLLATE "C" NOT NULL,
        action    TEXT COLLATE "C" NOT NULL,
        target    TEXT COLLATE "C" NOT NULL,
        details   TEXT NOT NULL,
        prev_hash TEXT COLLATE "C" NOT NULL,
        hash      TEXT COLLATE "C" NOT NULL
      );

      -- The chain head, one row: every append locks it first (FOR UPDATE), reads the head, appends
      -- and moves it, in the appending transaction; so replicas never fork the chain.
      CREATE TABLE audit_head (
        id   BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
        seq  BIGINT NOT NULL,
        hash TEXT COLLATE "C" NOT NULL
      );
      INSERT INTO audit_head (id, seq, hash) VALUES (TRUE, 0, repeat('0', 64));
    `,
  },
  {
    version: 2,
    name: 'sftp deliveries',
    sql: `
      -- One row per remote file the SFTP poller decided to take, written before the download, so that a
      -- crash at any later step resumes the same delivery instead of taking the file again.
      CREATE TABLE sftp_deliveries (
        id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        source       TEXT COLLATE "C" NOT NULL,
        remote_path  TEXT COLLATE "C" NOT NULL,
        kind         TEXT COLLATE "C" NOT NULL,
        size_bytes   BIGINT NOT NULL,
        mtime_ms     BIGINT NOT NULL,
        receipt_id   TEXT COLLATE "C" REFERENCES files(receipt_id),
        ack_written  BOOLEAN NOT NULL DEFAULT FALSE,
        finished_at  TEXT COLLATE "C",
        created_at   TEXT COLLATE "C" NOT NULL
      );
      CREATE UNIQUE INDEX sftp_deliveries_open ON sftp_deliveries(source, remote_path, size_bytes, mtime_ms) WHERE finished_at IS NULL;
    `,
  },
  {
    version: 3,
    name: 'envelopes and API idempotency keys',
    sql: `
      -- How a received body is opened: an OpenPGP message (files) or a compact JWE (API record batches).
      ALTER TABLE files ADD COLUMN envelope TEXT COLLATE "C" NOT NULL DEFAULT 'pgp' CHECK (envelope IN ('pgp','jose'));

      -- An API caller's Idempotency-Key, bound to the SHA-256 of the body it first came with.
      CREATE TABLE idempotency_keys (
        caller      TEXT COLLATE "C" NOT NULL,
        key         TEXT COLLATE "C" NOT NULL,
        body_sha256 TEXT COLLATE "C" NOT NULL,
        receipt_id  TEXT COLLATE "C" NOT NULL REFERENCES files(receipt_id),
        created_at  TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (caller, key)
      );
    `,
  },
  {
    version: 4,
    name: 'subject keys staged with their file',
    sql: `
      -- Data keys of subjects first seen in a file, staged with it and inserted into subjects in token
      -- order by the commit: a rejected file leaves no key in use elsewhere.
      CREATE TABLE staged_subject_keys (
        id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        receipt_id    TEXT COLLATE "C" NOT NULL,
        subject_token TEXT COLLATE "C" NOT NULL,
        wrapped_key   BYTEA NOT NULL
      );
      CREATE INDEX staged_subject_keys_by_receipt ON staged_subject_keys(receipt_id);
    `,
  },
  {
    version: 5,
    name: 'release: account history, subject events, feed, recipient positions, policies',
    sql: `
      -- What release needs of an account: its source (recipients read some sources only), the recall
      -- record behind a tombstone, and its subject (a restriction applies to all of a subject's accounts).
      ALTER TABLE accounts ADD COLUMN source TEXT COLLATE "C";
      ALTER TABLE accounts ADD COLUMN recall_receipt TEXT COLLATE "C";
      ALTER TABLE accounts ADD COLUMN recall_record INTEGER;
      UPDATE accounts SET source = (SELECT source FROM files WHERE files.receipt_id = accounts.placement_receipt);
      CREATE INDEX accounts_by_subject ON accounts(subject_token);

      -- Committed update records of each account, in commit order (records has no account index).
      CREATE TABLE account_updates (
        account_token TEXT COLLATE "C" NOT NULL,
        commit_seq    BIGINT NOT NULL,
        record_no     INTEGER NOT NULL,
        receipt_id    TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (account_token, commit_seq, record_no)
      );

      -- Every change of a subject's restrictions and consents, from files and from recipients. The id of
      -- a subject's latest event is its consent-state version.
      CREATE TABLE subject_events (
        id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        subject_token TEXT COLLATE "C" NOT NULL,
        field         TEXT COLLATE "C" NOT NULL,
        value         TEXT COLLATE "C" NOT NULL,
        origin        TEXT COLLATE "C" NOT NULL,
        at            TEXT COLLATE "C" NOT NULL
      );
      CREATE INDEX subject_events_by_subject ON subject_events(subject_token, id);

      -- The ordered stream recipients read; seq is the cursor. One event per affected account. Every
      -- transaction that inserts here holds the audit head lock first, so seq order is commit order
      -- and a reader's cursor never skips an event committed late with a lower seq.
      CREATE TABLE feed_events (
        seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        type          TEXT COLLATE "C" NOT NULL CHECK (type IN ('account.placed','account.updated','account.recalled','subject.restricted','subject.consent_changed')),
        source        TEXT COLLATE "C" NOT NULL,
        account_token TEXT COLLATE "C" NOT NULL,
        subject_token TEXT COLLATE "C",
        receipt_id    TEXT COLLATE "C",
        record_no     INTEGER,
        details       TEXT,
        at            TEXT COLLATE "C" NOT NULL
      );
      CREATE INDEX feed_events_recalls ON feed_events(seq) WHERE type = 'account.recalled';

      -- How far each recipient has acknowledged its feed (recalls before it are acknowledged).
      CREATE TABLE recipient_positions (
        recipient  TEXT COLLATE "C" PRIMARY KEY,
        acked_seq  BIGINT NOT NULL,
        updated_at TEXT COLLATE "C" NOT NULL
      );

      -- Every release policy (grants and rules) in force at some time, by version, for replay.
      CREATE TABLE policies (
        version    TEXT COLLATE "C" PRIMARY KEY,
        body       TEXT NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL
      );
    `,
  },
  {
    version: 6,
    name: 'officers: audit checkpoints, audit index by subject, erasure, retention',
    sql: `
      -- Signed checkpoints of the audit chain head (JWS ES256 over seq, hash, time).
      CREATE TABLE audit_checkpoints (
        seq  BIGINT PRIMARY KEY,
        hash TEXT COLLATE "C" NOT NULL,
        at   TEXT COLLATE "C" NOT NULL,
        jws  TEXT NOT NULL
      );
      -- Which audit entries concern which subject, written with the entry.
      CREATE TABLE audit_subjects (
        subject_token TEXT COLLATE "C" NOT NULL,
        seq           BIGINT NOT NULL,
        PRIMARY KEY (subject_token, seq)
      );
      CREATE INDEX audit_log_by_actor ON audit_log(actor, seq);
      CREATE INDEX audit_log_by_at ON audit_log(at);

      -- Subjects whose data key was destroyed: their accounts release nothing, whatever arrives later.
      CREATE TABLE erased_subjects (
        subject_token TEXT COLLATE "C" PRIMARY KEY,
        erased_at     TEXT COLLATE "C" NOT NULL,
        erased_by     TEXT COLLATE "C" NOT NULL
      );

      -- A finished file's spooled bytes removed (erasure or retention); the row and its ack stay.
      ALTER TABLE files ADD COLUMN spool_purged_at TEXT COLLATE "C";
      -- Personal data of an account removed by retention (vaults cleared); its tokens and history stay.
      ALTER TABLE accounts ADD COLUMN purged_at TEXT COLLATE "C";
    `,
  },
  {
    version: 7,
    name: 'staged subject keys by subject',
    sql: `
      -- Settling a file's subject keys deletes by (receipt, subject): with only the receipt indexed, each
      -- of the ~770 subjects met twice in a 1M-record file scanned all its staged keys (177 s of 460 s).
      CREATE INDEX staged_subject_keys_by_subject ON staged_subject_keys(receipt_id, subject_token);
    `,
  },
  {
    version: 8,
    name: 'audit subject tail',
    sql: `
      -- Kept aligned with SQLite's version 8. PostgreSQL's store indexes subjects as it appends and
      -- leaves this table empty.
      CREATE TABLE audit_subject_tail (
        seq           BIGINT NOT NULL,
        subject_token TEXT COLLATE "C" NOT NULL
      );
    `,
  },
  {
    version: 9,
    name: 'sftp source leases',
    sql: `
      -- Which replica polls each SFTP source: one at a time, so a remote file is never taken twice. The
      -- token is the fence: it grows with every change of holder, and delivery steps recorded under an
      -- older token are refused.
      CREATE TABLE source_leases (
        source   TEXT COLLATE "C" PRIMARY KEY,
        owner    TEXT COLLATE "C" NOT NULL,
        token    BIGINT NOT NULL,
        until_ms BIGINT NOT NULL
      );
      -- Replicas that poll SFTP sources, by heartbeat: each takes no more than its share of the sources.
      CREATE TABLE replicas (
        owner    TEXT COLLATE "C" PRIMARY KEY,
        until_ms BIGINT NOT NULL
      );
    `,
  },
  {
    version: 10,
    name: 'staged subject keys without the random index',
    sql: `
      -- Version 7's index took a random page for every staged key: each staging batch rewrote most of
      -- it into the WAL (1.1 s per 100k records; 43 s per 1M, once it outgrew the page cache). Settling
      -- now deletes a slice of subjects in one pass over the file's keys instead of one lookup each.
      DROP INDEX staged_subject_keys_by_subject;
    `,
  },
  {
    version: 11,
    name: 'officer sessions and rate limits',
    sql: `
      -- Officers' dashboard sessions, shared by every replica. Only a SHA-256 of the session id is kept:
      -- a reader of the database or of a backup cannot turn a row into a cookie.
      CREATE TABLE officer_sessions (
        id_sha256    TEXT COLLATE "C" PRIMARY KEY,
        officer      TEXT COLLATE "C" NOT NULL,
        csrf         TEXT COLLATE "C" NOT NULL,
        created_ms   BIGINT NOT NULL,
        last_seen_ms BIGINT NOT NULL
      );
      CREATE INDEX officer_sessions_by_created ON officer_sessions(created_ms);
      -- Security limits shared by every replica (a sliding log per key: verify attempts, reveals, officer
      -- sign-ins). Keys hold ids and tokens, never a personal value; n events taken at once are one row;
      -- rows are deleted once until_ms (at_ms + the window) has passed. Takers of one key serialise on an
      -- advisory lock, not on these rows: a key with no live row has nothing to lock.
      CREATE TABLE rate_events (
        id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        key      TEXT COLLATE "C" NOT NULL,
        at_ms    BIGINT NOT NULL,
        n        INTEGER NOT NULL,
        until_ms BIGINT NOT NULL
      );
      CREATE INDEX rate_events_by_key ON rate_events(key, at_ms);
      CREATE INDEX rate_events_by_until ON rate_events(until_ms);
    `,
  },
  {
    version: 12,
    name: 'record facts staged with the record',
    sql: `
      -- What the commit needs of a record, given by the pipeline at staging, so that the commit no longer
      -- parses every record's JSON (PostgreSQL, 100k records: subject events 4.2 s, accounts 3.9 s of
      -- a 10.5 s commit). subject_state: the restrictions and consents a record sets, as JSON; NULL for
      -- most records. Records staged before this version never reach a commit: a claim re-stages.
      ALTER TABLE records ADD COLUMN delinquency_date TEXT COLLATE "C",
        ADD COLUMN update_type TEXT COLLATE "C",
        ADD COLUMN subject_state TEXT;
    `,
  },
  {
    version: 13,
    name: 'subject accounts in subject order',
    sql: `
      -- SQLite's change (its commit wrote the index on accounts(subject_token) one random page per
      -- account). PostgreSQL keeps that index for now: its commit was not measured with the change.
      -- The version is recorded all the same, so that both stores' versions stay aligned.
      SELECT 1;
    `,
  },
  {
    version: 14,
    name: 'records checked against their file by the staging transaction',
    sql: `
      -- The foreign key on records.receipt_id checked every staged row on its own (a lookup and a row
      -- lock on the file): 1.7 of the 3.3 s of server CPU that COPYing 200,000 records took. Staging
      -- already holds the file's row FOR SHARE and checks its lease in the same transaction, and files
      -- are never deleted, so the check could not fail.
      ALTER TABLE records DROP CONSTRAINT IF EXISTS records_receipt_id_fkey;
    `,
  },
  {
    version: 15,
    name: 'subject accounts in subject order, on PostgreSQL too',
    sql: `
      -- SQLite's migration 13, here: the commit's upsert of a file's accounts wrote the index on
      -- accounts(subject_token) in random order. subject_accounts is filled in subject order instead.
      -- On a fresh schema, 1,000,000 placements: the upsert went from 13.1 to 6.6 s and filling
      -- subject_accounts took 5.0 s, so the commit gains little yet; what it avoids is the random
      -- writes, which SQLite showed grow with the table. A row whose account has since moved to another
      -- subject is stale and ignored: readers join it to accounts on both tokens.
      CREATE TABLE subject_accounts (
        subject_token TEXT COLLATE "C" NOT NULL,
        account_token TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (subject_token, account_token)
      );
      INSERT INTO subject_accounts (subject_token, account_token)
        SELECT subject_token, account_token FROM accounts WHERE subject_token IS NOT NULL ORDER BY subject_token, account_token;
      DROP INDEX accounts_by_subject;
    `,
  },
];

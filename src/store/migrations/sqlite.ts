/**
 * Numbered SQLite migrations. Append only: a shipped migration is never edited. A database whose
 * schema is newer than the last one here is refused (STORE_SCHEMA_TOO_NEW) rather than misread.
 */
export const sqliteMigrations: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'files, records, findings, subjects, audit',
    sql: `
      CREATE TABLE files (
        receipt_id     TEXT PRIMARY KEY,
        source         TEXT NOT NULL,
        kind           TEXT NOT NULL CHECK (kind IN ('placement','recall','update')),
        channel        TEXT NOT NULL,
        file_name      TEXT NOT NULL,
        sha256         TEXT NOT NULL,
        size_bytes     INTEGER NOT NULL,
        spool_path     TEXT NOT NULL,
        received_at    TEXT NOT NULL,
        state          TEXT NOT NULL CHECK (state IN ('received','processing','committed','rejected','duplicate')),
        duplicate_of   TEXT REFERENCES files(receipt_id),
        lease_owner    TEXT,
        lease_token    INTEGER NOT NULL DEFAULT 0,
        lease_until_ms INTEGER,
        attempts       INTEGER NOT NULL DEFAULT 0,
        commit_seq     INTEGER UNIQUE,
        finished_at    TEXT,
        file_error     TEXT,
        ack            TEXT
      );
      -- One live copy of the same bytes per source: the exactly-once key (source, sha256).
      CREATE UNIQUE INDEX files_live_bytes ON files(source, sha256) WHERE state NOT IN ('rejected','duplicate');
      CREATE INDEX files_unfinished ON files(state) WHERE state IN ('received','processing');

      -- Records of every file, visible to readers only once their file is committed. Staging appends in
      -- record order: no index on a random token here (each such insert rewrites a random page of WAL;
      -- 100 µs per row measured), the account index is built in sorted bulk at commit instead.
      CREATE TABLE records (
        id            INTEGER PRIMARY KEY,
        receipt_id    TEXT NOT NULL REFERENCES files(receipt_id),
        record_no     INTEGER NOT NULL,
        kind          TEXT NOT NULL,
        account_token TEXT NOT NULL,
        subject_token TEXT,
        data          TEXT NOT NULL,
        vault         BLOB,
        UNIQUE (receipt_id, record_no)
      );

      -- The committed state of each account, maintained by the commit transaction.
      CREATE TABLE accounts (
        account_token      TEXT PRIMARY KEY,
        subject_token      TEXT,
        status             TEXT NOT NULL CHECK (status IN ('placed','recalled')),
        delinquency_date   TEXT,
        placement_receipt  TEXT NOT NULL,
        placement_record   INTEGER NOT NULL,
        commit_seq         INTEGER NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE findings (
        receipt_id TEXT NOT NULL,
        record_no  INTEGER NOT NULL,
        seq        INTEGER NOT NULL,
        severity   TEXT NOT NULL CHECK (severity IN ('error','warning')),
        field      TEXT,
        code       TEXT NOT NULL,
        PRIMARY KEY (receipt_id, severity, record_no, seq)
      ) WITHOUT ROWID;

      CREATE TABLE subjects (
        subject_token TEXT PRIMARY KEY,
        wrapped_key   BLOB NOT NULL,
        created_at    TEXT NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE audit_log (
        seq       INTEGER PRIMARY KEY,
        at        TEXT NOT NULL,
        actor     TEXT NOT NULL,
        action    TEXT NOT NULL,
        target    TEXT NOT NULL,
        details   TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash      TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'sftp deliveries',
    sql: `
      -- One row per remote file the SFTP poller decided to take, written before the download, so that a
      -- crash at any later step resumes the same delivery instead of taking the file again.
      CREATE TABLE sftp_deliveries (
        id           INTEGER PRIMARY KEY,
        source       TEXT NOT NULL,
        remote_path  TEXT NOT NULL,
        kind         TEXT NOT NULL,
        size_bytes   INTEGER NOT NULL,
        mtime_ms     INTEGER NOT NULL,
        receipt_id   TEXT REFERENCES files(receipt_id),
        ack_written  INTEGER NOT NULL DEFAULT 0,
        finished_at  TEXT,
        created_at   TEXT NOT NULL
      );
      CREATE UNIQUE INDEX sftp_deliveries_open ON sftp_deliveries(source, remote_path, size_bytes, mtime_ms) WHERE finished_at IS NULL;
    `,
  },
  {
    version: 3,
    name: 'envelopes and API idempotency keys',
    sql: `
      -- How a received body is opened: an OpenPGP message (files) or a compact JWE (API record batches).
      ALTER TABLE files ADD COLUMN envelope TEXT NOT NULL DEFAULT 'pgp' CHECK (envelope IN ('pgp','jose'));

      -- An API caller's Idempotency-Key, bound to the SHA-256 of the body it first came with.
      CREATE TABLE idempotency_keys (
        caller      TEXT NOT NULL,
        key         TEXT NOT NULL,
        body_sha256 TEXT NOT NULL,
        receipt_id  TEXT NOT NULL REFERENCES files(receipt_id),
        created_at  TEXT NOT NULL,
        PRIMARY KEY (caller, key)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 4,
    name: 'subject keys staged with their file',
    sql: `
      -- Data keys of subjects first seen in a file, appended while the file is staged and inserted into
      -- subjects in token order by the commit: random-key inserts during staging rewrote a WAL page per
      -- new subject (about 36 µs each here, worse as the table grows).
      CREATE TABLE staged_subject_keys (
        id            INTEGER PRIMARY KEY,
        receipt_id    TEXT NOT NULL,
        subject_token TEXT NOT NULL,
        wrapped_key   BLOB NOT NULL
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
      ALTER TABLE accounts ADD COLUMN source TEXT;
      ALTER TABLE accounts ADD COLUMN recall_receipt TEXT;
      ALTER TABLE accounts ADD COLUMN recall_record INTEGER;
      UPDATE accounts SET source = (SELECT source FROM files WHERE files.receipt_id = accounts.placement_receipt);
      CREATE INDEX accounts_by_subject ON accounts(subject_token);

      -- Committed update records of each account, in commit order (records has no account index).
      CREATE TABLE account_updates (
        account_token TEXT NOT NULL,
        commit_seq    INTEGER NOT NULL,
        record_no     INTEGER NOT NULL,
        receipt_id    TEXT NOT NULL,
        PRIMARY KEY (account_token, commit_seq, record_no)
      ) WITHOUT ROWID;

      -- Every change of a subject's restrictions and consents, from files and from recipients. The id of
      -- a subject's latest event is its consent-state version: replaying events up to it rebuilds the
      -- state a release was decided under.
      CREATE TABLE subject_events (
        id            INTEGER PRIMARY KEY,
        subject_token TEXT NOT NULL,
        field         TEXT NOT NULL,
        value         TEXT NOT NULL,
        origin        TEXT NOT NULL,
        at            TEXT NOT NULL
      );
      CREATE INDEX subject_events_by_subject ON subject_events(subject_token, id);

      -- The ordered stream recipients read; seq is the cursor. One event per affected account.
      CREATE TABLE feed_events (
        seq           INTEGER PRIMARY KEY,
        type          TEXT NOT NULL CHECK (type IN ('account.placed','account.updated','account.recalled','subject.restricted','subject.consent_changed')),
        source        TEXT NOT NULL,
        account_token TEXT NOT NULL,
        subject_token TEXT,
        receipt_id    TEXT,
        record_no     INTEGER,
        details       TEXT,
        at            TEXT NOT NULL
      );
      CREATE INDEX feed_events_recalls ON feed_events(seq) WHERE type = 'account.recalled';

      -- How far each recipient has acknowledged its feed (recalls before it are acknowledged).
      CREATE TABLE recipient_positions (
        recipient  TEXT PRIMARY KEY,
        acked_seq  INTEGER NOT NULL,
        updated_at TEXT NOT NULL
      ) WITHOUT ROWID;

      -- Every release policy (grants and rules) in force at some time, by version, for replay.
      CREATE TABLE policies (
        version    TEXT PRIMARY KEY,
        body       TEXT NOT NULL,
        created_at TEXT NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 6,
    name: 'officers: audit checkpoints, audit index by subject, erasure, retention',
    sql: `
      -- Signed checkpoints of the audit chain head (JWS ES256 over seq, hash, time).
      CREATE TABLE audit_checkpoints (
        seq  INTEGER PRIMARY KEY,
        hash TEXT NOT NULL,
        at   TEXT NOT NULL,
        jws  TEXT NOT NULL
      );
      -- Which audit entries concern which subject, written with the entry: a subject report and the
      -- officer's filter find them without scanning every entry's details.
      CREATE TABLE audit_subjects (
        subject_token TEXT NOT NULL,
        seq           INTEGER NOT NULL,
        PRIMARY KEY (subject_token, seq)
      ) WITHOUT ROWID;
      CREATE INDEX audit_log_by_actor ON audit_log(actor, seq);
      CREATE INDEX audit_log_by_at ON audit_log(at);

      -- Subjects whose data key was destroyed: their accounts release nothing, whatever arrives later.
      CREATE TABLE erased_subjects (
        subject_token TEXT PRIMARY KEY,
        erased_at     TEXT NOT NULL,
        erased_by     TEXT NOT NULL
      ) WITHOUT ROWID;

      -- A finished file's spooled bytes removed (erasure or retention); the row and its ack stay.
      ALTER TABLE files ADD COLUMN spool_purged_at TEXT;
      -- Personal data of an account removed by retention (vaults cleared); its tokens and history stay.
      ALTER TABLE accounts ADD COLUMN purged_at TEXT;
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
      -- (entry, subject) pairs as they are appended, in append order; moved into audit_subjects sorted,
      -- a few thousand at a time, so the index is not rewritten at a random page per entry.
      CREATE TABLE audit_subject_tail (
        seq           INTEGER NOT NULL,
        subject_token TEXT NOT NULL
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
        source   TEXT PRIMARY KEY,
        owner    TEXT NOT NULL,
        token    INTEGER NOT NULL,
        until_ms INTEGER NOT NULL
      ) WITHOUT ROWID;
      -- Replicas that poll SFTP sources, by heartbeat: each takes no more than its share of the sources.
      CREATE TABLE replicas (
        owner    TEXT PRIMARY KEY,
        until_ms INTEGER NOT NULL
      ) WITHOUT ROWID;
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
        id_sha256    TEXT PRIMARY KEY,
        officer      TEXT NOT NULL,
        csrf         TEXT NOT NULL,
        created_ms   INTEGER NOT NULL,
        last_seen_ms INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX officer_sessions_by_created ON officer_sessions(created_ms);
      -- Security limits shared by every replica (a sliding log per key: verify attempts, reveals, officer
      -- sign-ins). Keys hold ids and tokens, never a personal value; n events taken at once are one row;
      -- rows are deleted once until_ms (at_ms + the window) has passed.
      CREATE TABLE rate_events (
        id       INTEGER PRIMARY KEY,
        key      TEXT NOT NULL,
        at_ms    INTEGER NOT NULL,
        n        INTEGER NOT NULL,
        until_ms INTEGER NOT NULL
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
      ALTER TABLE records ADD COLUMN delinquency_date TEXT;
      ALTER TABLE records ADD COLUMN update_type TEXT;
      ALTER TABLE records ADD COLUMN subject_state TEXT;
    `,
  },
  {
    version: 13,
    name: 'subject accounts in subject order',
    sql: `
      -- Which accounts each subject has, in place of an index on accounts(subject_token): the commit
      -- inserts a file's accounts in account order, which wrote that index's pages in random order, one
      -- page per account once the index outgrew the page cache (1,000,000 placements: 22-27 s of
      -- commit with it, 13 s without). This table is filled in subject order instead. A row whose
      -- account has since moved to another subject is stale and ignored: readers join it to accounts on
      -- both tokens.
      CREATE TABLE subject_accounts (
        subject_token TEXT NOT NULL,
        account_token TEXT NOT NULL,
        PRIMARY KEY (subject_token, account_token)
      ) WITHOUT ROWID;
      INSERT INTO subject_accounts (subject_token, account_token)
        SELECT subject_token, account_token FROM accounts WHERE subject_token IS NOT NULL ORDER BY subject_token, account_token;
      DROP INDEX accounts_by_subject;
    `,
  },
  {
    version: 14,
    name: 'records checked against their file by the staging transaction',
    sql: `
      -- PostgreSQL's change (its per-row foreign key check on records.receipt_id cost half the server's
      -- staging time). SQLite's check is a lookup in the same process and keeps its key; the version
      -- is recorded all the same, so that both stores' versions stay aligned.
      SELECT 1;
    `,
  },
  {
    version: 15,
    name: 'subject accounts in subject order, on PostgreSQL too',
    sql: `
      -- PostgreSQL's catching up with migration 13; nothing to do here. Recorded so that both stores'
      -- versions stay aligned.
      SELECT 1;
    `,
  },
];
